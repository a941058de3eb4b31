#!/usr/bin/env python3
"""The Dockerfile's runtime stage installs what the built server loads.

The runtime image is plain debian:12 plus the packages its `apt-get install`
names; a shared library the server or libbilling needs (readelf's NEEDED
entries, followed through the libraries this build resolves them to) whose
Debian package is neither named there nor a dependency of one that is makes
`docker run` fail at start ("error while loading shared libraries"). With a
PDF build the fonts the documents are drawn with must be there too. No
Docker here: the check reads the Dockerfile and this machine's dpkg database
(every package involved is installed: the build needs them).

    dockerfile_runtime.py <Dockerfile> <billing-server> <libbilling.so> [pdf]
"""
import os
import re
import subprocess
import sys


def runtime_packages(dockerfile):
    """The packages the last FROM stage's apt-get install names."""
    text = open(dockerfile).read().replace("\\\n", " ")
    stage = text.split("\nFROM ")[-1]
    m = re.search(r"apt-get install ([^&]*)", stage)
    if not m:
        sys.exit("no apt-get install in the runtime stage of " + dockerfile)
    return {w for w in m.group(1).split() if not w.startswith("-")}


def needed(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def resolved(binary):
    """soname -> path as the dynamic linker finds it for this build."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m:
            paths[m.group(1)] = m.group(2)
    return paths


def owners(paths):
    """The Debian package of each library path, in one dpkg -S (merged /usr:
    a file is listed under /lib or /usr/lib, so both are asked)."""
    names = {}
    for path in paths:
        real = os.path.realpath(path)
        for p in {path, real, real.replace("/usr/lib/", "/lib/", 1),
                  path.replace("/lib/", "/usr/lib/", 1)}:
            names[p] = path
    r = subprocess.run(["dpkg", "-S"] + sorted(names), capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():
        pkg, _, file = line.partition(": ")
        if file in names:
            found[names[file]] = pkg.split(":")[0]
    return found


def closure(packages):
    """The packages plus everything they depend on, by dpkg's Depends and
    Pre-Depends of the installed packages (alternatives: any), read once."""
    r = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Depends}, ${Pre-Depends}\n"],
                       capture_output=True, text=True, check=True)
    deps = {}
    for line in r.stdout.splitlines():
        pkg, _, rest = line.partition("\t")
        names = [alt.strip().split(" ")[0].split(":")[0]
                 for dep in rest.split(",") for alt in dep.split("|")]
        deps.setdefault(pkg, set()).update(n for n in names if n)
    seen, todo = set(), list(packages)
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo.extend(deps.get(p, ()))
    return seen


def essential():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Essential} ${Priority}\n"],
                       capture_output=True, text=True, check=True)
    return {l.split()[0] for l in r.stdout.splitlines()
            if len(l.split()) >= 3 and (l.split()[1] == "yes" or l.split()[2] == "required")}


def main():
    dockerfile, server, lib = sys.argv[1:4]
    pdf = len(sys.argv) > 4 and sys.argv[4] == "pdf"
    listed = runtime_packages(dockerfile)
    have = closure(listed) | essential()
    missing = []
    for binary in (server, lib):
        where = resolved(binary)
        wanted = [n for n in needed(binary) if not n.startswith("libbilling")  # in the image
                  and not n.startswith("ld-linux")]   # the dynamic loader: libc6, everywhere
        pkgs = owners([where[n] for n in wanted if n in where])
        for soname in wanted:
            pkg = pkgs.get(where.get(soname))
            if pkg is None:
                missing.append(f"{os.path.basename(binary)}: {soname} (no package found)")
            elif pkg not in have:
                missing.append(f"{os.path.basename(binary)}: {soname} from {pkg}")
    if pdf:
        for font in ("fonts-noto-core", "fonts-noto-cjk"):
            if font not in have:
                missing.append(f"PDF documents: fonts from {font}")
    for m in missing:
        print("not in the runtime image:", m)
    if missing:
        sys.exit(1)
    print(f"runtime stage: {len(listed)} packages named, every library and font the "
          f"server loads is among them or their dependencies")


main()
