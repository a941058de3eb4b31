#!/usr/bin/env bash
# Builds libbilling and runs the quickstart program (examples/quickstart.c)
# on ./billing.db in the directory it is run from, or on the file given as
# the first argument (relative to that directory too).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
(cd "$here" && cmake --preset release >/dev/null &&
	cmake --build --preset release -j"$(nproc)" --target quickstart >/dev/null)
exec "$here/build/release/examples/quickstart" "${1:-billing.db}"
