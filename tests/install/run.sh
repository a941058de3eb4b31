#!/usr/bin/env bash
# Installs the built library into a scratch prefix, then builds a host
# program in a folder of its own (a copy of tests/install, as a user's
# project would be) twice, with pkg-config and with CMake's find_package,
# and runs both.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
# With the example server built, it is installed with the web console's
# files and chart library beside it (docs/console.md).
if [ -x "$build/examples/billing-server/billing-server" ]; then
	[ -x "$tmp/prefix/bin/billing-server" ] || { echo "install: bin/billing-server missing"; exit 1; }
	for f in index.html app.js api.js dom.js money.js console.css vendor/uPlot.esm.js \
		vendor/uPlot.min.css; do
		[ -s "$tmp/prefix/share/libbilling/console/$f" ] ||
			{ echo "install: share/libbilling/console/$f missing"; exit 1; }
	done
	# The installed server finds them itself (relative to its bin/).
	LD_LIBRARY_PATH=$(ls -d "$tmp"/prefix/lib*/ | head -n1) BILLING_DATABASE_URL="sqlite:$tmp/c.db" \
		BILLING_LISTEN=127.0.0.1:0 BILLING_JWT_SECRET=0123456789abcdef0123456789abcdef0123 \
		timeout 5 "$tmp/prefix/bin/billing-server" serve 2>"$tmp/serve.log" || true
	grep -q "\"files\":\"$tmp/prefix/share/libbilling/console\"" "$tmp/serve.log" ||
		{ echo "install: the installed server did not find its console:"; cat "$tmp/serve.log"; exit 1; }
	echo "install: billing-server and the console installed; the server finds them"
fi
libdir=$(ls -d "$tmp"/prefix/lib*/ | head -n1)
mkdir "$tmp/app"
cp "$src/tests/install/host.c" "$src/tests/install/CMakeLists.txt" "$tmp/app/"
cd "$tmp/app"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 -Wall -Werror -o host_pc host.c $(pkg-config --cflags --libs billing)
LD_LIBRARY_PATH="$libdir" ./host_pc pc.db

cmake -S . -B cmake-build -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build cmake-build >/dev/null
LD_LIBRARY_PATH="$libdir" ./cmake-build/host cmake.db
echo "install: pkg-config and find_package hosts built in their own folder and ran"
