#!/usr/bin/env bash
# Lineage at scale (issue 25 benchmark; figures in docs/lineage.md "Benchmark"): a graph of TOTAL
# nodes (dataset revisions, runs and versions) and their edges, on embedded SQLite and on
# PostgreSQL; `vessel lineage dataset:bench/raw:1 --down --json` from a revision used by HOT
# versions (through HOT runs), and the API route behind it, timed RUNS times each (p50, p99;
# target p99 < 50 ms). Per backend: a fresh registry under /tmp is seeded through the API (SEED
# dataset revisions, SEED runs reading bench/raw:1, SEED versions pushed with a run: the API fill
# rate is printed), then filled in bulk with SQL in the store's own schema while the server is
# stopped (scripts/bench_lineage.py fill), then checked: node and edge counts in the database,
# and the `lineage` answer has exactly 1 + 2*HOT nodes and 2*HOT edges; a bulk version's `lineage`
# up reaches its run and its dataset's whole chain. A p99 over 50 ms prints the plans of the walk.
#
#   scripts/bench_lineage.sh [TOTAL] [HOT]     defaults: 100000 and 1000
#   POSTGRES=postgres://user:pw@host:port/db  an admin URL: a scratch database is made on it and
#                     dropped after (default: the tests' server on 127.0.0.1:54329; POSTGRES=
#                     skips PostgreSQL)
#   VESSEL_BIN=path   the vessel binary (default .build/debug/vessel: say which in any figure)
#   FILL=auto|api|sql  auto (default): all through the API when the seed's rate says TOTAL nodes take
#                     at most API_BUDGET seconds (default 600) on that backend, else the SQL bulk fill
#   BACKENDS="sqlite postgres"  RUNS=50  SEED=100
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOTAL="${1:-100000}"; HOT="${2:-1000}"
VESSEL="${VESSEL_BIN:-${VESSEL:-$ROOT/.build/debug/vessel}}"
BACKENDS="${BACKENDS:-sqlite postgres}"
POSTGRES="${POSTGRES-postgres://vessel:vessel@127.0.0.1:54329/vessel}"
RUNS="${RUNS:-50}"; SEED="${SEED:-100}"; FILL="${FILL:-auto}"; API_BUDGET="${API_BUDGET:-600}"
PY="$ROOT/scripts/bench_lineage.py"
WORK="$(mktemp -d /tmp/vessel-bench-lineage.XXXXXX)"
PID=""; SCRATCH=""
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi; }
cleanup() {
  stop
  if [ -n "$SCRATCH" ]; then psql "$POSTGRES" -qAtc "DROP DATABASE IF EXISTS $SCRATCH" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export VESSEL_ADMIN_TOKEN="vsl_bench-lineage-$RANDOM$RANDOM" XDG_CONFIG_HOME=/nonexistent-vessel-config
PORT=""
start() { # DATADIR [serve options]
  local dir="$1"; shift
  PORT=$(free_port)
  "$VESSEL" serve --data-dir "$dir" --port "$PORT" --log-level warning "$@" >>"$dir.log" 2>&1 & PID=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; kill -0 "$PID" 2>/dev/null || break; sleep 0.2; done
  echo "server did not start:"; tail -20 "$dir.log"; exit 1
}
cli() { VESSEL_SERVER="http://127.0.0.1:$PORT" VESSEL_TOKEN="$VESSEL_ADMIN_TOKEN" "$VESSEL" "$@"; }

echo "== lineage at scale: $TOTAL nodes, a revision used by $HOT versions; $("$VESSEL" --version) ($VESSEL); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for backend in $BACKENDS; do
  t0=$(date +%s)
  dir="$WORK/$backend"; opts=()
  case "$backend" in
    sqlite) db="sqlite:$dir/metadata.sqlite" ;;
    postgres)
      if [ -z "$POSTGRES" ]; then echo "== postgres: skipped (POSTGRES is empty)"; continue; fi
      SCRATCH="vessel_bench_lineage_$$"
      psql "$POSTGRES" -qAtc "CREATE DATABASE $SCRATCH" >/dev/null
      db="${POSTGRES%/*}/$SCRATCH"; opts=(--database "$db") ;;
    *) echo "unknown backend $backend"; exit 2 ;;
  esac
  echo "== $backend"
  start "$dir" "${opts[@]}"
  python3 "$PY" seed "http://127.0.0.1:$PORT" "$VESSEL_ADMIN_TOKEN" "$SEED" | tee "$WORK/seed.txt" | sed -n 1p
  rate=$(tail -1 "$WORK/seed.txt" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes_per_s"])')
  mode="$FILL"
  if [ "$mode" = auto ]; then
    mode=$(python3 -c "print('api' if $TOTAL / $rate <= $API_BUDGET else 'sql')")
    echo "   the whole fill through the API would take ~$(python3 -c "print(round($TOTAL / $rate))") s (budget $API_BUDGET s): fill by $mode"
  fi
  if [ "$mode" = api ]; then
    python3 "$PY" apifill "http://127.0.0.1:$PORT" "$VESSEL_ADMIN_TOKEN" "$TOTAL" "$HOT" "$SEED"
    python3 "$PY" count "$db" "   (all through the API)"
  else
    stop
    python3 "$PY" fill "$db" "$TOTAL" "$HOT"
    start "$dir" "${opts[@]}"
  fi
  # Consistency: the answer's counts are what was inserted.
  cli lineage dataset:bench/raw:1 --down --json >"$WORK/hot.json"
  python3 - "$WORK/hot.json" "$HOT" <<'PY'
import collections, json, sys
g = json.load(open(sys.argv[1])); hot = int(sys.argv[2])
kinds = collections.Counter(n["kind"] for n in g["nodes"]); ek = collections.Counter(e["kind"] for e in g["edges"])
ok = len(g["nodes"]) == 1 + 2 * hot and len(g["edges"]) == 2 * hot and kinds == {"dataset": 1, "run": hot, "version": hot} \
     and ek == {"trained_on": hot, "produced": hot} and not g["truncated"] and g.get("hidden", 0) == 0
print(f"   check {'ok  ' if ok else 'FAIL'} vessel lineage dataset:bench/raw:1 --down --json: {len(g['nodes'])} nodes {dict(kinds)}, "
      f"{len(g['edges'])} edges {dict(ek)}, expected {1 + 2 * hot} and {2 * hot}")
sys.exit(0 if ok else 1)
PY
  n=$(cli versions bench/bg --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["version"])')
  cli lineage "bench/bg:$n" --up --json | python3 -c '
import collections, json, sys
g = json.load(sys.stdin); k = collections.Counter(x["kind"] for x in g["nodes"])
ok = k["version"] == 1 and k["run"] == 1 and k["dataset"] >= 1 and len(g["edges"]) == len(g["nodes"]) - 1
word = "ok  " if ok else "FAIL"
ne = len(g["edges"])
print(f"   check {word} vessel lineage bench/bg:%s --up (a bulk version): {dict(k)}, {ne} edges" % sys.argv[1])
sys.exit(0 if ok else 1)' "$n"
  # Timing: the CLI (process start included) and the route alone.
  python3 - "$RUNS" "$VESSEL" "$PORT" <<'PY'
import os, subprocess, sys, time
runs, vessel, port = int(sys.argv[1]), sys.argv[2], sys.argv[3]
env = dict(os.environ, VESSEL_SERVER=f"http://127.0.0.1:{port}", VESSEL_TOKEN=os.environ["VESSEL_ADMIN_TOKEN"])
t = []
for _ in range(runs):
    s = time.perf_counter()
    subprocess.run([vessel, "lineage", "dataset:bench/raw:1", "--down", "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
    t.append((time.perf_counter() - s) * 1000)
t.sort(); p99 = t[min(len(t) - 1, -(-99 * len(t) // 100) - 1)]
print(f"   CLI vessel lineage dataset:bench/raw:1 --down --json: {runs} calls p50 {t[len(t) // 2]:.1f} ms, p99 {p99:.1f} ms, max {t[-1]:.1f} ms")
PY
  python3 "$PY" measure "http://127.0.0.1:$PORT" "$VESSEL_ADMIN_TOKEN" "$RUNS" | tee "$WORK/measure.txt" | sed -n 1p | sed 's/^/   /'
  stop
  p99=$(tail -1 "$WORK/measure.txt" | python3 -c 'import json,sys; print(json.load(sys.stdin)["p99"])')
  if python3 -c "import sys; sys.exit(0 if $p99 > 50 else 1)"; then
    echo "   p99 over 50 ms: the plans of the walk's main queries"; python3 "$PY" explain "$db" | sed 's/^/      /'
  fi
  if [ "$backend" = postgres ]; then psql "$POSTGRES" -qAtc "DROP DATABASE $SCRATCH" >/dev/null; SCRATCH=""; fi
  echo "== $backend: $(( $(date +%s) - t0 )) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
