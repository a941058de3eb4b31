#!/usr/bin/env bash
# Installs the built library into a scratch prefix, then builds a host
# program outside the tree twice, with pkg-config and with CMake's
# find_package, and runs both.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/ | head -n1)

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 -Wall -Werror -o "$tmp/host_pc" "$src/tests/install/host.c" \
	$(pkg-config --cflags --libs billing)
LD_LIBRARY_PATH="$libdir" "$tmp/host_pc" "$tmp/pc.db"

cmake -S "$src/tests/install" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/cmake-build/host" "$tmp/cmake.db"
echo "install: pkg-config and find_package hosts built and ran"
