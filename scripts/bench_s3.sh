#!/usr/bin/env bash
# Scale-out transfer benchmark (issue 9): push and pull of a 2 GiB model through Vessel on
# PostgreSQL + Ceph RGW — pulls both proxied and with `--storage-redirect` — next to boto3's
# `upload_file` / `download_file` of the same bytes against the same RGW bucket, in one run.
# Release build, loopback only; MB = 10^6 bytes.
#
#   scripts/bench_s3.sh                (env: BENCH_DIR=/tmp, PYTHON=.venv-test/bin/python with boto3)
#
# Starts its own PostgreSQL and RGW with scripts/services.sh (on ports 54339 / 7489, so it
# does not disturb a test run) and stops them on exit. The model is one 2 GiB file, the shape
# boto3's upload_file takes; RGW keeps objects in RAM (6 GiB), so each side deletes what it
# wrote before the next one starts.
#
# Target: Vessel >= 0.8 x boto3's throughput for push and for pull.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-.venv-test/bin/python}"
PORT=18790
WORK="$(mktemp -d "${BENCH_DIR:-/tmp}/vessel-s3-bench.XXXXXX")"
chmod 755 "$WORK"   # PostgreSQL runs as its own user under $WORK/services
export VESSEL_SERVICES_DIR="$WORK/services" VESSEL_PG_PORT=54339 VESSEL_RGW_PORT=7489
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/services.sh stop-rgw >/dev/null 2>&1 || true
  scripts/services.sh stop-postgres >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$PYTHON" -c "import boto3" 2>/dev/null || { echo "$PYTHON has no boto3 (scripts/test creates .venv-test with it)"; exit 1; }
echo "== building vessel (release)"
swift build -c release --product vessel >/dev/null
VESSEL="$(swift build -c release --show-bin-path)/vessel"

echo "== starting PostgreSQL and RGW"
pg_env=$(scripts/services.sh start-postgres) || exit 1
rgw_env=$(scripts/services.sh start-rgw) || exit 1
eval "$pg_env"; eval "$rgw_env"
BUCKET=vessel-test

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

echo "== generating a 2 GiB model (one file)"
mkdir -p "$WORK/model"
for _ in 1 2 3 4; do openssl rand $((512 << 20)); done >"$WORK/model/weights.bin"   # rand caps at 2^31-1
BYTES=$((2048 << 20))

echo "== boto3 upload_file / download_file (default TransferConfig)"
"$PYTHON" scripts/bench_s3_boto3.py "$WORK/model/weights.bin" --endpoint "$VESSEL_TEST_S3_ENDPOINT" --bucket "$BUCKET" \
  --access-key "$VESSEL_TEST_S3_ACCESS_KEY" --secret-key "$VESSEL_TEST_S3_SECRET_KEY" --region us-east-1 --repeat 1 | tee "$WORK/boto3.jsonl"
BOTO_UP=$(awk -F'"mb_per_s": ' '/"op": "upload_file"/ { split($2, a, /[,}]/); print a[1] }' "$WORK/boto3.jsonl" | tail -1)
BOTO_DOWN=$(awk -F'"mb_per_s": ' '/"op": "download_file"/ { split($2, a, /[,}]/); print a[1] }' "$WORK/boto3.jsonl" | tail -1)

export AWS_ACCESS_KEY_ID="$VESSEL_TEST_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$VESSEL_TEST_S3_SECRET_KEY"
export VESSEL_ADMIN_TOKEN="bench-$RANDOM-$RANDOM" VESSEL_TOKEN XDG_CONFIG_HOME="$WORK/config"
VESSEL_TOKEN=$VESSEL_ADMIN_TOKEN
STORAGE="s3://$BUCKET/bench?endpoint=$VESSEL_TEST_S3_ENDPOINT&region=us-east-1"
serve() {   # serve PORT [extra flags…]
  local port=$1; shift
  "$VESSEL" serve --database "$VESSEL_TEST_POSTGRES_URL" --storage "$STORAGE" --data-dir "$WORK/data-$port" \
    --port "$port" --log-level warning "$@" 2>>"$WORK/server-$port.log" &
  PIDS+=($!)
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  echo "server on $port did not start"; cat "$WORK/server-$port.log"; exit 1
}
serve $PORT
serve $((PORT + 1)) --storage-redirect

echo "== vessel push (PostgreSQL + RGW)"
T0="$(now)"; VESSEL_SERVER="http://127.0.0.1:$PORT" "$VESSEL" push "$WORK/model" --model bench/s3 --json >"$WORK/push.json"; T1="$(now)"
PUSH_S="$(secs "$T0" "$T1")"

echo "== vessel pull, proxied through the server (cold cache)"
T0="$(now)"; VESSEL_SERVER="http://127.0.0.1:$PORT" "$VESSEL" pull bench/s3 "$WORK/out-proxied" --cache-dir "$WORK/cache-proxied" --json >/dev/null; T1="$(now)"
PULL_S="$(secs "$T0" "$T1")"
rm -rf "$WORK/out-proxied" "$WORK/cache-proxied"

echo "== vessel pull, --storage-redirect (presigned URL straight from RGW, cold cache)"
T0="$(now)"; VESSEL_SERVER="http://127.0.0.1:$((PORT + 1))" "$VESSEL" pull bench/s3 "$WORK/out-redirect" --cache-dir "$WORK/cache-redirect" --json >/dev/null; T1="$(now)"
REDIRECT_S="$(secs "$T0" "$T1")"
cmp -s "$WORK/model/weights.bin" "$WORK/out-redirect/weights.bin" || { echo "redirected pull differs from the pushed file"; exit 1; }

ratio() { awk -v v="$1" -v b="$2" 'BEGIN { printf "%.2f", v / b }'; }
PUSH_MB=$(mbps $BYTES "$PUSH_S"); PULL_MB=$(mbps $BYTES "$PULL_S"); REDIRECT_MB=$(mbps $BYTES "$REDIRECT_S")
cat <<REPORT

== results (2 GiB = $BYTES bytes, one file; MB = 10^6 bytes; load: $(cut -d' ' -f1-3 /proc/loadavg))
                                   MB/s    vs boto3 (target >= 0.8)
boto3 upload_file               $(printf '%7s' "$BOTO_UP")
vessel push                     $(printf '%7s' "$PUSH_MB")    $(ratio "$PUSH_MB" "$BOTO_UP")x   ($PUSH_S s, includes client hashing and server verification)
boto3 download_file             $(printf '%7s' "$BOTO_DOWN")
vessel pull (proxied)           $(printf '%7s' "$PULL_MB")    $(ratio "$PULL_MB" "$BOTO_DOWN")x   ($PULL_S s, verified)
vessel pull (--storage-redirect)$(printf '%7s' "$REDIRECT_MB")    $(ratio "$REDIRECT_MB" "$BOTO_DOWN")x   ($REDIRECT_S s, verified)
REPORT
