#!/usr/bin/env bash
# Every exported getter and accessor is in the NULL table of
# tests/unit/getters.c, so a new one cannot ship without its NULL case.
#   check_getters.sh <libbilling.so> <include dir> <tests/unit/getters.c>
# A getter is an exported function whose public declaration takes exactly
# one `const billing_<noun> *`, optionally followed by a `size_t` index or
# a `const char *` key (billing_customer_email, billing_page_customer,
# billing_customer_metadata_get). The declarations are read from the
# headers; every export must have one, so a declaration this script fails
# to parse is an error rather than a getter silently left out.
set -euo pipefail
lib=$1 include=$2 table=$3

exports=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u)

# "name<TAB>parameters" for every BILLING_EXTERN function, whitespace folded.
decls=$(perl -0777 -ne '
	while (/BILLING_EXTERN\([^)]*\)\s*(billing_\w+)\s*\(([^;]*?)\)\s*;/sg) {
		my ($n, $a) = ($1, $2);
		$a =~ s/\s+/ /g; $a =~ s/^ | $//g;
		print "$n\t$a\n";
	}' "$include"/billing/*.h "$include"/billing/sys/*.h | sort -u)

undeclared=$(comm -23 <(echo "$exports") <(echo "$decls" | cut -f1 | sort -u))
if [ -n "$undeclared" ]; then
	echo "exported but no declaration found in $include (fix the parser or the header):"
	echo "$undeclared"
	exit 1
fi

getters=$(echo "$decls" |
	grep -E $'\tconst billing_[a-z0-9_]+ \\*[a-z_]+(, (size_t [a-z_]+|const char \\*[a-z_]+))?$' |
	cut -f1 | sort -u | comm -12 - <(echo "$exports"))

listed=$(grep -oE '^[[:space:]]*(PTR|INT|AT|KEY|PAGE|IAT)\(billing_[a-z0-9_]+' "$table" |
	sed 's/.*(//' | sort -u)

missing=$(comm -23 <(echo "$getters") <(echo "$listed"))
stale=$(comm -13 <(echo "$getters") <(echo "$listed"))
if [ -n "$missing$stale" ]; then
	[ -z "$missing" ] || { echo "exported getters missing from $table (GETTERS):"; echo "$missing"; }
	[ -z "$stale" ] || { echo "listed in $table but not an exported getter:"; echo "$stale"; }
	exit 1
fi
echo "getters: $(echo "$getters" | wc -l) exported, all in the NULL table"
