#!/usr/bin/env bash
# scripts/bench verify [ROUNDS] [SECONDS]
#
# verify's load probe (vegeta, closed loop) against wrk (Debian) at the same
# concurrency, in the same run, on the same sample app (testdata/sample-app,
# /api/strategy, no injected faults) on 127.0.0.1. Each round runs wrk for
# SECONDS (default 10), then verify with load-requests set to the number of
# requests wrk made, so both run about as long. wrk's p95 comes from its Lua
# done() hook. Prints a markdown table for the README.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

rounds=${1:-3}
seconds=${2:-10}
concurrency=10
work="${BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deploy-actions/bench}/verify"
mkdir -p "$work"

command -v wrk >/dev/null || {
  echo "installing wrk" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
}

go build -o "$work/verify" ./cmd/verify
go build -o "$work/sample-app" ./testdata/sample-app

"$work/sample-app" -listen 127.0.0.1:0 >"$work/app.out" 2>"$work/app.err" &
app=$!
trap 'kill "$app" 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q '^listening on ' "$work/app.out" && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$work/app.out")
[ -n "$addr" ] || { echo "sample-app did not start: $(cat "$work/app.err")" >&2; exit 1; }
url="http://$addr"

cat >"$work/p95.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("requests=%d\nseconds=%f\np95_ms=%f\nerrors=%d\n", summary.requests,
    summary.duration / 1e6, latency:percentile(95) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
LUA

get() { sed -n "s/^$1=//p" "$2"; }

printf '| round | tool | requests | throughput (req/s) | p95 (ms) | errors |\n|---|---|---|---|---|---|\n'
for r in $(seq "$rounds"); do
  wrk -t2 -c"$concurrency" -d"${seconds}s" -s "$work/p95.lua" "$url/api/strategy" >"$work/wrk.out"
  n=$(get requests "$work/wrk.out")
  wrk_rps=$(awk -v n="$n" -v s="$(get seconds "$work/wrk.out")" 'BEGIN { printf "%.0f", n / s }')
  printf '| %d | wrk 2 threads, %d connections | %d | %s | %.2f | %s |\n' "$r" "$concurrency" "$n" "$wrk_rps" \
    "$(get p95_ms "$work/wrk.out")" "$(get errors "$work/wrk.out")"

  env -u GITHUB_ACTIONS "$work/verify" --url "$url" --health-paths /api/health --load-path /api/strategy \
    --load-requests "$n" --load-concurrency "$concurrency" --max-p95-latency 10s --min-throughput 1/min \
    --max-error-rate 100% >"$work/verify.out" 2>"$work/verify.err" || { cat "$work/verify.err" >&2; exit 1; }
  ours_rps=$(awk -v t="$(get throughput "$work/verify.out")" 'BEGIN { printf "%.0f", t / 60 }')
  ours_err=$(awk -v e="$(get error-rate "$work/verify.out")" -v n="$n" 'BEGIN { printf "%.0f", e * n / 100 }')
  printf '| %d | verify (vegeta), %d workers | %d | %s | %s | %s |\n' "$r" "$concurrency" "$n" "$ours_rps" \
    "$(get p95 "$work/verify.out")" "$ours_err"
done
