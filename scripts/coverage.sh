#!/usr/bin/env bash
# Line and branch coverage of the test suites: a gcc --coverage build
# (CMake preset coverage, build/coverage), every ctest suite on SQLite and
# on a throwaway PostgreSQL (scripts/with-postgres.sh), then gcovr:
#
#   build/coverage/html/index.html    the annotated sources
#   build/coverage/summary.txt        the figures docs/testing.md quotes
#
#   scripts/coverage.sh            both backends
#   scripts/coverage.sh --sqlite   SQLite only (no PostgreSQL server needed)
#
# Not part of scripts/test.sh: it rebuilds everything instrumented and runs
# the suites once more, which CI's time is better spent on sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=build/coverage

"$root/scripts/deps.sh"
# gcovr only here (not in deps.sh: the test command does not need it).
if ! dpkg-query -W -f='${Status}' gcovr 2>/dev/null | grep -q "install ok installed"; then
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	echo "coverage: installing gcovr"
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		gcovr >/dev/null
fi

echo "== coverage build (gcc --coverage)"
cmake --preset coverage >/dev/null
cmake --build --preset coverage -j"$(nproc)" >/dev/null
find "$out" -name '*.gcda' -delete

echo "== tests (coverage)"
status=0
if [ "${1:-}" = --sqlite ]; then
	ctest --preset coverage -j"$(nproc)" -LE postgres || status=$?
else
	"$root/scripts/with-postgres.sh" ctest --preset coverage -j"$(nproc)" || status=$?
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
	gcovr --root . --add-tracefile "$out/coverage.json" "$@" --print-summary --txt /dev/null |
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
exit $status
