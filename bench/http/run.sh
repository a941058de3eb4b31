#!/usr/bin/env bash
# bench/http/run.sh: billing-server under wrk on loopback, next to the
# library's own throughput for the same operations in the same run.
#
#   bench/http/run.sh [all|sqlite|postgres]      (default: all)
#
# For each backend: a fresh database (SQLite: a temporary file; PostgreSQL: a
# schema of its own in the throwaway server of scripts/with-postgres.sh,
# migrated as billing_owner, served as billing_app), one billing-server, and
# for each concurrency C in BENCH_CONNECTIONS:
#   get     wrk GET /v1/customers/{id}, C connections       (get.lua)
#           bench_http_lib get: customers.get, C threads     (billing_call_json)
#   create  wrk POST /v1/customers, C connections, a unique e-mail per request
#           (create.lua); bench_http_lib create, C threads
# and prints requests/s and p99 latency of both sides and the HTTP overhead
# ratio (library calls/s over HTTP requests/s). "all" runs SQLite here and
# PostgreSQL inside scripts/with-postgres.sh (with BILLING_PG_FSYNC=on).
#
# Needs a release build with the benchmarks (cmake --preset release &&
# cmake --build --preset release), curl, and wrk, which is installed with
# apt-get when missing. It reports; it does not gate.
#
# Environment:
#   BUILD_DIR           build tree (default build/release)
#   BENCH_DURATION      seconds per wrk run (default 10)
#   BENCH_CONNECTIONS   concurrencies (default "1 4")
#   BILLING_WORKERS     the server's thread pool (default 4)
#   BENCH_GET_N         library gets per case (default 50000)
#   BENCH_CREATE_N      library creates per case (default 5000)
#   BENCH_LOG_LEVEL     the server's log level (default info: a JSON line per
#                       request, to a file, as in production)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/bench/http
build=${BUILD_DIR:-$root/build/release}
server=$build/examples/billing-server/billing-server
lib=$build/bench/bench_http_lib
mode=${1:-all}
duration=${BENCH_DURATION:-10}
conns=${BENCH_CONNECTIONS:-"1 4"}
workers=${BILLING_WORKERS:-4}
get_n=${BENCH_GET_N:-50000}
create_n=${BENCH_CREATE_N:-5000}

die() { echo "bench/http: $*" >&2; exit 1; }

case $mode in all|sqlite|postgres) ;; *) die "usage: bench/http/run.sh [all|sqlite|postgres]" ;; esac
[ -x "$server" ] || die "no $server: cmake --preset release && cmake --build --preset release"
[ -x "$lib" ] || die "no $lib: build the benchmarks (BILLING_BUILD_BENCH=ON, the release preset's default)"
command -v curl >/dev/null || die "curl is needed"

if ! command -v wrk >/dev/null 2>&1; then
	echo "bench/http: installing wrk (Debian package)" >&2
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

if [ "$mode" = all ]; then
	"$0" sqlite
	BILLING_PG_FSYNC=on "$root/scripts/with-postgres.sh" "$0" postgres
	exit 0
fi

# ------------------------------------------------------------ one backend

work=$(mktemp -d /tmp/billing-bench-http-XXXXXX)
server_pid=
schema=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ -n "$schema" ]; then
		psql -X -q -h "$BILLING_TEST_PG_HOST" -U billing_owner -d billing \
			-c "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
if [ "$mode" = sqlite ]; then
	url="sqlite:$work/bench.db"
	owner_url=$url
	what="SQLite (WAL, synchronous=FULL)"
else
	[ -n "${BILLING_TEST_PG_HOST:-}" ] || die "postgres: run inside scripts/with-postgres.sh (or use 'all')"
	schema="bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	psql -X -q -v ON_ERROR_STOP=1 -h "$BILLING_TEST_PG_HOST" -U billing_owner -d billing \
		-c "CREATE SCHEMA $schema" >/dev/null
	conn="host=$BILLING_TEST_PG_HOST dbname=billing options='-c search_path=$schema'"
	owner_url="postgres:$conn user=billing_owner"
	url="postgres:$conn user=billing_app"
	what="PostgreSQL $(psql -X -At -h "$BILLING_TEST_PG_HOST" -U billing_owner -d billing \
		-c 'SHOW server_version') over a Unix socket, fsync=${BILLING_PG_FSYNC:-off}, as billing_app"
