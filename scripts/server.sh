#!/usr/bin/env bash
# Builds libbilling and starts the example server, billing-server, in the
# current directory: with no configuration it uses the SQLite file
# ./billing.db and the test payment provider on 127.0.0.1:8080 (see
# examples/billing-server/README.md for BILLING_* settings). Arguments
# are passed to the server ("tenant create --name Acme", "--help", ...).
#
# The build is the release preset's (build/release) and has everything
# `cmake --install build/release --prefix DIR` installs (the shared and
# the static library), so the README's install step works right after it.
# BILLING_BUILD_DIR builds elsewhere (tests/install/after_server_sh.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BILLING_BUILD_DIR:-$here/build/release}
"$here/scripts/deps.sh"
(cd "$here" && cmake --preset release -B "$build" >/dev/null &&
	cmake --build "$build" -j"$(nproc)" --target billing billing_static billing-server >/dev/null)
exec "$build/examples/billing-server/billing-server" "$@"
