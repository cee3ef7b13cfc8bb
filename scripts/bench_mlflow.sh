#!/usr/bin/env bash
# MLflow registry benchmark (issue 28): `get_model_version_by_alias` as MlflowClient sends it,
# GET /api/2.0/mlflow/registered-models/alias?name=NAME&alias=ALIAS, under wrk, against
#  1. `mlflow server` (the same mlflow version as the pinned mlflow-skinny; its default 4 workers,
#     SQLite backend store, no auth), and
#  2. `vessel serve` (embedded defaults: SQLite, local blobs) with a Bearer token on every request
#     (Vessel has no anonymous registry reads),
# on the same data: one registered model with VERSIONS versions (default 20), the alias
# `production` on version 1; and prints the ratio of Vessel's requests per second to MLflow's
# (issue target: at least 50x). Both on loopback, one after the other, wrk with the same threads,
# connections and duration.
# Usage: scripts/bench_mlflow.sh
# env: VESSEL=binary (default: the debug build, `swift build --product vessel`; say so with the
#      figures), MLFLOW=an `mlflow` executable with the server's extras (default: one made in
#      $TMPDIR/vessel-bench-mlflow-venv with `pip install mlflow==<pinned skinny version>`:
#      mlflow-skinny alone has no Flask/SQLAlchemy/alembic and cannot run `mlflow server`),
#      DURATION (wrk seconds, default 10), THREADS (default 2), CONNECTIONS (default 16),
#      VERSIONS (default 20). Data under $TMPDIR, removed at exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DURATION="${DURATION:-10}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-16}"
VERSIONS="${VERSIONS:-20}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-mlflow.XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do
    # mlflow server forks its workers into its own process group (setsid below).
    [ -n "$p" ] && { kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; }
  done
  # MLflow's job consumers take a few seconds to stop: wait for them, then SIGKILL what is left.
  for p in "${PIDS[@]:-}"; do
    for _ in $(seq 100); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done
    [ -n "$p" ] && kill -KILL -- "-$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
if [ -z "${MLFLOW:-}" ]; then
  PIN="$(sed -n 's/^mlflow-skinny==//p' "$ROOT/scripts/requirements-test.txt")"
  VENV="${TMPDIR:-/tmp}/vessel-bench-mlflow-venv"
  if ! "$VENV/bin/mlflow" --version 2>/dev/null | grep -q "$PIN"; then
    echo "== installing mlflow==$PIN (with its server extras) in $VENV"
    python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet --disable-pip-version-check "mlflow==$PIN"
  fi
  MLFLOW="$VENV/bin/mlflow"
fi
if [ -z "${VESSEL:-}" ]; then
  echo "== building vessel (debug)"
  (cd "$ROOT" && swift build --product vessel >/dev/null)
  VESSEL="$(cd "$ROOT" && swift build --show-bin-path)/vessel"
