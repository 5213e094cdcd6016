#!/usr/bin/env bash
# scripts/bench promote [ROUNDS]
#
# On the sandbox's real node (started with scripts/sandbox up if none
# runs): a blue-green promote with no pauses and no analysis, a cold
# rollback (the previous colour was scaled down) and a warm one (still
# scaled), each timed from its start until every answer of a 200 req/s
# probe through the live Service comes from the target version, with the
# probe's failed requests counted. In the same run, the strategy document's
# kubectl procedure (apply, wait --for=condition=available, patch the
# selector, scale, rollout status) made with the same API calls and the
# same pods. Goals (issue 6): rollback under 3 s warm and 30 s cold, promote
# under 10 s. Prints a markdown table for the README.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

rounds=${1:-3}
work="${BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deploy-actions/bench}/promote"
mkdir -p "$work"

scripts/sandbox status >/dev/null 2>&1 || scripts/sandbox up >&2
eval "$(scripts/sandbox env)"
export KUBECONFIG SANDBOX_DIR

go build -o "$work/promote" ./cmd/promote
go build -o "$work/rollback" ./cmd/rollback
go build -o "$work/bench" ./pkg/rollout/internal/bench
"$work/bench" -sandbox "$SANDBOX_DIR" -rounds "$rounds" -promote "$work/promote" -rollback "$work/rollback"
