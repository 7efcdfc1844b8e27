#!/usr/bin/env bash
# Installs Debian's clickhouse-server and clickhouse-client when no server
# binary is on PATH. Sourced by the other scripts.
set -euo pipefail
if ! command -v clickhouse-server >/dev/null 2>&1 && ! command -v clickhouse >/dev/null 2>&1; then
  echo "clickhouse-server not found: installing it with apt-get" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
fi
