#!/usr/bin/env bash
# The test command: installs ClickHouse 18.16, LibreOffice Calc (to open
# the XLSX exports in) and Chromium (to drive the App Metrics page in) when
# missing and fetches
# current ClickHouse as the chDB library once, checks formatting and vet,
# then runs every test against real private ClickHouse servers, and the
# cross-version test on both, then the storage suites on a two-shard
# cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-clickhouse.sh
bash scripts/ensure-libreoffice.sh
# Chromium, for the App Metrics page's browser tests (handlers' TestUI*).
bash scripts/ensure-chromium.sh
# Current ClickHouse for the cross-version test (chDB, fetched once).
CHDB_LIB="$(bash scripts/ensure-chdb.sh)"
export CHDB_LIB
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
# The compose file, with whichever Compose versions are installed (each one
# absent is said and skipped).
bash scripts/check-compose.sh
go test -count=1 -timeout 20m "$@" ./...
# The storage suites again on a cluster of two shards: private
# clickhouse-servers on loopback with a generated remote_servers, every
# database chtest.NewDB makes spread over them (docs/cluster.md). The
# browser, LibreOffice and cross-version tests test no storage and ran
# above.
USAGELENS_TEST_CLUSTER=2 go test -count=1 -timeout 20m -skip 'TestUI|TestXLSXThroughLibreOffice|TestCrossVersion' "$@" \
  ./handlers ./dataset ./store ./chschema/... ./cmd/usagelens
# A short fuzz run of the parameter and cursor parsers on top of the
# committed corpus (query/testdata/fuzz). Bounded by a count of runs, not
# a duration: Go 1.26's fuzz coordinator can report a duration's end as
# "context deadline exceeded" on a busy machine (golang/go#75804, fixed in
# Go 1.27). 50 000 runs take 5 to 10 s here.
for target in FuzzParseUtilization FuzzDecodeCursor; do
  go test ./query -run '^$' -fuzz "^${target}\$" -fuzztime 50000x -fuzzminimizetime 100x
done
