#!/usr/bin/env bash
# Runs the service on 127.0.0.1:8080 with a managed ClickHouse and the demo
# dataset, installing ClickHouse when missing. Extra flags go to serve.
#
# The binary is built into data/usagelens (go build is incremental: it
# rebuilds only when the sources changed) and then exec'd, so this script's
# PID becomes the server's: SIGINT or SIGTERM to it stops the service and
# its clickhouse-server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-clickhouse.sh
bin=data/usagelens
echo "demo.sh: building $bin (the first build on a 2-core machine takes a few minutes while Go compiles the dependencies; later ones reuse them)" >&2
mkdir -p data
go build -o "$bin" ./cmd/usagelens
exec "$bin" serve --demo "$@"
