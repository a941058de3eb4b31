#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, starts a
# throwaway PostgreSQL (scripts/with-postgres.sh), then builds and runs every
# test on SQLite and on PostgreSQL, plainly and under AddressSanitizer +
# UndefinedBehaviorSanitizer, the unit suites once more under valgrind, the
# concurrency suites under ThreadSanitizer, the static analysers (no
# findings allowed), the coverage build with its floor, and each fuzzer for
# 20 seconds. docs/testing.md says what each part proves.
#
# scripts/test.sh --quick is the developer's loop: the release build, then
# the unit, storage, e2e and HTTP suites on SQLite only (no PostgreSQL, no
# sanitizers, no crash test), in a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

quick=0
case "${1:-}" in
	--quick) quick=1 ;;
	"") ;;
	*) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
esac

"$root/scripts/deps.sh"
jobs=$(nproc)

if [ $quick = 1 ]; then
	echo "== release build"
	cmake --preset release >/dev/null
	cmake --build --preset release -j"$jobs"
	echo "== quick: the SQLite suites (scripts/test.sh without --quick runs everything)"
	ctest --preset release -j"$jobs" -L sqlite -LE crash
	exit 0
fi

echo "== release build"
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
echo "== tests (release, SQLite and PostgreSQL)"
"$root/scripts/with-postgres.sh" ctest --preset release -j"$jobs"

echo "== static analysis (clang-tidy, cppcheck: no findings)"
"$root/scripts/lint.sh"

echo "== sanitize build (ASan + UBSan)"
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize -j"$jobs"
echo "== tests (sanitize, SQLite and PostgreSQL)"
"$root/scripts/with-postgres.sh" ctest --preset sanitize -j"$jobs"

echo "== unit tests under valgrind memcheck"
status=0
# SQLite only: valgrind's slowdown is in the library, not in the backend.
for t in build/release/tests/unit_*; do
	valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
		"$t" >/dev/null 2>"build/release/$(basename "$t").valgrind" || {
		echo "valgrind: $(basename "$t") failed:"; cat "build/release/$(basename "$t").valgrind"
		status=1
	}
done
[ $status = 0 ] || exit $status
echo "valgrind: clean"

echo "== ThreadSanitizer (the concurrency suites, SQLite and PostgreSQL)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j"$jobs"
"$root/scripts/with-postgres.sh" ctest --preset tsan -j"$jobs"

echo "== coverage (gcc --coverage, SQLite and PostgreSQL, gcovr; fails under the floor)"
"$root/scripts/coverage.sh"

"$root/scripts/fuzz.sh" 20   # each libFuzzer target for 20 s (docs/testing.md)
echo "== all tests passed"
