#!/usr/bin/env bash
# Fetches the chDB library (current ClickHouse as an in-process engine) once
# into a cache directory, checksum-verified, for the cross-version tests.
# It is a test dependency only: the served binary never loads it. Prints
# the library's path.
set -euo pipefail
version=26.7.3-stable.1
tgz_sha256=c0d32b129e988f2b9a9a31c9141aecf5e1e2453f9a079efc4d36ab8e3f92b2ad
lib_sha256=36ad4e999882821ef13cf2d0f52c93f48e6ee1b4498b35a201c23ce4b8d15bf5
dir="${XDG_CACHE_HOME:-$HOME/.cache}/usagelens/chdb-$version"
lib="$dir/libchdb.so"
if [ -f "$lib" ] && [ -f "$lib.ok" ]; then
  echo "$lib"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: installing it with apt-get (it fetches chDB from the npm registry)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq npm >/dev/null
fi
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetching @chdb/lib-linux-x64-gnu@$version (about 178 MB) into $dir" >&2
(cd "$work" && npm pack --silent "@chdb/lib-linux-x64-gnu@$version" >/dev/null)
tgz="$work/chdb-lib-linux-x64-gnu-$version.tgz"
echo "$tgz_sha256  $tgz" | sha256sum -c --quiet - || { echo "checksum mismatch for $tgz" >&2; exit 1; }
tar -xzf "$tgz" -C "$work" package/libchdb.so
echo "$lib_sha256  $work/package/libchdb.so" | sha256sum -c --quiet - || { echo "checksum mismatch for libchdb.so" >&2; exit 1; }
mv "$work/package/libchdb.so" "$lib"
touch "$lib.ok"
echo "$lib"
