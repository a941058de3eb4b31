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
