#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server beside it:
#   scripts/with-postgres.sh ctest --preset release
# initdb into a temporary directory as a non-root user, a private Unix
# socket in that directory (no TCP), roles for the two-role setup of
# docs/postgres.md, then the command with BILLING_TEST_PG_HOST set. The
# server is stopped and its directory removed when the command ends, also
# when it fails or is interrupted.
#
# BILLING_PG_FSYNC=on keeps fsync on (benchmarks); tests run with it off.
set -euo pipefail

find_bin() {
	local name=$1 d
	if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/$name" ] && { echo "$d/$name"; return; }
	done
	echo "with-postgres: $name not found (apt-get install postgresql)" >&2
	exit 1
}
INITDB=$(find_bin initdb)
PG_CTL=$(find_bin pg_ctl)
PSQL=$(find_bin psql)

dir=$(mktemp -d /tmp/billing-pg-XXXXXX)
chmod 755 "$dir"
as_pg=()
if [ "$(id -u)" = 0 ]; then
	# PostgreSQL refuses to run as root: use an unprivileged account.
	user=postgres
	if ! id "$user" >/dev/null 2>&1; then
		user=billing-pg
		id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
	fi
	chown "$user" "$dir"
	as_pg=(runuser -u "$user" --)
fi

cleanup() {
	"${as_pg[@]}" "$PG_CTL" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"${as_pg[@]}" "$INITDB" -D "$dir/data" --username=billing_admin --auth=trust \
	--encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; exit 1; }
"${as_pg[@]}" "$PG_CTL" -D "$dir/data" -l "$dir/server.log" -w \
	-o "-k $dir -c listen_addresses='' -c fsync=${BILLING_PG_FSYNC:-off} -c max_connections=200" \
	start >/dev/null || { cat "$dir/server.log"; exit 1; }

"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$dir" -U billing_admin -d postgres <<'SQL'
CREATE ROLE billing_owner LOGIN;
CREATE ROLE billing_runtime NOLOGIN;
CREATE ROLE billing_app LOGIN IN ROLE billing_runtime;
CREATE DATABASE billing OWNER billing_owner;
SQL

export BILLING_TEST_PG_HOST="$dir"
echo "with-postgres: PostgreSQL $("$PG_CTL" --version | awk '{print $3}') on socket $dir"
status=0
"$@" || status=$?
exit $status
