#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, starts a
# throwaway PostgreSQL (scripts/with-postgres.sh), then builds and runs every
# test on SQLite and on PostgreSQL: the release build every suite on SQLite
# and the HTTP, crash, install and bindings suites on PostgreSQL; the build
# under AddressSanitizer + UndefinedBehaviorSanitizer every suite on both
# backends but the crash and install tests and the HTTP suites' PostgreSQL
# twins (that run measured for coverage, with its floor), the
# unit suites once more under valgrind, the concurrency suites under
# ThreadSanitizer, the static analysers (no findings allowed), and each
# fuzzer for 10 seconds. docs/testing.md says what each part proves.
# CPU-bound work with no clock of its own (the later stages' builds) runs
# beside a ctest run at a lower priority, valgrind and the fuzzers one per
# core ("Where the time goes" in docs/testing.md).
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

# Beside a ctest run, whose suites wait on fsync, sockets and child servers
# more than they compute, CPU-bound work runs at a lower priority (nice 10):
# the builds of the later stages beside the sanitize suites. beside <name> <shell
# command> starts one in a process group of its own (ended whole if this
# script stops early), its output into build/<name>.log; beside_wait <name>
# waits for it, and when it failed prints that log and returns its status.
declare -A beside_pids=()
beside() {
	setsid nice -n 10 bash -c "$2" >"build/$1.log" 2>&1 &
	beside_pids[$1]=$!
}
beside_wait() {
	local rc=0
	wait "${beside_pids[$1]}" || rc=$?
	unset "beside_pids[$1]"
	if [ $rc != 0 ]; then
		echo "== $1 (beside the tests) failed ($rc):"; cat "build/$1.log"
	fi
	return $rc
}
beside_stop() {
	local p
	for p in "${beside_pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done
}
trap beside_stop EXIT
# The builds beside are the later stages' own: each stage still runs its
# build, a no-op when the one beside succeeded.
build_cmd() { # preset...
	local p cmd=true
	for p; do
		cmd+=" && cmake --preset $p >/dev/null && cmake --build --preset $p -j$jobs"
	done
	echo "$cmd"
}

# The release build (gcc -O2, what a user links) runs every suite on SQLite
# and those that only it runs on PostgreSQL (the HTTP, crash, install and
# bindings suites); the other PostgreSQL twins (label pg_sanitized) run once,
# in the sanitize stage below: a second run of them here cost about 200 s of
# the 30-minute budget and proved nothing that one did not.
stage "tests (release: every suite on SQLite, the HTTP, crash, install and bindings suites on PostgreSQL)"
"$root/scripts/with-postgres.sh" ctest --preset release -j"$test_jobs" -LE pg_sanitized

# The analysers have a stage of their own: beside the release suites they
# took the two cores from them (session 9's gate: 617 s for both together,
# against about 350 s + 200 s one after the other).
stage "static analysis (clang-tidy, cppcheck: no findings)"
"$root/scripts/lint.sh"

stage "sanitize build (clang, ASan + UBSan, source-based coverage)"
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize -j"$jobs"
# The one run under the sanitizers is also the coverage run: each process
# leaves its counters in build/sanitize/profiles (scripts/coverage.sh).
stage "tests (sanitize, SQLite and PostgreSQL, measured for coverage), the tsan and fuzz builds beside them"
rm -rf build/sanitize/profiles
beside build-tsan-fuzz "$(build_cmd tsan fuzz)"
"$root/scripts/with-postgres.sh" ctest --preset sanitize -j"$test_jobs"
beside_wait build-tsan-fuzz

stage "coverage of that run (llvm-cov; fails under the floor)"
"$root/scripts/coverage.sh"

# valgrind runs one process on one core: as many suites at once as cores,
# each one's report in its own file, printed when it failed.
stage "unit tests under valgrind memcheck ($jobs at a time)"
status=0
rm -f build/release/unit_*.valgrind build/release/unit_*.valgrind-rc
# SQLite only: valgrind's slowdown is in the library, not in the backend.
printf '%s\n' build/release/tests/unit_* |
	xargs -P"$jobs" -I{} sh -c 'n=$(basename "$1"); rc=0
		valgrind --quiet --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect,possible \
			"$1" >/dev/null 2>"build/release/$n.valgrind" || rc=$?
		echo $rc >"build/release/$n.valgrind-rc"' _ {}
for t in build/release/tests/unit_*; do
	n=$(basename "$t")
	rc=$(cat "build/release/$n.valgrind-rc" 2>/dev/null || echo "no result")
	if [ "$rc" != 0 ]; then
		echo "valgrind: $n failed ($rc):"; cat "build/release/$n.valgrind"
		status=1
	fi
done
[ $status = 0 ] || exit $status
echo "valgrind: clean"

stage "ThreadSanitizer (the concurrency suites, SQLite and PostgreSQL)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j"$jobs"
"$root/scripts/with-postgres.sh" ctest --preset tsan -j"$jobs"

stage "fuzz"
"$root/scripts/fuzz.sh" 10   # each libFuzzer target for 10 s; long runs: docs/testing.md
stage "all tests passed"
