#!/usr/bin/env bash
# Node agent benchmark (issue 24; release build, loopback only, generated data under /tmp):
#  - 20 `vessel agent --slot live` processes (one shared --cache-dir) following one deployment
#    whose two versions they hold: the time from sending `rollback` (through the API) after a
#    completed rollout until all 20 `/health/version` answers show the restored digest, p50 and
#    p99 over 200 rollbacks (each round: deploy v2 --steps 100, advance — the agents switch to
#    it — then the measured rollback);
#  - an agent's RSS 60 s after its last switch;
#  - start to serving with a 2 GiB version cached: a restarted agent (DIR/current in place), and
#    a new agent with a fresh DIR on the same cache (materialized from the cache by hard links).
#
#   scripts/bench_agents.sh [CHANGES=200] [AGENTS=20] [BIG_MIB=2048]
#
# Targets: rollback to all agents p99 < 500 ms; RSS < 30 MB; start to serving < 1 s. Do not run it
# while a build or tests are running: on a shared 2-core machine they move every figure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CHANGES="${1:-200}"
AGENTS="${2:-20}"
BIG_MIB="${3:-2048}"
# BUILD=debug runs the debug binary already built (no build step; figures are pessimistic).
BUILD="${BUILD:-release}"
if [ "$BUILD" = release ]; then
  echo "== building vessel (release)"
  (cd "$ROOT" && swift build -c release --product vessel >/dev/null)
  BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/vessel"
else
  BIN="$ROOT/.build/debug/vessel"
fi
echo "== $BIN"
WORK="$(mktemp -d /tmp/vessel-bench-agents.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT="$(free_port)"
export VESSEL_ADMIN_TOKEN=vsl_bench-agents-admin VESSEL_TOKEN=vsl_bench-agents-admin VESSEL_SERVER="http://127.0.0.1:$PORT" XDG_CONFIG_HOME=/nonexistent-vessel-config
"$BIN" serve --data-dir "$WORK/data" --port "$PORT" --log-level warning >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do "$BIN" whoami >/dev/null 2>&1 && break; sleep 0.1; done

echo "== two versions (1 MiB each), deployed and rolled out once"
mkdir -p "$WORK/m"
for n in 1 2; do
  head -c 1048576 /dev/urandom >"$WORK/m/weights.bin"
  echo "{\"n\": $n}" >"$WORK/m/config.json"
  "$BIN" push "$WORK/m" --model acme/m >/dev/null
done
"$BIN" deploy acme/m:1 --env prod-eu >/dev/null

echo "== $AGENTS agents"
AGENT_PORTS=()
for i in $(seq "$AGENTS"); do
  p="$(free_port)"
  AGENT_PORTS+=("$p")
  "$BIN" agent acme/m --env prod-eu --dir "$WORK/agent-$i" --cache-dir "$WORK/cache" --listen "127.0.0.1:$p" --node "bench-$i" \
    >"$WORK/agent-$i.log" 2>&1 &
  PIDS+=($!)
  echo "$!" >"$WORK/agent-$i.pid"
done

python3 - "$CHANGES" "$PORT" "${AGENT_PORTS[@]}" <<'EOF'
import http.client, json, os, statistics, sys, time
changes, port, agents = int(sys.argv[1]), int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
token = os.environ["VESSEL_TOKEN"]
api = http.client.HTTPConnection("127.0.0.1", port)
conns = {p: http.client.HTTPConnection("127.0.0.1", p) for p in agents}

