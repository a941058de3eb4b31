#!/usr/bin/env bash
# Builds libbilling and starts the example server, billing-server, in the
# current directory: with no configuration it uses the SQLite file
# ./billing.db and the test payment provider on 127.0.0.1:8080 (see
# examples/billing-server/README.md for BILLING_* settings). Arguments
# are passed to the server ("tenant create --name Acme", "--help", ...).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
(cd "$here" && cmake --preset release >/dev/null &&
	cmake --build --preset release -j"$(nproc)" --target billing-server >/dev/null)
exec "$here/build/release/examples/billing-server/billing-server" "$@"
