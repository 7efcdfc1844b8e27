#!/usr/bin/env bash
# Validates docker-compose.yml with whichever Compose is installed: v1
# (`docker-compose`, Debian's 1.29) and v2 (the `docker compose` plugin).
# Needs no Docker engine. A Compose that is absent is reported as skipped;
# an invalid file fails. Also checks that Prometheus scrapes the port the
# compose file gives --metrics-listen, and that the demo client id in the
# compose file is still the biggest client of the small seed-1 dataset.
set -euo pipefail
cd "$(dirname "$0")/.."

# The file requires the key at interpolation time; any value validates.
export USAGELENS_TOKEN_KEY="${USAGELENS_TOKEN_KEY:-check-compose-placeholder-key-0123456789}"
fail=0
checked=0

check() { # name, command...
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		echo "ok: $name"
	else
		echo "FAIL: $name" >&2
		echo "$out" >&2
		fail=1
	fi
}

if command -v docker-compose >/dev/null 2>&1; then
	v=$(docker-compose version --short 2>/dev/null || echo unknown)
	check "docker-compose $v config" docker-compose -f docker-compose.yml config -q
	check "docker-compose $v --profile demo config" docker-compose -f docker-compose.yml --profile demo config -q
	check "docker-compose $v --profile cluster config" docker-compose -f docker-compose.yml --profile cluster config -q
	checked=$((checked + 1))
else
	echo "skipped: Compose v1 (docker-compose) is not installed (Debian: apt-get install docker-compose)"
fi

if docker compose version >/dev/null 2>&1; then
	v=$(docker compose version --short 2>/dev/null || echo unknown)
	check "docker compose $v config" docker compose -f docker-compose.yml config -q
	check "docker compose $v --profile demo config" docker compose -f docker-compose.yml --profile demo config -q
	check "docker compose $v --profile cluster config" docker compose -f docker-compose.yml --profile cluster config -q
	checked=$((checked + 1))
else
	echo "skipped: Compose v2 (the docker compose plugin) is not installed"
fi

# Prometheus must scrape where the compose file serves metrics.
port=$(sed -n 's/.*"--metrics-listen", *":\([0-9]*\)".*/\1/p' docker-compose.yml)
if [ -z "$port" ]; then
	port=8080 # no --metrics-listen: /metrics is on the API port
fi
if grep -q "targets: \[\"usagelens:$port\"\]" observability/prometheus.yml; then
	echo "ok: observability/prometheus.yml scrapes usagelens:$port"
else
	echo "FAIL: observability/prometheus.yml does not scrape usagelens:$port, where docker-compose.yml serves /metrics" >&2
	fail=1
fi

if command -v promtool >/dev/null 2>&1; then
	check "promtool check config" promtool check config observability/prometheus.yml
else
	echo "skipped: promtool is not installed (Debian: apt-get install prometheus)"
fi

# The demo's token is minted for a fixed client id; the dataset is
# deterministic, so regenerate it and compare.
if command -v go >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	go run ./cmd/usagelens seed --out "$tmp/demo" --scale small --seed 1 >/dev/null 2>&1
	busiest=$(awk -F, 'NR > 1 { n[$1]++ } END { for (c in n) if (n[c] > max) { max = n[c]; id = c }; print id }' "$tmp/demo/usage.csv")
	if grep -q -- "\"--client\", \"$busiest\"" docker-compose.yml; then
		echo "ok: the demo token is for $busiest, the biggest client of seed 1 (small)"
	else
		echo "FAIL: docker-compose.yml's demo service should mint for $busiest, the biggest client of seed 1 (small)" >&2
		fail=1
	fi
else
	echo "skipped: the demo client id check (no go on PATH)"
fi

if [ "$checked" -eq 0 ]; then
	echo "note: no Compose installed, so the file itself was not validated"
fi
exit "$fail"
