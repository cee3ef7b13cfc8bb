#!/usr/bin/env bash
# Search and registration benchmark (issue 27), one run: Vessel on embedded SQLite, Vessel on
# PostgreSQL, and `mlflow server`, each filled through its API with the same workload
# (scripts/bench_search.py: MODELS models, versions up to each of LEVELS, 1 then CLIENTS
# clients), then versions/s and page latencies side by side with the ratios.
#
#   scripts/bench_search.sh [MODELS] [LEVELS]        defaults: 1000 and 10000,100000
#   POSTGRES=postgres://user:pw@host:port/db  an admin URL: a scratch database is created on it
#                     for the run and dropped after (omit to skip PostgreSQL)
#   MLFLOW_PYTHON=path a python that can `-m mlflow server` (full mlflow, not mlflow-skinny:
#                     it needs flask/fastapi; PYTHONPATH is passed on); MLFLOW=0 skips it
#   VESSEL_BIN=path   the vessel binary (default .build/debug/vessel: say which in any figure)
#   CLIENTS=8         BACKENDS="sqlite postgres mlflow" to choose
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODELS="${1:-1000}"
LEVELS="${2:-10000,100000}"
VESSEL="${VESSEL_BIN:-${VESSEL:-$ROOT/.build/debug/vessel}}"
CLIENTS="${CLIENTS:-8}"
BACKENDS="${BACKENDS:-sqlite postgres mlflow}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-search.XXXXXX")"
SUMMARY="$WORK/summary.jsonl"
PID=""; SCRATCH=""
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi; }
cleanup() {
  stop
  if [ -n "$SCRATCH" ]; then psql "$POSTGRES" -qAtc "DROP DATABASE IF EXISTS $SCRATCH" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_ready() { # URL LOG
  for _ in $(seq 1 300); do curl -sf "$1" >/dev/null && return 0; kill -0 "$PID" 2>/dev/null || break; sleep 0.2; done
  echo "server did not start:"; tail -20 "$2"; exit 1
}
export VESSEL_ADMIN_TOKEN="vsl_bench-search-$RANDOM$RANDOM"
echo "== search bench: $MODELS models, versions at $LEVELS, $CLIENTS clients, $("$VESSEL" --version) ($VESSEL), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

run_vessel() { # LABEL [--database URL]
  local label="$1"; shift
  local port; port=$(free_port)
  "$VESSEL" serve --data-dir "$WORK/$label" --port "$port" --log-level warning "$@" >"$WORK/$label.log" 2>&1 & PID=$!
  wait_ready "http://127.0.0.1:$port/readyz" "$WORK/$label.log"
  echo "== vessel, $label"
  python3 "$ROOT/scripts/bench_search.py" vessel "http://127.0.0.1:$port" "$VESSEL_ADMIN_TOKEN" "$MODELS" "$LEVELS" "$CLIENTS" "$SUMMARY.$label" \
    || { echo "bench failed; server log:"; tail -20 "$WORK/$label.log"; exit 1; }
  stop
}

for backend in $BACKENDS; do
  case "$backend" in
    sqlite) run_vessel sqlite ;;
    postgres)
      if [ -z "${POSTGRES:-}" ]; then echo "== postgres: skipped (set POSTGRES=postgres://… an admin URL)"; continue; fi
      SCRATCH="vessel_bench_search_$$"
      psql "$POSTGRES" -qAtc "CREATE DATABASE $SCRATCH" >/dev/null
      run_vessel postgres --database "${POSTGRES%/*}/$SCRATCH"
      psql "$POSTGRES" -qAtc "DROP DATABASE $SCRATCH" >/dev/null; SCRATCH="" ;;
    mlflow)
      [ "${MLFLOW:-1}" = 0 ] && continue
      py="${MLFLOW_PYTHON:-python3}"
      if ! "$py" -c 'import mlflow.server, flask' 2>/dev/null; then echo "== mlflow: skipped ($py cannot import mlflow.server: install mlflow, not mlflow-skinny, or set MLFLOW_PYTHON/PYTHONPATH)"; continue; fi
      port=$(free_port)
      "$py" -m mlflow server --backend-store-uri "sqlite:///$WORK/mlflow.db" --host 127.0.0.1 --port "$port" --workers 1 >"$WORK/mlflow.log" 2>&1 & PID=$!
      wait_ready "http://127.0.0.1:$port/health" "$WORK/mlflow.log"
      echo "== mlflow server $("$py" -c 'import mlflow; print(mlflow.__version__)'), SQLite backend store, 1 worker"
      python3 "$ROOT/scripts/bench_search.py" mlflow "http://127.0.0.1:$port" - "$MODELS" "$LEVELS" "$CLIENTS" "$SUMMARY.mlflow"
      stop ;;
    *) echo "unknown backend $backend"; exit 2 ;;
  esac
done

python3 - "$SUMMARY" <<'PY'
import glob, json, sys
runs = {}
for name in ["sqlite", "postgres", "mlflow"]:
    for path in glob.glob(sys.argv[1] + "." + name):
        runs[name] = json.loads(open(path).read().splitlines()[-1])
if not runs: sys.exit(0)
names = list(runs)
print(f"\n== side by side (pages: p50 ms; registering: versions/s); ratio = column / {names[0]}")
print(f"{'':46s}" + "".join(f"{n:>14s}" for n in names) + "".join(f"{'ratio ' + n:>16s}" for n in names[1:]))
def row(label, values):
    base = values[0]
    cells = "".join(f"{v:14.2f}" if v is not None else f"{'-':>14s}" for v in values)
    ratios = "".join(f"{(v / base):16.2f}" if v is not None and base else f"{'-':>16s}" for v in values[1:])
    print(f"{label:46s}{cells}{ratios}")
for key, label in [("rate1", "register versions/s, 1 client"), ("rate8", "register versions/s, 8 clients"), ("p99_8", "register p99 ms, 8 clients")]:
    row(label, [runs[n].get(key) for n in names])
levels = list(runs[names[0]]["levels"])
for level in levels:
    labels = list(runs[names[0]]["levels"][level])
    for label in labels:
        row(f"{level} v: {label}"[:46], [runs[n]["levels"].get(level, {}).get(label) for n in names])
PY
