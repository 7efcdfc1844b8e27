#!/usr/bin/env bash
# Runs the service on 127.0.0.1:8080 with a managed ClickHouse and the demo
# dataset, installing ClickHouse when missing. Extra flags go to serve.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-clickhouse.sh
exec go run ./cmd/usagelens serve --demo "$@"