fi

srv() { env BILLING_DATABASE_URL="$url" BILLING_JWT_SECRET="$secret" "$server" "$@"; }
BILLING_DATABASE_URL="$owner_url" BILLING_JWT_SECRET="$secret" "$server" migrate 2>"$work/migrate.log" ||
	{ cat "$work/migrate.log" >&2; die "migrate failed"; }

BILLING_DATABASE_URL="$url" BILLING_JWT_SECRET="$secret" BILLING_LISTEN=127.0.0.1:0 \
	BILLING_WORKERS="$workers" BILLING_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
	"$server" serve 2>"$work/server.log" &
server_pid=$!
port=
for _ in $(seq 1 300); do
	port=$(sed -n 's/.*"msg":"listening".*"port":"\([0-9]*\)".*/\1/p' "$work/server.log" | head -1)
	[ -n "$port" ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited"; }
	sleep 0.1
done
[ -n "$port" ] || die "the server did not start"
base="http://127.0.0.1:$port"

# ms from a wrk latency such as 812.00us, 1.23ms or 1.02s
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); n = v + 0;
	if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
	printf "%.3f", n }'; }

# wrk_case OP C URL SCRIPT -> sets rps p50 p99 bad
wrk_case() {
	local out=$work/wrk.out
	BENCH_RUN="$RANDOM$RANDOM" wrk -t1 -c"$2" -d"${duration}s" --latency -s "$4" "$3" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed"; }
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	bad=${bad:-0}
	if grep -q "Socket errors" "$out"; then
		bad="$bad ($(grep "Socket errors" "$out" | sed 's/^ *//'))"
	fi
}

# lib_case OP N C -> sets lops lp50 lp99
lib_case() {
	local tenant line
	tenant=$(srv tenant create --name "Bench library $1 $3")
	line=$("$lib" "$url" "$tenant" "$1" "$2" "$3") || die "bench_http_lib $1 failed"
	lops=$(sed -n 's/.*ops_per_s=\([0-9.]*\).*/\1/p' <<<"$line")
	lp50=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	lp99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
}

echo
echo "== billing-server over HTTP vs libbilling in-process: $what"
echo "   $(nproc) CPUs shared by wrk (1 thread), the server ($workers workers) and the library side;"
echo "   wrk ${duration}s per case; library: $get_n gets / $create_n creates per case; same database kind."
printf '%-7s %5s | %10s %9s %9s | %10s %9s %9s | %8s  %s\n' op conns "http req/s" p50 p99 \
	"lib call/s" p50 p99 "lib/http" "http errors"
for c in $conns; do
	for op in get create; do
		tenant=$(srv tenant create --name "Bench HTTP $op $c")
		token=$(srv token --tenant "$tenant" --user usr_bench --role ADMIN --ttl 3600)
		export BENCH_TOKEN=$token
		if [ "$op" = get ]; then
			id=$(curl -sf "$base/v1/customers" -H "Authorization: Bearer $token" \
				-H 'Content-Type: application/json' \
				-d '{"name":"Bench target","email":"target@bench.test"}' |
				sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
			[ -n "$id" ] || die "cannot create the customer to read"
			wrk_case get "$c" "$base/v1/customers/$id" "$here/get.lua"
			lib_case get "$get_n" "$c"
		else
			wrk_case create "$c" "$base/v1/customers" "$here/create.lua"
			lib_case create "$create_n" "$c"
		fi
		printf '%-7s %5s | %10.0f %7.2fms %7.2fms | %10.0f %7.2fms %7.2fms | %7.1fx  %s\n' \
			"$op" "$c" "$rps" "$p50" "$p99" "$lops" "$lp50" "$lp99" "$(awk -v a="$lops" -v b="$rps" 'BEGIN { printf "%.2f", a / b }')" "$bad"
	done
done
