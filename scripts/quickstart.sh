#!/usr/bin/env bash
# Builds libbilling and runs the quickstart program on ./billing.db.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(pwd)/scripts/deps.sh"
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target quickstart
./build/release/examples/quickstart "${1:-billing.db}"
