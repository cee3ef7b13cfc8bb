#!/usr/bin/env bash
# Time to recover from a PostgreSQL outage (issue 22): from PostgreSQL accepting connections
# again to the first successful push, p50 and p99 over N crash-restarts after outages of about
# OUTAGE seconds, then one LONG-second outage. Release build; a PRIVATE PostgreSQL cluster on a
# free port under a temporary folder (scripts/services.sh with VESSEL_PG_PORT and
# VESSEL_SERVICES_DIR), never the shared test instance; loopback only.
#
#   scripts/bench_recovery.sh [N=20] [OUTAGE=10] [LONG=60]      (LONG=0 skips the long outage)
#
# Each round: `pg_ctl -m immediate stop` (a crash), wait OUTAGE seconds while a client keeps
# pushing (each attempt fails with 503 and Retry-After), restart (the script returns once the
# server accepts connections: t0), then push until one succeeds (t1). A push is what `vessel
# push` does for a new one-file model version, by curl: draft, blob upload, commit; every
# attempt is new content, so it writes. Attempts follow each other at once (no client back-off),
# so the figure is the server's recovery, not a client's retry schedule.
# Environment: VESSEL_BIN=path (a prebuilt release `vessel`), BACKEND_TIMEOUT (default 5s).
# Target: p99 < 3 s.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
OUTAGE=${2:-10}
LONG=${3:-60}
BACKEND_TIMEOUT=${BACKEND_TIMEOUT:-5s}
TOKEN=vsl_bench-recovery-admin

if [ -z "${VESSEL_BIN:-}" ]; then
  echo "== building vessel (release)" >&2
  swift build -c release --product vessel >/dev/null
  VESSEL_BIN="$(swift build -c release --show-bin-path)/vessel"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

WORK=$(mktemp -d /tmp/vessel-bench-recovery-XXXXXX)
chmod 755 "$WORK"
PG_PORT=$(free_port)
export VESSEL_SERVICES_DIR="$WORK/services" VESSEL_PG_PORT="$PG_PORT" VESSEL_PG_SETTINGS="synchronous_commit=on"
mkdir -p "$VESSEL_SERVICES_DIR"; chmod 755 "$VESSEL_SERVICES_DIR"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  scripts/services.sh stop-postgres >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== private PostgreSQL on 127.0.0.1:$PG_PORT" >&2
eval "$(scripts/services.sh start-postgres)"
DB_URL=$VESSEL_TEST_POSTGRES_URL
case "$DB_URL" in *":$PG_PORT/"*) ;; *) echo "not the private cluster: $DB_URL" >&2; exit 1 ;; esac

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
VESSEL_ADMIN_TOKEN=$TOKEN "$VESSEL_BIN" serve --data-dir "$WORK/data" --port "$PORT" --database "$DB_URL" \
  --backend-timeout "$BACKEND_TIMEOUT" --log-level notice >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 300); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/readyz" >/dev/null || { echo "vessel did not start:"; tail -20 "$WORK/serve.log"; exit 1; } >&2

now() { date +%s.%N; }
AUTH=(-H "authorization: Bearer $TOKEN")
COUNTER=0
# One push of new content: a small safetensors file. Exit 0 when the version was committed.
push_once() {
  COUNTER=$((COUNTER + 1))
  local file="$WORK/w.safetensors" header digest size draft id
  header="{\"w\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},\"__metadata__\":{\"n\":\"$COUNTER-$RANDOM$RANDOM\"}}"
  python3 - "$file" "$header" "$COUNTER" <<'PY'
import struct, sys
header = sys.argv[2].encode()
header += b" " * (-len(header) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + struct.pack("<i", int(sys.argv[3])))
PY
  digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
  size=$(stat -c %s "$file")
  draft=$(curl -s -m 30 "${AUTH[@]}" -H 'content-type: application/json' -X POST "$BASE/api/v1/models/bench/recovery/drafts" \
    -d "{\"files\":[{\"path\":\"w.safetensors\",\"size\":$size,\"digest\":\"$digest\"}],\"description\":null}") || return 1
  id=$(printf '%s' "$draft" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("draft_id",""))' 2>/dev/null) || return 1
  [ -n "$id" ] || return 1
  curl -sf -m 30 "${AUTH[@]}" -X PUT --data-binary "@$file" "$BASE/api/v1/models/bench/recovery/blobs/$digest" >/dev/null || return 1
  curl -sf -m 30 "${AUTH[@]}" -X POST "$BASE/api/v1/models/bench/recovery/drafts/$id/commit" >/dev/null || return 1
}

