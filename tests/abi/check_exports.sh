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
# Read the whole header before matching: grep -q would stop at the match and,
# under pipefail, objdump's SIGPIPE on the rest would fail the check.
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libbilling.so.0 ] || { echo "no SONAME libbilling.so.0 (got '$soname')"; exit 1; }
echo "abi: $(nm -D --defined-only "$lib" | awk '$2 == "T"' | wc -l) functions exported, all billing_*"
