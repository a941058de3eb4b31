#!/usr/bin/env bash
# Line and branch coverage of the test suites, from the sanitize preset's
# own run: that build (clang, ASan + UBSan) is also instrumented for
# clang's source-based coverage (BILLING_COVERAGE, CMakeLists.txt), and every
# process it runs leaves its counters in build/sanitize/profiles. So the
# suites run once under the sanitizers and that one run is measured.
#
#   scripts/coverage.sh           the report of the run that is there
#                                 (scripts/test.sh runs it after
#                                 `ctest --preset sanitize`)
#   scripts/coverage.sh --run     builds the sanitize preset, clears the
#                                 profiles, runs its suites on SQLite and a
#                                 throwaway PostgreSQL, then reports
#   scripts/coverage.sh --sqlite  the same, SQLite only (no server needed)
#
# It writes
#   build/sanitize/coverage/index.html   the annotated sources
#   build/sanitize/coverage/summary.txt  the figures docs/testing.md quotes
# and fails when src/core falls below the floor in docs/testing.md
# ("Coverage"): MIN_LINES and MIN_BRANCHES below, raised as tests are added,
# never lowered to let a change through. The figures are llvm-cov's: a
# branch is each outcome of each condition (a && b is four), counted once
# per source location whatever the binaries that contain it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=build/sanitize
out=$build/coverage
MIN_LINES=91
MIN_BRANCHES=79
profdata=llvm-profdata-14
cov=llvm-cov-14

"$root/scripts/deps.sh"   # llvm-14 (llvm-profdata, llvm-cov) among the rest

case "${1:-}" in
	--run|--sqlite)
		cmake --preset sanitize >/dev/null
		cmake --build --preset sanitize -j"$(nproc)" >/dev/null
		rm -rf "$build/profiles"
		status=0
		if [ "$1" = --sqlite ]; then
			# Not the preset: its label filter would replace this one.
			ctest --test-dir "$build" --output-on-failure -j"${TEST_JOBS:-$(nproc)}" \
				-LE 'postgres|install|crash' || status=$?
		else
			"$root/scripts/with-postgres.sh" ctest --preset sanitize \
				-j"${TEST_JOBS:-$(nproc)}" || status=$?
		fi
		# A failing suite still leaves its counts: report them, but fail.
		[ $status = 0 ] || echo "coverage: some tests failed; the figures below are incomplete" >&2
		"$0" || status=$?
		exit $status ;;
	"") ;;
	*) echo "usage: scripts/coverage.sh [--run | --sqlite]" >&2; exit 2 ;;
esac

shopt -s nullglob
raw=("$build"/profiles/*.profraw)
if [ ${#raw[@]} = 0 ]; then
	echo "coverage: no profiles in $build/profiles: run the sanitize suites first" \
		"(scripts/coverage.sh --run)" >&2
	exit 1
fi
rm -rf "$out" && mkdir -p "$out"
"$profdata" merge -sparse -o "$out/all.profdata" "${raw[@]}"

# The binaries the counters belong to: the library, the server, every test
# and example program of the tree (ELF files; CMake's own are left out).
mapfile -t bins < <(find "$build" -path "$build/CMakeFiles" -prune -o \
	-path '*/CMakeFiles/*' -prune -o -type f \( -perm -u+x -o -name '*.so*' \) -print |
	while read -r f; do
		[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && echo "$f"
	done | sort)
objects=("${bins[0]}")
for b in "${bins[@]:1}"; do objects+=(-object "$b"); done

# One export of the per-file counts; the scopes are sums of files.
"$cov" export -summary-only -instr-profile "$out/all.profdata" "${objects[@]}" \
	"$root/src" "$root/examples/billing-server" >"$out/files.json"
python3 - "$out/files.json" "$root/" <<'PY' | tee "$out/summary.txt"
import json, sys
files = json.load(open(sys.argv[1]))["data"][0]["files"]
root = sys.argv[2]
def figures(title, *dirs):
    n = {k: [0, 0] for k in ("lines", "branches")}
    for f in files:
        if f["filename"].startswith(tuple(root + d for d in dirs)):
            for k in n:
                n[k][0] += f["summary"][k]["covered"]
                n[k][1] += f["summary"][k]["count"]
    pct = lambda k: "%6.2f (%d/%d)" % (100.0 * n[k][0] / max(n[k][1], 1), n[k][0], n[k][1])
    print("%-28slines %-20s  branches %s" % (title, pct("lines"), pct("branches")))
figures("src/core", "src/core/")
figures("src (the library)", "src/")
figures("examples/billing-server", "examples/billing-server/")
figures("all of the above", "src/", "examples/billing-server/")
PY
"$cov" show -format=html -show-branches=count -output-dir "$out" \
	-instr-profile "$out/all.profdata" "${objects[@]}" "$root/src" \
	"$root/examples/billing-server" >/dev/null
echo "coverage: HTML in $out/index.html"

read -r lines branches < <(awk '/^src\/core / { print $3, $6 }' "$out/summary.txt")
if awk -v l="$lines" -v b="$branches" -v ml="$MIN_LINES" -v mb="$MIN_BRANCHES" \
	'BEGIN { exit !(l < ml || b < mb) }'; then
	echo "coverage: src/core is under the floor of $MIN_LINES % lines," \
		"$MIN_BRANCHES % branches (docs/testing.md)" >&2
	exit 1
fi
