#!/usr/bin/env bash
# The shared library exports the public API and nothing else: every
# dynamic symbol starts with billing_, none is internal (billing_x__y),
# and it has a SONAME.
set -euo pipefail
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRWV]$/ {print $3}' | sed 's/@.*//')
bad=$(echo "$syms" | grep -v '^billing_[a-z0-9_]*$' || true)
internal=$(echo "$syms" | grep '__' || true)
if [ -n "$bad$internal" ]; then
	echo "unexpected exports:"; echo "$bad"; echo "$internal"
	exit 1
fi
objdump -p "$lib" | grep -q 'SONAME.*libbilling\.so\.0' || { echo "no SONAME"; exit 1; }
echo "abi: $(nm -D --defined-only "$lib" | awk '$2 == "T"' | wc -l) functions exported, all billing_*"
