#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, then builds
# and runs every test twice, plainly and under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the unit suite once more under valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

"$root/scripts/deps.sh"
jobs=$(nproc)

echo "== release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$jobs"
echo "== tests (release)"
ctest --test-dir build/release --output-on-failure -j"$jobs"

echo "== sanitize build (ASan + UBSan)"
cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DBILLING_SANITIZE=ON \
	-DBILLING_BUILD_BENCH=OFF >/dev/null
cmake --build build/sanitize -j"$jobs"
echo "== tests (sanitize)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build/sanitize --output-on-failure -j"$jobs" -LE install

echo "== unit tests under valgrind memcheck"
status=0
for t in build/release/tests/unit_*; do
	valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$t" >/dev/null 2>"build/release/$(basename "$t").valgrind" || {
		echo "valgrind: $(basename "$t") failed:"; cat "build/release/$(basename "$t").valgrind"
		status=1
	}
done
[ $status = 0 ] || exit $status
echo "valgrind: clean"
echo "== all tests passed"
