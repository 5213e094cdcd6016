#!/usr/bin/env bash
# scripts/bench startup [ROUNDS]
#
# What an action costs before it does any work, as the README reports it:
#   - each binary's size: stripped (-trimpath -ldflags='-s -w', CGO_ENABLED=0,
#     as scripts/run-action and the Dockerfile build them) and unstripped;
#   - process start to exit for `--help`, and for a run with no inputs, which
#     parses every input and exits 1 with one ::error annotation (there is no
#     hook at "first input parsed": this is its upper bound, all inputs parsed
#     and rejected, no network);
#   - the same no-input run through scripts/run-action, as a composite action
#     step runs it: (a) binary already in the tool cache, (b) first run,
#     building the binary from source with a warm Go build cache, (c) first
#     run with an empty GOCACHE (modules already downloaded), for the
#     binaries in STARTUP_COLD (default build-push; slow; empty for none).
# Times are medians over ROUNDS runs (default 20; STARTUP_BUILDS, default 3,
# for (b)), taken from a Python loop (fork/exec to wait); /bin/true and an
# empty bash in the same loop show what the loop itself costs. Prints
# markdown tables. Nothing is compared with another tool: there is none.
# Work files live in ${BENCH_DIR:-~/.cache/deploy-actions/bench}/startup.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

rounds=${1:-20}
work="${BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deploy-actions/bench}/startup"
names=(build-push scan sign deploy verify promote rollback control monitoring migrate)
pkgs=()
for n in "${names[@]}"; do pkgs+=("./cmd/$n"); done

rm -rf "$work" && mkdir -p "$work/stripped" "$work/unstripped"
echo "building the binaries (stripped, as run-action does; and unstripped)" >&2
# The stripped build also warms the Go build cache for (b) with exactly
# run-action's flags.
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/stripped/" "${pkgs[@]}"
CGO_ENABLED=0 go build -trimpath -o "$work/unstripped/" "${pkgs[@]}"

python3 - "$work" "$rounds" "${STARTUP_BUILDS:-3}" "${STARTUP_COLD-build-push}" "${names[@]}" <<'PY'
import os, shutil, statistics, subprocess, sys, tempfile, time

work, rounds, builds, cold, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(), sys.argv[5:]
repo = os.getcwd()
go_env = lambda k: subprocess.run(["go", "env", k], capture_output=True, text=True, check=True).stdout.strip()
# A clean environment, as a runner step has: no inputs, no kubeconfig.
base_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "GITHUB_ACTIONS": "true",
            "GOCACHE": go_env("GOCACHE"), "GOMODCACHE": go_env("GOMODCACHE"), "GOFLAGS": os.environ["GOFLAGS"],
            "GOPROXY": go_env("GOPROXY")}

def timed(argv, env=None, want=None):
    """Seconds from spawn to exit; checks the exit code when want is set."""
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env if env is not None else base_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    dt = time.perf_counter() - t0
    if want is not None and p.returncode != want:
        sys.exit(f"{argv} exited {p.returncode}, want {want}:\n{p.stdout.decode()[-2000:]}")
    return dt

med = statistics.median
ms = lambda xs: f"{med(xs) * 1000:.1f} ms"
MiB = lambda path: f"{os.path.getsize(path) / (1 << 20):.1f} MiB"

print(f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
      f"{subprocess.run(['go', 'version'], capture_output=True, text=True).stdout.strip()}\n")

print("### Binary sizes\n")
print("| binary | stripped (-s -w, as released and in the image) | unstripped |")
print("|---|---|---|")
for n in names:
    print(f"| {n} | {MiB(f'{work}/stripped/{n}')} | {MiB(f'{work}/unstripped/{n}')} |")

# Direct runs, interleaved so that load from elsewhere spreads over all.
t = {k: [] for k in ["true", "bash"]}
for n in names:
    t[n, "help"], t[n, "inputs"] = [], []
for _ in range(rounds):
    t["true"].append(timed(["/bin/true"], want=0))
    t["bash"].append(timed(["bash", "-c", ":"], want=0))
    for n in names:
        b = f"{work}/stripped/{n}"
        t[n, "help"].append(timed([b, "--help"], want=0))
        t[n, "inputs"].append(timed([b], want=1))

# (a) run-action with the binary in the tool cache. The first run builds it
# (not timed); DEPLOY_ACTIONS_REF=main is a branch, so the binary is keyed
# by the hash of the source, as for a commit SHA or a local run.
def action_env(name, cache, **extra):
    return dict(base_env, DEPLOY_ACTIONS_BINARY=name, DEPLOY_ACTIONS_REF="main", RUNNER_TOOL_CACHE=cache, **extra)
cache = f"{work}/toolcache"
for n in names:
    timed(["bash", "scripts/run-action"], env=action_env(n, cache), want=1)
for n in names:
    t[n, "cached"] = []
for _ in range(rounds):
    for n in names:
        t[n, "cached"].append(timed(["bash", "scripts/run-action"], env=action_env(n, cache), want=1))

# (b) first run: an empty tool cache, a warm Go build cache.
for n in names:
    t[n, "warm"] = []
for _ in range(builds):
    for n in names:
        d = tempfile.mkdtemp(dir=work)
        t[n, "warm"].append(timed(["bash", "scripts/run-action"], env=action_env(n, d), want=1))
        shutil.rmtree(d)

# (c) first run with an empty GOCACHE as well.
for n in cold:
    d = tempfile.mkdtemp(dir=work)
    t[n, "cold"] = [timed(["bash", "scripts/run-action"], env=action_env(n, f"{d}/tools", GOCACHE=f"{d}/gocache"), want=1)]
    shutil.rmtree(d)

print(f"\n### Start-up of each binary (median of {rounds} runs, process start to exit)\n")
print("| binary | `--help` | no inputs: all inputs parsed, one ::error, exit 1 |")
print("|---|---|---|")
for n in names:
    print(f"| {n} | {ms(t[n, 'help'])} | {ms(t[n, 'inputs'])} |")
print(f"| (`/bin/true`, the loop's own cost) | {ms(t['true'])} | |")

print(f"\n### Start-up of an action through scripts/run-action (no inputs: the binary parses them and exits 1)\n")
print(f"| binary | (a) cached binary (median of {rounds}) | run-action's share of (a) | (b) first run, build from source, warm GOCACHE (median of {builds}) | (c) first run, empty GOCACHE (1 run) |")
print("|---|---|---|---|---|")
for n in names:
    share = med(t[n, "cached"]) - med(t[n, "inputs"])
    c = f"{med(t[n, 'cold']):.1f} s" if (n, "cold") in t else "not run (STARTUP_COLD)"
    print(f"| {n} | {ms(t[n, 'cached'])} | {share * 1000:.1f} ms | {med(t[n, 'warm']):.1f} s | {c} |")
print(f"\nAn empty `bash -c :` in the same loop: {ms(t['bash'])}.")
PY
