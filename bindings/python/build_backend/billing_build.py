"""A PEP 517 build backend in the standard library only.

Why not setuptools: these machines have no package index, and an offline
`pip install` of a setuptools project needs setuptools and, before
setuptools 70.1, the `wheel` package, in the build environment. pip's
isolated build environment cannot download them, and a Python without
`wheel` (this machine's default one) cannot build with
--no-build-isolation either. This backend needs nothing (requires = []), so
`pip install bindings/python` works offline, isolated or not.

What it builds: a wheel of the `billing` package (every .py file, and a
libbilling.so* placed next to them, if any: then the wheel is tagged for
this platform), an sdist, and an editable wheel (a .pth file).
"""
import base64
import hashlib
import io
import os
import re
import sysconfig
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "billing"


def _project():
    """name, version, description and requires-python from pyproject.toml."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        text = f.read().decode("utf-8")
    try:
        import tomllib  # Python 3.11+
        return tomllib.loads(text)["project"]
    except ImportError:  # only `key = "string"` lines of [project] are used
        section = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S).group(1)
        return dict(re.findall(r'^([A-Za-z-]+)\s*=\s*"([^"]*)"\s*$', section, re.M))


def _files():
    """(path in the wheel, path on disk) of the package."""
    out = []
    pkg = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py") or name.startswith("libbilling.so"):
            out.append(("%s/%s" % (PACKAGE, name), os.path.join(pkg, name)))
    return out


def _tag(files):
    if any(arc.split("/")[-1].startswith("libbilling.so") for arc, _ in files):
        return "py3-none-" + re.sub(r"[-.]", "_", sysconfig.get_platform())
    return "py3-none-any"


def _metadata(p):
    lines = ["Metadata-Version: 2.1", "Name: %s" % p["name"], "Version: %s" % p["version"],
             "Summary: %s" % p.get("description", "")]
    if p.get("requires-python"):
        lines.append("Requires-Python: %s" % p["requires-python"])
    return ("\n".join(lines) + "\n").encode()


def _dist_info(p):
    return "%s-%s.dist-info" % (p["name"].replace("-", "_"), p["version"])


def _write_wheel(directory, entries, tag):
    """entries: [(path in the wheel, bytes)]; adds WHEEL and RECORD."""
    p = _project()
    info = _dist_info(p)
    entries = list(entries) + [
        ("%s/METADATA" % info, _metadata(p)),
        ("%s/WHEEL" % info, ("Wheel-Version: 1.0\nGenerator: billing_build\n"
                             "Root-Is-Purelib: %s\nTag: %s\n"
                             % ("true" if tag.endswith("any") else "false", tag)).encode()),
        ("%s/top_level.txt" % info, (PACKAGE + "\n").encode()),
    ]
    record = []
    for arc, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (arc, digest, len(data)))
    record.append("%s/RECORD,," % info)
    entries.append(("%s/RECORD" % info, ("\n".join(record) + "\n").encode()))
    name = "%s-%s-%s.whl" % (p["name"].replace("-", "_"), p["version"], tag)
    with zipfile.ZipFile(os.path.join(directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in entries:
            z.writestr(zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return name


def _read(path):
    with open(path, "rb") as f:
        return f.read()


# ------------------------------------------------------------ PEP 517 hooks

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    p = _project()
    info = _dist_info(p)
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "wb") as f:
        f.write(_metadata(p))
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = _files()
    return _write_wheel(wheel_directory, [(arc, _read(path)) for arc, path in files],
                        _tag(files))


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a .pth file that puts the source directory on sys.path."""
    return _write_wheel(wheel_directory, [("libbilling_editable.pth", (ROOT + "\n").encode())],
                        "py3-none-any")


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    base = "%s-%s" % (p["name"].replace("-", "_"), p["version"])
    name = base + ".tar.gz"
    members = [("pyproject.toml", os.path.join(ROOT, "pyproject.toml")),
               ("build_backend/billing_build.py", os.path.abspath(__file__))]
    members += [(arc, path) for arc, path in _files() if arc.endswith(".py")]
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        pkg_info = _metadata(p)
        ti = tarfile.TarInfo("%s/PKG-INFO" % base)
        ti.size = len(pkg_info)
        tar.addfile(ti, io.BytesIO(pkg_info))
        for arc, path in members:
            tar.add(path, arcname="%s/%s" % (base, arc))
    return name