def call(method, path, body=None):
    api.request(method, "/api/v1/models/acme/m/deployments/prod-eu" + path, body=json.dumps(body) if body is not None else None,
                headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = api.getresponse(); data = r.read()
    if r.status >= 300: raise SystemExit(f"{method} {path}: {r.status} {data[:300]}")
    return json.loads(data)

def health(p):
    c = conns[p]
    try:
        c.request("GET", "/health/version"); r = c.getresponse(); return json.loads(r.read())
    except Exception:
        conns[p] = http.client.HTTPConnection("127.0.0.1", p); return None

def wait_all(digest, timeout=60):
    pending = set(agents); deadline = time.monotonic() + timeout
    while pending:
        for p in list(pending):
            h = health(p)
            if h and h.get("digest") == digest and h.get("state") == "in_sync": pending.discard(p)
        if time.monotonic() > deadline: raise SystemExit(f"agents {sorted(pending)} never showed {digest}")
    return time.monotonic()

dep = call("GET", "")
digests = {}
for n in (1, 2):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", f"/api/v1/models/acme/m/versions/{n}", headers={"Authorization": "Bearer " + token})
    digests[n] = json.loads(conn.getresponse().read())["digest"]
wait_all(digests[1], timeout=120)
# Warm-up round: every agent holds both versions.
call("POST", "", {"version": 2, "steps": [100]}); call("POST", "/advance", {}); wait_all(digests[2])
call("POST", "/rollback", {}); wait_all(digests[1])
samples = []
for i in range(changes):
    call("POST", "", {"version": 2, "steps": [100]})
    call("POST", "/advance", {})
    wait_all(digests[2])
    start = time.monotonic()
    call("POST", "/rollback", {})
    samples.append((wait_all(digests[1]) - start) * 1000)
samples.sort()
q = lambda f: samples[min(len(samples) - 1, int(round(f * (len(samples) - 1))))]
print(f"rollback to all {len(agents)} agents' /health/version: p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {samples[-1]:.1f} ms over {changes} rollbacks")
EOF

echo "== RSS 60 s after the last switch"
sleep 60
PID1="$(cat "$WORK/agent-1.pid")"
RSS_KB="$(awk '/VmRSS/ {print $2}' "/proc/$PID1/status")"
echo "agent RSS 60 s after its last switch: $((RSS_KB / 1024)) MiB (${RSS_KB} kB)"

echo "== start to serving with a ${BIG_MIB} MiB version cached"
for pid in "${PIDS[@]:1}"; do kill "$pid" 2>/dev/null || true; done
mkdir -p "$WORK/big"
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$WORK/big/weights.bin"
echo '{"big": true}' >"$WORK/big/config.json"
"$BIN" push "$WORK/big" --model acme/m >/dev/null
rm -rf "$WORK/big" "$WORK/m"
"$BIN" deploy acme/m:3 --env prod-eu --steps 100 >/dev/null
"$BIN" deploy advance acme/m --env prod-eu >/dev/null
"$BIN" agent acme/m --env prod-eu --dir "$WORK/big-agent" --cache-dir "$WORK/cache" --once --json >/dev/null
DIGEST="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["current"]["digest"])' "$WORK/big-agent/state.json")"
time_to_serving() {  # DIR: milliseconds from exec to /health/version showing the big digest
  local dir="$1" p
  p="$(free_port)"
  python3 - "$BIN" "$dir" "$WORK/cache" "$p" "$DIGEST" <<'EOF'
import json, subprocess, sys, time, urllib.request
binary, d, cache, port, digest = sys.argv[1:]
start = time.monotonic()
agent = subprocess.Popen([binary, "agent", "acme/m", "--env", "prod-eu", "--dir", d, "--cache-dir", cache, "--listen", f"127.0.0.1:{port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        try:
            h = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/health/version", timeout=1))
            if h.get("digest") == digest and h.get("state") == "in_sync": break
        except Exception:
            pass
        if time.monotonic() - start > 120: raise SystemExit("never served")
        time.sleep(0.002)
    print(f"{(time.monotonic() - start) * 1000:.0f}")
finally:
    agent.terminate(); agent.wait()
EOF
}
for run in 1 2 3; do
  echo "restart with DIR/current in place (run $run): $(time_to_serving "$WORK/big-agent") ms"
done
for run in 1 2 3; do
  echo "new DIR on the same cache (run $run): $(time_to_serving "$WORK/fresh-$run") ms"
done
