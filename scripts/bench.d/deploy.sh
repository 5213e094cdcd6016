#!/usr/bin/env bash
# scripts/bench deploy [ROUNDS]
#
# The same Helm upgrade done by deploy (Helm v4 SDK) and by the helm v4 CLI
# (pinned, built from the Go module proxy), in the same run, against the
# sandbox's Kubernetes control plane: testdata/charts/fx-platform, one
# release each in its own namespace, the image digest alternating between
# two values so every round is a real upgrade (the Deployment's pod template
# changes and 3 pods roll), `--wait` (kstatus watcher) and rollback on
# failure. The order of the two tools alternates each round. Measured with
# /usr/bin/time: wall, user+sys CPU, peak RSS. Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

HELM_VERSION=v4.3.1
rounds=${1:-5}
work="${BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deploy-actions/bench}/deploy"
bin="$work/bin"
mkdir -p "$bin"

[ -x /usr/bin/time ] || {
  echo "installing time" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >&2
}
if [ ! -x "$bin/helm-$HELM_VERSION" ]; then
  echo "installing helm $HELM_VERSION (go install, a few minutes)" >&2
  GOBIN="$bin" go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2
  mv "$bin/helm" "$bin/helm-$HELM_VERSION"
fi
helm="$bin/helm-$HELM_VERSION"
go build -o "$bin/deploy" ./cmd/deploy

# The sandbox: reuse a running one, or start one and stop it at the end.
started=0
if ! scripts/sandbox status >/dev/null 2>&1; then started=1; fi
eval "$(scripts/sandbox up | sed 's/^/export /')"
[ "$started" = 1 ] && trap 'scripts/sandbox down >/dev/null 2>&1 || true' EXIT

chart=testdata/charts/fx-platform
repo="$REGISTRY/fx-platform"
digests=(sha256:1111111111111111111111111111111111111111111111111111111111111111
  sha256:2222222222222222222222222222222222222222222222222222222222222222)
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"

run_deploy() { # digest
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin/deploy" --chart "$chart" --release bench \
    --namespace bench-deploy --image "$repo@$1" --kubeconfig "$KUBECONFIG" --timeout 5m >/dev/null 2>"$work/deploy.err" ||
    { cat "$work/deploy.err" >&2; exit 1; }
}
run_helm() { # digest
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$helm" upgrade --install bench "$chart" \
    --namespace bench-helm --create-namespace --kubeconfig "$KUBECONFIG" \
    --set-string "image.repository=$repo,image.digest=$1" --wait --rollback-on-failure --timeout 5m \
    >/dev/null 2>"$work/helm.err" || { cat "$work/helm.err" >&2; exit 1; }
}

# Install both releases first: the benchmark measures upgrades.
run_deploy "${digests[0]}"
run_helm "${digests[0]}"

declare -a wall_d cpu_d rss_d wall_h cpu_h rss_h
for ((i = 1; i <= rounds; i++)); do
  d=${digests[$((i % 2))]}
  for tool in $( ((i % 2)) && echo "deploy helm" || echo "helm deploy"); do
    "run_$tool" "$d"
    read -r wall user sys rss <"$work/time"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [ "$tool" = deploy ]; then wall_d+=("$wall"); cpu_d+=("$cpu"); rss_d+=("$rss")
    else wall_h+=("$wall"); cpu_h+=("$cpu"); rss_h+=("$rss"); fi
    echo "round $i $tool: wall ${wall}s cpu ${cpu}s rss ${rss}KiB" >&2
  done
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
md=$(median "${wall_d[@]}") mh=$(median "${wall_h[@]}")
echo
echo "Upgrade of testdata/charts/fx-platform (5 resources, 3 pods rolled) with --wait, median of $rounds rounds, $(nproc) cores:"
echo
echo "| tool | wall (s) | user+sys CPU (s) | peak RSS (MiB) |"
echo "|---|---|---|---|"
printf '| deploy (Helm v4 SDK) | %s | %s | %s |\n' "$md" "$(median "${cpu_d[@]}")" "$(( $(median "${rss_d[@]}" | cut -d. -f1) / 1024 ))"
printf '| helm %s CLI | %s | %s | %s |\n' "$HELM_VERSION" "$mh" "$(median "${cpu_h[@]}")" "$(( $(median "${rss_h[@]}" | cut -d. -f1) / 1024 ))"
echo
awk -v d="$md" -v h="$mh" 'BEGIN { printf "deploy / helm wall time: %.2fx\n", d / h }'
