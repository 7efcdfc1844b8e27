#!/usr/bin/env bash
# Stop the cluster bench/pg/setup.sh started: bench/pg/stop.sh PGDATA
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 PGDATA" >&2
	exit 2
fi
BIN=""
if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/pg_ctl" ]; then
	BIN=$(pg_config --bindir)
else
	BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ "$(id -u)" = 0 ]; then
	runuser -u postgres -- "$BIN/pg_ctl" -D "$1" -m fast -w stop
else
	"$BIN/pg_ctl" -D "$1" -m fast -w stop
fi
