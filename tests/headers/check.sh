#!/usr/bin/env bash
# Every public header compiles on its own, as strict C99 and as C++, and
# every free function a header tells its caller to use (billing_..._free,
# named in its comments) is declared by that header alone, so a host that
# includes only it can follow its own documentation.
set -euo pipefail
inc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
frees=0
for h in $(cd "$inc" && find billing -name '*.h' | sort); do
	printf '#include <%s>\nint billing_header_check_%d;\n' "$h" "$n" > "$tmp/t.c"
	cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
	cp "$tmp/t.c" "$tmp/t.cpp"
	c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.cpp" -o "$tmp/t.o"
	for f in $(grep -oE '\bbilling_[a-z0-9_]*free\b' "$inc/$h" | sort -u); do
		printf '#include <%s>\nvoid (*billing_header_free_%d)(void) = (void (*)(void))%s;\n' \
			"$h" "$frees" "$f" > "$tmp/f.c"
		if ! cc -std=c99 -Wall -Werror -I"$inc" -c "$tmp/f.c" -o "$tmp/f.o" 2>"$tmp/f.err"; then
			echo "$h names $f but does not declare it (nor does any header it includes)"
			cat "$tmp/f.err"
			exit 1
		fi
		frees=$((frees + 1))
	done
	n=$((n + 1))
done
echo "headers: $n public headers compile alone as C99 and C++11; the $frees free functions they name are declared where named"
