#!/usr/bin/env bash
# The README's install step right after the README's first command: builds
# the way scripts/server.sh does (its own code, into a fresh directory), then
# tests/install/run.sh installs that build into a scratch prefix and builds
# a host program from a folder of its own with pkg-config and find_package.
set -euo pipefail
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# server.sh builds, then starts the server with its arguments: --help
# prints the usage and exits 0.
(cd "$tmp" && BILLING_BUILD_DIR="$tmp/build" "$src/scripts/server.sh" --help >/dev/null)
bash "$src/tests/install/run.sh" "$tmp/build" "$src"
