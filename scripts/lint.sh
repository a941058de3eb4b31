#!/usr/bin/env bash
# Static analysis of src/ and examples/: clang-tidy with the checks of
# .clang-tidy, then cppcheck, both from build/release/compile_commands.json
# (the release preset is configured when it is missing). Prints every
# finding as file:line and exits 1 when there is any.
#
#   scripts/lint.sh                 both tools, every file
#   scripts/lint.sh src/core/list.c one file (or several)
#
# Part of scripts/test.sh: the tree has no findings and stays so. A
# finding that is wrong gets a NOLINT / cppcheck-suppress comment naming the
# check and the reason, on its line (docs/testing.md, "Static analysis").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
db=build/release/compile_commands.json

"$root/scripts/deps.sh"   # clang-tidy and cppcheck among the rest
[ -f "$db" ] || cmake --preset release >/dev/null

# The sources in the database under src/ and examples/, once each (a
# file compiled by several targets is listed once per target).
if [ $# -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <(python3 - "$db" "$root" <<'PY'
import json, sys
root = sys.argv[2].rstrip("/") + "/"
seen = sorted({e["file"][len(root):] for e in json.load(open(sys.argv[1]))
               if e["file"].startswith(root + "src/") or e["file"].startswith(root + "examples/")})
print("\n".join(seen))
PY
)
fi

out=$(mktemp -d /tmp/billing-lint-XXXXXX)
trap 'rm -rf "$out"' EXIT
status=0

echo "== clang-tidy (${#files[@]} files)"
printf '%s\n' "${files[@]}" |
	xargs -P"$(nproc)" -I{} sh -c 'clang-tidy -p build/release --quiet "$1" 2>/dev/null' _ {} \
	>"$out/tidy.txt" || true
# One line per finding, each reported once (headers are seen from many files).
grep -E '^/.*:[0-9]+:[0-9]+: (warning|error):' "$out/tidy.txt" | sed "s|^$root/||" | sort -u \
	>"$out/tidy.findings" || true
if [ -s "$out/tidy.findings" ]; then
	cat "$out/tidy.findings"
	echo "clang-tidy: $(wc -l <"$out/tidy.findings") findings"
	status=1
else
	echo "clang-tidy: clean"
fi

echo "== cppcheck"
# --project takes the flags and defines of each file (matched by relative
# path); system headers are not checked; __SIZEOF_INT128__ is what gcc
# predefines and money.c requires. One inline suppression syntax is allowed:
# // cppcheck-suppress <id> with the reason beside it.
filters=()
for f in "${files[@]}"; do filters+=("--file-filter=$f"); done
cppcheck_rc=0
cppcheck --project="$db" "${filters[@]}" --enable=warning,portability,performance \
	--std=c11 -D__SIZEOF_INT128__=16 --inline-suppr --suppress=missingIncludeSystem \
	--suppress=unmatchedSuppression --quiet -j"$(nproc)" \
	--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
	>"$out/cppcheck.out" 2>"$out/cppcheck.txt" || cppcheck_rc=$?
sed "s|^$root/||" "$out/cppcheck.txt" | grep -E '^[^ ]+:[0-9]+:[0-9]+: ' | sort -u \
	>"$out/cppcheck.findings" || true
if [ "$cppcheck_rc" != 0 ]; then
	echo "cppcheck: failed to run ($cppcheck_rc):"; cat "$out/cppcheck.out" "$out/cppcheck.txt"
	status=1
elif [ -s "$out/cppcheck.findings" ]; then
	cat "$out/cppcheck.findings"
	echo "cppcheck: $(wc -l <"$out/cppcheck.findings") findings"
	status=1
else
	echo "cppcheck: clean"
fi
exit $status
