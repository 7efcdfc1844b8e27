#!/usr/bin/env bash
# Start a private PostgreSQL cluster and load a usagelens dataset directory
# into the spec's "DB source" design (schema.sql): monthly partitions of
# app_usage_reports, apps joined to catalog_applications.
#
#   bench/pg/setup.sh DATASET_DIR PGDATA PORT FIRST_MONTH LAST_MONTH
#
# FIRST_MONTH and LAST_MONTH (YYYY-MM-01) bound the monthly partitions;
# rows outside land in the default partition. The cluster listens on
# 127.0.0.1:PORT only, trusts local connections, and keeps everything under
# PGDATA; stop it with bench/pg/stop.sh PGDATA. Needs PostgreSQL's server
# binaries (Debian: apt-get install -y postgresql). Run as root, the server
# runs as the postgres user.
#
# The cluster is tuned for a benchmark, not for safety: fsync and
# full_page_writes are off and WAL is minimal, which speeds the load and
# does not change query times.
set -euo pipefail

if [ $# -ne 5 ]; then
	echo "usage: $0 DATASET_DIR PGDATA PORT FIRST_MONTH LAST_MONTH" >&2
	exit 2
fi
DATASET=$(cd "$1" && pwd)
PGDATA=$2
PORT=$3
FIRST=$4
LAST=$5
HERE=$(cd "$(dirname "$0")" && pwd)

BIN=""
if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
	BIN=$(pg_config --bindir)
else
	BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
	echo "setup.sh: no PostgreSQL server binaries (initdb) found; install them with: apt-get install -y postgresql" >&2
	exit 1
fi

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
t0=$(date +%s.%N)
say() { printf 'pg %6ss: %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')" "$*"; }

mkdir -p "$PGDATA"
if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDATA"; fi
chmod 700 "$PGDATA"
say "initdb $PGDATA ($("$BIN/postgres" --version))"
as_pg "$BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null

mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
cpus=$(nproc)
shared_mb=$(( mem_kb / 1024 / 4 ))
[ "$shared_mb" -gt 8192 ] && shared_mb=8192
cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$PGDATA'
shared_buffers = ${shared_mb}MB
effective_cache_size = $(( mem_kb / 1024 / 2 ))MB
work_mem = 256MB
maintenance_work_mem = 2GB
max_worker_processes = $(( cpus + 4 ))
max_parallel_workers = $cpus
max_parallel_workers_per_gather = $cpus
max_parallel_maintenance_workers = $cpus
random_page_cost = 1.1
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 16GB
checkpoint_timeout = 30min
CONF
as_pg "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start >/dev/null
say "server on 127.0.0.1:$PORT"

psql_() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
psql_ -d postgres -c "CREATE DATABASE usagelens"
db() { psql_ -d usagelens "$@"; }
db -f "$HERE/schema.sql"
db -v first="$FIRST" -v last="$LAST" <<'SQL'
SELECT format('CREATE TABLE app_usage_reports_%s PARTITION OF app_usage_reports FOR VALUES FROM (%L) TO (%L)',
              to_char(m, 'YYYYMM'), m::date, (m + interval '1 month')::date)
FROM generate_series(:'first'::date, :'last'::date, interval '1 month') AS m
\gexec
SQL
say "schema and monthly partitions $FIRST..$LAST created"

db -c "\copy clients FROM pstdin WITH (FORMAT csv, HEADER true)" <"$DATASET/clients.csv"
db -c "\copy apps_csv FROM pstdin WITH (FORMAT csv, HEADER true)" <"$DATASET/apps.csv"
db <<'SQL'
INSERT INTO catalog_applications
SELECT DISTINCT ON (catalog_app_id) catalog_app_id, canonical_name, logo, type, vendor_id, vendor_name, vendor_url,
       coalesce(string_to_array(category_ids, ';')::uuid[], '{}'), coalesce(string_to_array(category_names, ';'), '{}')
FROM apps_csv ORDER BY catalog_app_id, client_id;
INSERT INTO apps SELECT client_id, app_id, catalog_app_id, is_favorite, is_approved, license_count, risk_level FROM apps_csv;
DROP TABLE apps_csv;
SQL
db -c "\copy user_departments FROM pstdin WITH (FORMAT csv, HEADER true)" <"$DATASET/user_departments.csv"
say "clients, apps, catalog and departments loaded"

if [ -f "$DATASET/usage.csv.gz" ]; then
	gzip -dc "$DATASET/usage.csv.gz" | db -c "\copy app_usage_reports FROM pstdin WITH (FORMAT csv, HEADER true)"
else
	db -c "\copy app_usage_reports FROM pstdin WITH (FORMAT csv, HEADER true)" <"$DATASET/usage.csv"
fi
say "usage rows copied: $(db -At -c 'SELECT count(*) FROM app_usage_reports')"

db -c "ALTER TABLE app_usage_reports ADD PRIMARY KEY (client_id, activity_date, application_id, user_id)"
say "primary key built"
db -c "VACUUM (ANALYZE) app_usage_reports" -c "ANALYZE"
say "vacuumed and analyzed; ready: postgres://postgres@127.0.0.1:$PORT/usagelens"
