#!/usr/bin/env bash
# Line and branch coverage of the test suites: a gcc --coverage build
# (CMake preset coverage, build/coverage), every ctest suite on SQLite and
# on a throwaway PostgreSQL (scripts/with-postgres.sh), then gcovr:
#
#   build/coverage/html/index.html    the annotated sources
#   build/coverage/summary.txt        the figures docs/testing.md quotes
#
#   scripts/coverage.sh            both backends (what scripts/test.sh runs)
#   scripts/coverage.sh --sqlite   SQLite only (no PostgreSQL server needed)
#
# It fails when src/core falls below the floor in docs/testing.md
# ("Coverage"): MIN_LINES and MIN_BRANCHES below, raised as tests are added,
# never lowered to let a change through.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=build/coverage
MIN_LINES=94
MIN_BRANCHES=79

"$root/scripts/deps.sh"   # gcovr among the rest

echo "== coverage build (gcc --coverage)"
cmake --preset coverage >/dev/null
cmake --build --preset coverage -j"$(nproc)" >/dev/null
find "$out" -name '*.gcda' -delete

echo "== tests (coverage)"
status=0
if [ "${1:-}" = --sqlite ]; then
	# Not the preset: its label filter would replace this one.
	ctest --test-dir "$out" --output-on-failure -j"${TEST_JOBS:-$(nproc)}" \
		-LE 'postgres|install|bindings|abi|headers|crash' || status=$?
else
	"$root/scripts/with-postgres.sh" ctest --preset coverage -j"${TEST_JOBS:-$(nproc)}" || status=$?
fi
# A failing suite still leaves its counts: report them, but fail.
[ $status = 0 ] || echo "coverage: some tests failed; the figures below are incomplete" >&2

echo "== gcovr"
rm -rf "$out/html" && mkdir -p "$out/html"
# One pass over the .gcda files into a tracefile; the reports read it.
gcovr --root . --object-directory "$out" --filter 'src/' --filter 'examples/billing-server/' \
	--exclude-unreachable-branches --json "$out/coverage.json" "$out"
report() { # title, filter...
	local title=$1; shift
	printf '%-28s' "$title"
	# The text report goes to a file of ours: gcovr replaces the file it
	# is given, and given /dev/null it replaced the device.
	gcovr --root . --add-tracefile "$out/coverage.json" "$@" --print-summary \
		--txt "$out/report.txt" |
		awk '/^(lines|branches):/ { gsub(/[()]/, ""); v[$1] = sprintf("%6s (%s/%s)", $2, $3, $6) }
			END { printf "lines %-20s  branches %s\n", v["lines:"], v["branches:"] }'
}
{
	report "src/core" --filter 'src/core/'
	report "src (the library)" --filter 'src/'
	report "examples/billing-server" --filter 'examples/billing-server/'
	report "all of the above" --filter 'src/' --filter 'examples/billing-server/'
} | tee "$out/summary.txt"
gcovr --root . --add-tracefile "$out/coverage.json" --filter 'src/' \
	--filter 'examples/billing-server/' --html-details "$out/html/index.html"
echo "coverage: HTML in $out/html/index.html"
if ! gcovr --root . --add-tracefile "$out/coverage.json" --filter 'src/core/' \
	--txt "$out/report.txt" --fail-under-line "$MIN_LINES" \
	--fail-under-branch "$MIN_BRANCHES" >/dev/null; then
	echo "coverage: src/core is under the floor of $MIN_LINES % lines," \
		"$MIN_BRANCHES % branches (docs/testing.md)" >&2
	status=1
fi
exit $status
