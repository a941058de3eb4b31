#!/usr/bin/env bash
# Every public header compiles on its own, as strict C99 and as C++.
set -euo pipefail
inc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for h in $(cd "$inc" && find billing -name '*.h' | sort); do
	printf '#include <%s>\nint billing_header_check_%d;\n' "$h" "$n" > "$tmp/t.c"
	cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
	cp "$tmp/t.c" "$tmp/t.cpp"
	c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.cpp" -o "$tmp/t.o"
	n=$((n + 1))
done
echo "headers: $n public headers compile alone as C99 and C++11"
