#!/usr/bin/env bash
# The test command: installs ClickHouse when missing, checks formatting and
# vet, then runs every test against real private ClickHouse servers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-clickhouse.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 -timeout 20m "$@" ./...
# A short fuzz run of the parameter and cursor parsers on top of the
# committed corpus (query/testdata/fuzz).
for target in FuzzParseUtilization FuzzDecodeCursor; do
  go test ./query -run '^$' -fuzz "^${target}\$" -fuzztime 10s -fuzzminimizetime 1s
done