push_once || { echo "the first push failed before any outage:"; tail -20 "$WORK/serve.log"; exit 1; } >&2
# What a push (and this script's own work around it: python, sha256sum, three curls) takes with
# PostgreSQL up: the floor under every recovery figure.
: >"$WORK/baseline.txt"
for _ in $(seq 5); do
  t0=$(date +%s.%N); push_once; t1=$(date +%s.%N)
  echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$WORK/baseline.txt"
done

# One crash-restart after an outage of $1 seconds; prints the recovery time in seconds.
round() {
  local outage=$1 end t0 t1 failures=0 answer
  scripts/services.sh crash-postgres
  end=$(( $(date +%s) + outage ))
  # During the outage a client keeps trying; every answer must be a fast 503 with Retry-After.
  while [ "$(date +%s)" -lt "$end" ]; do
    answer=$(curl -s -m 30 -o /dev/null -w '%{http_code} %{time_total}' "${AUTH[@]}" -H 'content-type: application/json' \
      -X POST "$BASE/api/v1/models/bench/recovery/drafts" -d '{"files":[],"description":null}' || true)
    failures=$((failures + 1))
    echo "$answer" >>"$WORK/during.txt"
    sleep 0.5
  done
  scripts/services.sh resume-postgres
  t0=$(now)
  until push_once; do :; done
  t1=$(now)
  echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }'
}

percentile() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.3f", v[i] }'; }

echo "== $N crash-restarts after ${OUTAGE}s outages (backend timeout $BACKEND_TIMEOUT)" >&2
: >"$WORK/times.txt"
for i in $(seq "$N"); do
  t=$(round "$OUTAGE")
  echo "$t" >>"$WORK/times.txt"
  printf '  round %2d: %s s\n' "$i" "$t" >&2
done
P50=$(percentile 50 <"$WORK/times.txt")
P99=$(percentile 99 <"$WORK/times.txt")
MAX=$(sort -n "$WORK/times.txt" | tail -1)
echo "one push with PostgreSQL up (median of 5): $(percentile 50 <"$WORK/baseline.txt")s"
echo "recovery after ${OUTAGE}s outages: n=$N p50=${P50}s p99=${P99}s max=${MAX}s (target p99 < 3 s)"
# The answers during the outages: status counts and the slowest.
awk '{ c[$1]++; if ($2 > m) m = $2 } END { for (s in c) printf "  during outages: %d answers with status %s\n", c[s], s; printf "  slowest answer during outages: %.3f s\n", m }' "$WORK/during.txt"

if [ "$LONG" -gt 0 ]; then
  echo "== one ${LONG}s outage" >&2
  t=$(round "$LONG")
  echo "recovery after one ${LONG}s outage: ${t}s"
fi
# Reconnect failures are logged once per interval (30 s), not per attempt: the watcher's lines
# (one when an outage starts, one per 30 s while it lasts) and BackendMonitor's (failed calls).
echo "  log lines over the whole run: watcher $(grep -cE 'PostgreSQL (still )?cannot be reached' "$WORK/serve.log" || true)," \
  "failed-call reports $(grep -c 'calls are failing' "$WORK/serve.log" || true)," \
  "recoveries $(grep -c 'PostgreSQL answers again' "$WORK/serve.log" || true)"
