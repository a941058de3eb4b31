#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset fuzz: clang, ASan + UBSan, into
# build/fuzz), replays every crash found so far (fuzz/regressions/<target>/),
# then fuzzes each target for N seconds (default 20) from its committed seed
# corpus (fuzz/corpus/<target>/). Fails when a regression input or the run
# crashes, leaks, times out or breaks a target's property.
#
#   scripts/fuzz.sh            20 s per target (scripts/test.sh runs 10 s)
#   scripts/fuzz.sh 600        the long run (cmake --build build/fuzz --target fuzz-long)
#   scripts/fuzz.sh 60 fuzz_jwt  one target
#
# Targets run side by side, FUZZ_JOBS at once (default: as many as cores;
# each libFuzzer process uses one), each for the full N seconds.
#
# New inputs go to build/fuzz/corpus/<target>/ (kept between runs, never
# committed by this script); a crash leaves its input in
# build/fuzz/artifacts/<target>/ and the log in build/fuzz/logs/<target>.log.
# A crash fixed becomes a file in fuzz/regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-20}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_call_json fuzz_cursor fuzz_stripe_webhook fuzz_webhook_sign fuzz_jwt)
case $seconds in ''|*[!0-9]*) echo "fuzz: seconds must be a number, got $seconds" >&2; exit 2;; esac

"$root/scripts/deps.sh"
echo "== fuzz build (clang, libFuzzer + ASan + UBSan)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" >/dev/null

out=build/fuzz
# fuzz_one <target>: its regressions, then N seconds of fuzzing; a line of
# result (and the failure's excerpt) into $out/logs/<target>.summary.
fuzz_one() {
	local t=$1 bin=$out/fuzz/$1 log=$out/logs/$1.log
	mkdir -p "$out/corpus/$t" "$out/artifacts/$t" "$out/logs"

	if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
		if ! "$bin" -runs=1 fuzz/regressions/"$t"/* >"$log.regressions" 2>&1; then
			echo "fuzz: $t: a regression input fails again:"; tail -40 "$log.regressions"
			return 1
		fi
		echo "fuzz: $t: $(ls fuzz/regressions/"$t" | wc -l) regression inputs pass"
	fi

	# -timeout: one input taking 20 s is a hang; -rss_limit_mb as libFuzzer's
	# default, stated. The first corpus directory receives new inputs.
	if "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$t/" "$out/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		echo "fuzz: $t: ${seconds}s, ${execs:-?} inputs, ${cov:-cov: ?}, no crash"
	else
		echo "fuzz: $t: FAILED (log $log, input in $out/artifacts/$t/):"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*: (an|a|two|round|unexpected) )' "$log" |
			head -20 || true
		tail -30 "$log"
		return 1
	fi
}

for t in "${targets[@]}"; do
	[ -x "$out/fuzz/$t" ] || { echo "fuzz: no target $t" >&2; exit 2; }
done
# A libFuzzer process uses one core: FUZZ_JOBS targets at once (default: one
# per core), each still for N seconds. Lane i takes targets i, i+jobs, ...;
# each target's lines are printed in the targets' order once all are done.
jobs=${FUZZ_JOBS:-$(nproc)}
mkdir -p "$out/logs"
for t in "${targets[@]}"; do rm -f "$out/logs/$t.summary" "$out/logs/$t.rc"; done
pids=()
for ((lane = 0; lane < jobs && lane < ${#targets[@]}; lane++)); do
	(
		for ((i = lane; i < ${#targets[@]}; i += jobs)); do
			t=${targets[$i]}
			rc=0
			fuzz_one "$t" >"$out/logs/$t.summary" 2>&1 || rc=$?
			echo "$rc" >"$out/logs/$t.rc"
		done
	) &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
status=0
for t in "${targets[@]}"; do
	cat "$out/logs/$t.summary"
	[ "$(cat "$out/logs/$t.rc")" = 0 ] || status=1
done
[ $status = 0 ] && echo "fuzz: clean"
exit $status
