#!/usr/bin/env bash
# Soak run: SOAK_DURATION (default 10m) of the demo dataset's recorded
# dashboard traffic (requests.txt: utilization pages, comparisons, filters,
# sorts, exports) from wrk, a second process, against `usagelens serve
# --demo` with its managed ClickHouse. Samples the service's RSS and
# goroutines every 10 s and counts 5xx answers from its own /metrics.
# Loopback only; the load stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${SOAK_DURATION:-10m}
conns=${SOAK_CONNECTIONS:-16}
port=${SOAK_PORT:-18181}
out=${SOAK_OUT:-bench/out/soak}
mkdir -p "$out"
work=$(mktemp -d)
bash scripts/ensure-clickhouse.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
go build -o "$work/usagelens" ./cmd/usagelens
export USAGELENS_TOKEN_KEY="soak-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$work/usagelens" serve --demo --data-dir "$work/data" --listen "127.0.0.1:$port" --log-level warn >"$out/serve.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
echo "waiting for the service (seeding and loading the demo dataset)..." >&2
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null

# One "token path" line per recorded request, the token scoped to the
# request's client.
reqs="$work/data/demo-dataset/requests.txt"
: >"$work/lines"
declare -A tokens
while IFS= read -r path; do
  client=$(sed -E 's#^/v2/clients/([^/]+)/.*#\1#' <<<"$path")
  [ -n "${tokens[$client]:-}" ] || tokens[$client]=$("$work/usagelens" token --client "$client" --ttl 2h)
  printf '%s %s\n' "${tokens[$client]}" "$path" >>"$work/lines"
done <"$reqs"
cat >"$work/replay.lua" <<LUA
local lines = {}
for l in io.lines("$work/lines") do
  local tok, path = l:match("^(%S+) (.+)$")
  lines[#lines + 1] = {tok, path}
end
math.randomseed(42)
request = function()
  local r = lines[math.random(#lines)]
  return wrk.format("GET", r[2], {["Authorization"] = "Bearer " .. r[1]})
end
LUA

sample() {
  local rss goroutines
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  goroutines=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^go_goroutines / {print $2}')
  printf '%s,%s,%s\n' "$(date +%s)" "$rss" "$goroutines" >>"$out/samples.csv"
}
echo "unix_time,rss_kib,goroutines" >"$out/samples.csv"
sample
( while kill -0 "$pid" 2>/dev/null; do sleep 10; sample; done ) &
sampler=$!
echo "soak: $duration, $conns connections, $(wc -l <"$reqs") recorded requests" >&2
wrk -t 2 -c "$conns" -d "$duration" --latency -s "$work/replay.lua" "http://127.0.0.1:$port" | tee "$out/wrk.txt"
kill "$sampler" 2>/dev/null || true
sample
curl -s "http://127.0.0.1:$port/metrics" >"$out/metrics.txt"
fivexx=$(awk '/^usagelens_http_request_duration_seconds_count\{/ && /code="5/ {s += $2} END {print s + 0}' "$out/metrics.txt")
codes=$(awk '/^usagelens_http_request_duration_seconds_count\{/ {match($0, /code="[0-9]+"/); c = substr($0, RSTART + 6, 3); s[c] += $2} END {for (c in s) printf "%s=%d ", c, s[c]}' "$out/metrics.txt")
echo "answers by status: $codes"
echo "5xx answers: $fivexx"
awk -F, 'NR > 2 {if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2; if (gmin == "" || $3 < gmin) gmin = $3; if ($3 > gmax) gmax = $3; last = $2; lg = $3; if (first == "") {first = $2; fg = $3}}
  END {printf "RSS KiB: first %d, last %d, min %d, max %d; goroutines: first %d, last %d, min %d, max %d\n", first, last, min, max, fg, lg, gmin, gmax}' "$out/samples.csv"