fi
wait_up() { for _ in $(seq 600); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# Requests per second from wrk's output; non-2xx answers make the run fail.
bench() {
  local name="$1" url="$2"; shift 2
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency "$@" "$url" >"$WORK/wrk-$name.txt"
  if grep -q "Non-2xx" "$WORK/wrk-$name.txt"; then echo "$name: non-2xx answers:"; cat "$WORK/wrk-$name.txt"; exit 1; fi
  sed -n 's/^Requests\/sec: *//p' "$WORK/wrk-$name.txt"
}
latency() { awk '/Latency Distribution/{f=1;next} f&&/50%|99%/{printf "p%s %s  ", $1, $2} /requests in/{f=0}' "$WORK/wrk-$1.txt"; }

NAME="acme~demo"   # Vessel's flat MLflow name of acme/demo (decision 0028); the same name in MLflow.

echo "== mlflow server ($("$MLFLOW" --version)), SQLite, default workers, no auth"
MPORT=$((20000 + RANDOM % 10000))
mkdir -p "$WORK/mlflow"
(cd "$WORK/mlflow" && exec setsid "$MLFLOW" server --backend-store-uri "sqlite:///$WORK/mlflow/mlflow.db" \
  --default-artifact-root "$WORK/mlflow/artifacts" --host 127.0.0.1 --port "$MPORT" >"$WORK/mlflow.log" 2>&1) & PIDS+=("$!")
wait_up "http://127.0.0.1:$MPORT/health" || { echo "mlflow server did not start"; tail -n 30 "$WORK/mlflow.log"; exit 1; }
M="http://127.0.0.1:$MPORT/api/2.0/mlflow"
post() { curl -fsS -X POST -H 'Content-Type: application/json' "$@" >/dev/null; }
post "$M/registered-models/create" -d "{\"name\": \"$NAME\"}"
for v in $(seq "$VERSIONS"); do
  # A remote source: MLflow refuses a local path that is not inside a run's artifacts.
  post "$M/model-versions/create" -d "{\"name\": \"$NAME\", \"source\": \"s3://bench/acme/demo/$v\"}"
done
post "$M/registered-models/alias" -d "{\"name\": \"$NAME\", \"alias\": \"production\", \"version\": \"1\"}"
MURL="$M/registered-models/alias?name=$NAME&alias=production"
curl -fsS "$MURL" | grep -q '"version": *"1"' || { echo "mlflow does not answer the alias: $(curl -sS "$MURL")"; exit 1; }

echo "== vessel serve ($VESSEL), embedded, token on every request"
TOKEN="vsl_bench-mlflow-$RANDOM$RANDOM"
export VESSEL_ADMIN_TOKEN="$TOKEN" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"
VPORT=$((20000 + RANDOM % 10000))
while [ "$VPORT" = "$MPORT" ]; do VPORT=$((20000 + RANDOM % 10000)); done
"$VESSEL" serve --data-dir "$WORK/vessel" --port "$VPORT" --log-level warning >"$WORK/serve.log" 2>&1 & PIDS+=("$!")
wait_up "http://127.0.0.1:$VPORT/healthz" || { echo "vessel serve did not start"; tail -n 30 "$WORK/serve.log"; exit 1; }
export VESSEL_SERVER="http://127.0.0.1:$VPORT" VESSEL_TOKEN="$TOKEN"
for v in $(seq "$VERSIONS"); do
  mkdir -p "$WORK/src/$v"
  echo "{\"version\": $v}" >"$WORK/src/$v/config.json"
  "$VESSEL" push "$WORK/src/$v" --model acme/demo >/dev/null
done
"$VESSEL" alias set acme/demo production 1 >/dev/null
VURL="http://127.0.0.1:$VPORT/api/2.0/mlflow/registered-models/alias?name=$NAME&alias=production"
curl -fsS -H "Authorization: Bearer $TOKEN" "$VURL" | grep -q '"version": *"1"' || { echo "vessel does not answer the alias: $(curl -sS -H "Authorization: Bearer $TOKEN" "$VURL")"; exit 1; }

echo "== wrk -t $THREADS -c $CONNECTIONS -d ${DURATION}s GET /api/2.0/mlflow/registered-models/alias (get_model_version_by_alias)"
# A warm-up run each, not counted (MLflow's workers import lazily and start job consumers).
bench warmup-mlflow "$MURL" >/dev/null
MRPS="$(bench mlflow "$MURL")"
echo "mlflow server: $MRPS requests/s   $(latency mlflow)"
bench warmup-vessel "$VURL" -H "Authorization: Bearer $TOKEN" >/dev/null
VRPS="$(bench vessel "$VURL" -H "Authorization: Bearer $TOKEN")"
echo "vessel serve:  $VRPS requests/s   $(latency vessel)"
awk -v v="$VRPS" -v m="$MRPS" 'BEGIN { r = v / m; printf "ratio vessel/mlflow: %.1fx (target >= 50x): %s\n", r, (r >= 50 ? "met" : "NOT met") }'
