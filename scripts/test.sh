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
# Suites wait on fsync, sockets and child servers more than they compute:
# twice as many run at once as there are cores (TEST_JOBS overrides).
test_jobs=${TEST_JOBS:-$((jobs * 2))}
export TEST_JOBS=$test_jobs   # scripts/coverage.sh reads it too

# Each stage's start, in seconds since this script began, so that the time
# budget (under 30 minutes, docs/testing.md) is visible in every CI log.
started=$SECONDS
stage() { echo "== $* [at $((SECONDS - started)) s]"; }

if [ $quick = 1 ]; then
	stage release build
	cmake --preset release >/dev/null
	cmake --build --preset release -j"$jobs"
	stage "quick: the SQLite suites (scripts/test.sh without --quick runs everything)"
	ctest --preset release -j"$test_jobs" -L sqlite -LE crash
	exit 0
fi

stage release build
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
stage "tests (release, SQLite and PostgreSQL)"
"$root/scripts/with-postgres.sh" ctest --preset release -j"$test_jobs"

stage "static analysis (clang-tidy, cppcheck: no findings)"
"$root/scripts/lint.sh"

stage "sanitize build (ASan + UBSan)"
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize -j"$jobs"
stage "tests (sanitize, SQLite and PostgreSQL)"
"$root/scripts/with-postgres.sh" ctest --preset sanitize -j"$test_jobs"

stage "unit tests under valgrind memcheck"
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

stage "ThreadSanitizer (the concurrency suites, SQLite and PostgreSQL)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j"$jobs"
"$root/scripts/with-postgres.sh" ctest --preset tsan -j"$jobs"

stage "coverage (gcc --coverage, SQLite and PostgreSQL, gcovr; fails under the floor)"
"$root/scripts/coverage.sh"

stage "fuzz"
"$root/scripts/fuzz.sh" 20   # each libFuzzer target for 20 s (docs/testing.md)
stage "all tests passed"
