#!/usr/bin/env bash
# scripts/bench scan [ROUNDS]
#
# The same image archive scanned with the same offline OSV database by scan
# (CLI mode) and by the osv-scanner CLI (pinned, built from the Go module
# proxy), in the same run, alternating which goes first. The image holds
# this machine's real dpkg status file (Debian 12, every installed
# package), testdata/scan's npm lockfile with its packages installed in
# node_modules, and the osv-scanner binary itself
# as a Go binary with its build info (hundreds of modules); the database is
# testdata/scan/osv as <ecosystem>/all.zip. Measured with /usr/bin/time:
# wall, user+sys CPU, peak RSS. Prints a markdown table and whether both
# tools report the same set of (advisory, version) findings.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

OSV_SCANNER_VERSION=v2.2.4
CRANE_VERSION=v0.22.1
rounds=${1:-5}
work="${BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deploy-actions/bench}/scan"
bin="$work/bin"
mkdir -p "$bin"

need=()
[ -x /usr/bin/time ] || need+=(time)
command -v docker-registry >/dev/null || need+=(docker-registry)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
if [ ! -x "$bin/osv-scanner-$OSV_SCANNER_VERSION" ]; then
  echo "installing osv-scanner $OSV_SCANNER_VERSION (go install, a few minutes)" >&2
  GOBIN="$bin" CGO_ENABLED=0 go install "github.com/google/osv-scanner/v2/cmd/osv-scanner@$OSV_SCANNER_VERSION" >&2
  mv "$bin/osv-scanner" "$bin/osv-scanner-$OSV_SCANNER_VERSION"
fi
if [ ! -x "$bin/crane-$CRANE_VERSION" ]; then
  GOBIN="$bin" go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" >&2
  mv "$bin/crane" "$bin/crane-$CRANE_VERSION"
fi
osvscanner="$bin/osv-scanner-$OSV_SCANNER_VERSION"
crane="$bin/crane-$CRANE_VERSION"
go build -o "$bin/scan" ./cmd/scan
go build -o "$bin/build-push" ./cmd/build-push

# The offline database, in the layout both tools read.
rm -rf "$work/db" && mkdir -p "$work/db/osv-scanner"
for eco in testdata/scan/osv/*/; do
  name=$(basename "$eco")
  mkdir -p "$work/db/osv-scanner/$name"
  python3 - "$eco" "$work/db/osv-scanner/$name/all.zip" <<'PY'
import sys, zipfile, pathlib
src, dst = pathlib.Path(sys.argv[1]), sys.argv[2]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(src.glob("*.json")):
        z.write(f, f.name)
PY
done

# The image, built by build-push into a local docker-registry, then saved
# as a docker archive by crane.
ctx="$work/context"
rm -rf "$ctx" && mkdir -p "$ctx/rootfs/etc" "$ctx/rootfs/var/lib/dpkg" "$ctx/rootfs/app" "$ctx/rootfs/usr/local/bin"
cp /etc/os-release "$ctx/rootfs/etc/os-release"
cp /var/lib/dpkg/status "$ctx/rootfs/var/lib/dpkg/status"
cp testdata/scan/rootfs/app/package-lock.json "$ctx/rootfs/app/"
# The lockfile's packages installed, as npm ci leaves them: osv-scanner's
# image scan reads installed node_modules, not lockfiles.
for pv in express@4.21.2 lodash@4.17.15 minimist@1.2.5; do
  mkdir -p "$ctx/rootfs/app/node_modules/${pv%@*}"
  printf '{"name": "%s", "version": "%s"}\n' "${pv%@*}" "${pv#*@}" >"$ctx/rootfs/app/node_modules/${pv%@*}/package.json"
done
cp "$osvscanner" "$ctx/rootfs/usr/local/bin/osv-scanner"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
log: {level: error}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
ref=$(SOURCE_DATE_EPOCH=1764000000 "$bin/build-push" --image "127.0.0.1:$port/bench/scan" --context "$ctx" \
  --files "rootfs:/" --tags bench --insecure-registries "127.0.0.1:$port" | sed -n 's/^image-ref=//p')
"$crane" pull --insecure "$ref" "$work/image.tar"
echo "image $ref ($(du -h "$work/image.tar" | cut -f1) archive, $(grep -c '^Package:' /var/lib/dpkg/status) dpkg packages)" >&2

run_scan() {
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin/scan" --image "$ref" --image-tarball "$work/image.tar" \
    --osv-db "$work/db/osv-scanner" --severity-threshold none --sarif-file "" --json-file "$work/scan.json" \
    >/dev/null 2>"$work/scan.err" || { cat "$work/scan.err" >&2; exit 1; }
}
run_osv() {
  # osv-scanner exits 1 when it finds vulnerabilities; 127 and above are errors.
  set +e
  OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY="$work/db" /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    "$osvscanner" scan image --archive "$work/image.tar" --offline-vulnerabilities --format json \
    --output "$work/osv.json" >/dev/null 2>"$work/osv.err"
  code=$?
  set -e
  [ "$code" -le 1 ] || { cat "$work/osv.err" >&2; exit 1; }
}

: >"$work/times"
for i in $(seq "$rounds"); do
  if [ $((i % 2)) = 1 ]; then order="scan osv"; else order="osv scan"; fi
  for tool in $order; do
    "run_$tool"
    echo "$tool $(tail -n1 "$work/time")" >>"$work/times"
  done
done

python3 - "$work" <<'PY'
import json, statistics, sys
work = sys.argv[1]
rows = {}
for line in open(f"{work}/times"):
    tool, wall, user, sys_, rss = line.split()
    rows.setdefault(tool, []).append((float(wall), float(user) + float(sys_), int(rss)))
def med(xs): return statistics.median(xs)
print("| tool | wall (median) | CPU user+sys (median) | peak RSS (median) | rounds |")
print("|---|---|---|---|---|")
names = {"scan": "scan (deploy-actions)", "osv": "osv-scanner v2.2.4"}
for tool in ("scan", "osv"):
    r = rows[tool]
    print(f"| {names[tool]} | {med([x[0] for x in r]):.2f} s | {med([x[1] for x in r]):.2f} s | {med([x[2] for x in r])/1024:.0f} MiB | {len(r)} |")
ratio = med([x[0] for x in rows["scan"]]) / med([x[0] for x in rows["osv"]])
print(f"\nscan / osv-scanner wall time: {ratio:.2f}x")

eco = lambda e: e.split(":")[0]
ours = {(eco(f["ecosystem"]), f["id"], f["version"]) for f in json.load(open(f"{work}/scan.json"))["findings"]}
theirs = set()
for res in json.load(open(f"{work}/osv.json")).get("results", []):
    for p in res.get("packages", []):
        for v in p.get("vulnerabilities", []):
            theirs.add((eco(p["package"]["ecosystem"]), v["id"], p["package"]["version"]))
print(f"findings (ecosystem, advisory, version): scan {len(ours)}, osv-scanner {len(theirs)}; same set: {ours == theirs}")
for x in sorted(ours - theirs): print(f"  only scan: {x}")
for x in sorted(theirs - ours): print(f"  only osv-scanner: {x}")
both = {e for e, _, _ in theirs}
print(f"same set in the ecosystems osv-scanner reports ({', '.join(sorted(both))}): {({x for x in ours if x[0] in both}) == theirs}")
PY
