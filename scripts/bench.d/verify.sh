#!/usr/bin/env bash
# scripts/bench verify [ROUNDS] [SECONDS]
#
# verify's load probe (fortio's runner over fasthttp) against wrk (Debian) on the
# same sample app (testdata/sample-app, /api/strategy, no injected faults)
# on 127.0.0.1, in the same run. Each round has two parts:
#
#  closed loop: wrk -t2 -c10 for SECONDS (default 10), then verify with
#    load-concurrency 10 and load-requests set to the number of requests wrk
#    made, so both run about as long at the same concurrency.
#  rate-matched: wrk -t2 -c10 with 1 ms of think time per request (a Lua
#    delay), then verify at load-rate = the rate wrk reached, 10 in flight at
#    most, for as many requests. Labelled as such; here neither side
#    saturates the CPU, so the p95s compare the clients' latency
#    measurement rather than how each shares 2 cores with the server.
#
# p95s: wrk's comes from its Lua done() hook, and wrk 4 corrects its
# histogram for coordinated omission before done() (stats_correct: every
# sample of at least twice the mean interval per connection adds synthetic
# samples below it), so in the closed loop wrk's p95 includes requests it
# never sent. verify's is over the requests sent. The rate-matched part is
# the like-for-like one (wrk's correction then rarely applies).
# Prints a markdown table for the README.
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
for _ in $(seq 100); do grep -q '^listening on ' "$work/app.out" && break; sleep 0.1; done
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
{ echo 'delay = function() return 1 end'; cat "$work/p95.lua"; } >"$work/paced.lua"

get() { sed -n "s/^$1=//p" "$2"; }

# wrk_row ROUND LABEL SCRIPT: runs wrk, prints its row, sets n, wrk_rps and
# wrk_p95.
wrk_row() {
  wrk -t2 -c"$concurrency" -d"${seconds}s" -s "$3" "$url/api/strategy" >"$work/wrk.out"
  n=$(get requests "$work/wrk.out")
  wrk_rps=$(awk -v n="$n" -v s="$(get seconds "$work/wrk.out")" 'BEGIN { printf "%.0f", n / s }')
  wrk_p95=$(get p95_ms "$work/wrk.out")
  printf '| %d | %s | %d | %s | | %.3f | | %s |\n' "$1" "$2" "$n" "$wrk_rps" "$wrk_p95" "$(get errors "$work/wrk.out")"
}

# verify_row ROUND LABEL [ARGS]: runs verify for n requests, prints its row,
# sets ratio (throughput over wrk's) and p95_diff (percent against wrk's).
verify_row() {
  env -u GITHUB_ACTIONS "$work/verify" --url "$url" --health-paths /api/health --load-path /api/strategy \
    --load-requests "$n" --load-concurrency "$concurrency" --max-p95-latency 10s --min-throughput 1/min \
    --max-error-rate 100% "${@:3}" >"$work/verify.out" 2>"$work/verify.err" || { cat "$work/verify.err" >&2; exit 1; }
  local rps err p95
  p95=$(get p95 "$work/verify.out")
  rps=$(awk -v t="$(get throughput "$work/verify.out")" 'BEGIN { printf "%.0f", t / 60 }')
  err=$(awk -v e="$(get error-rate "$work/verify.out")" -v n="$n" 'BEGIN { printf "%.0f", e * n / 100 }')
  ratio=$(awk -v a="$rps" -v b="$wrk_rps" 'BEGIN { printf "%.2f", a / b }')
  p95_diff=$(awk -v a="$p95" -v b="$wrk_p95" 'BEGIN { printf "%+.0f", (a / b - 1) * 100 }')
  printf '| %d | %s | %d | %s | %sx | %.3f | %s %% | %s |\n' "$1" "$2" "$n" "$rps" "$ratio" "$p95" "$p95_diff" "$err"
}

printf '| round | tool | requests | throughput (req/s) | of wrk | p95 (ms) | p95 against wrk | errors |\n|---|---|---|---|---|---|---|---|\n'
ratios=() p95_diffs=()
for r in $(seq "$rounds"); do
  wrk_row "$r" "wrk 2 threads, $concurrency connections, closed loop" "$work/p95.lua"
  verify_row "$r" "verify, $concurrency workers, closed loop"
  ratios+=("$ratio")
  wrk_row "$r" "wrk 2 threads, $concurrency connections, 1 ms think time (rate-matched)" "$work/paced.lua"
  verify_row "$r" "verify, load-rate $wrk_rps/s, at most $concurrency in flight (rate-matched)" --load-rate "$wrk_rps"
  p95_diffs+=("$p95_diff")
done

# One round's p95 moves by 10 % or more for either tool (both pace to the
# kernel's millisecond timers, so requests bunch differently from round to
# round): the medians are the figures to compare.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '\nMedians over %d rounds: closed-loop throughput %sx of wrk; rate-matched p95 %s %% against wrk.\n' \
  "$rounds" "$(median "${ratios[@]}")" "$(median "${p95_diffs[@]}")"
