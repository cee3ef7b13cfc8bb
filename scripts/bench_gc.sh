#!/usr/bin/env bash
# Garbage collection benchmark (issue 26), in one run:
#  1. RGW with a versioned bucket: sweeping OBJECTS (default 10000) blobs of 4 KiB (a deleted
#     version's files) with `vessel gc run`: objects/s (target >= 500), and afterwards no object
#     version of a swept key is left in the bucket.
#  2. the filesystem store (embedded defaults): the latency of PUSH_MIB (default 10) MiB pushes
#     while a sweep of OBJECTS blobs runs against without, in the same run (target <= 1.5x).
# Usage: scripts/bench_gc.sh [OBJECTS]     (e.g. `scripts/bench_gc.sh 2000` for a quick run)
# VESSEL=path uses that binary instead of building release. Part 1 needs RGW (or any S3):
# VESSEL_TEST_S3_ENDPOINT, VESSEL_TEST_S3_ACCESS_KEY, VESSEL_TEST_S3_SECRET_KEY (scripts/services.sh
# prints them); without them it is skipped. Data goes under $TMPDIR (default /tmp); the bucket it
# creates is emptied and removed at the end.
# Not measured here: the dry run over 1,000,000 blob rows and 100,000 versions (needs a generator
# that writes rows directly; see docs/retention.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OBJECTS="${1:-10000}"
PUSH_MIB="${PUSH_MIB:-10}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-gc.XXXXXX")"
PIDS=()
BUCKET=""
EP="${VESSEL_TEST_S3_ENDPOINT:-}" AK="${VESSEL_TEST_S3_ACCESS_KEY:-}" SK="${VESSEL_TEST_S3_SECRET_KEY:-}"
# boto3 against the endpoint: s3py create|versions|remove BUCKET
s3py() { python3 - "$@" <<'EOF'
import os, sys, boto3
action, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=os.environ["EP"], region_name="us-east-1",
                  aws_access_key_id=os.environ["AK"], aws_secret_access_key=os.environ["SK"])
def versions(prefix=""):
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        out += [(v["Key"], v["VersionId"]) for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    return out
if action == "create":
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    print(s3.get_bucket_versioning(Bucket=bucket).get("Status"))
elif action == "versions":
    print(len(versions("blobs/")))
elif action == "remove":
    found = versions()
    for i in range(0, len(found), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k, "VersionId": v} for k, v in found[i:i + 1000]], "Quiet": True})
    s3.delete_bucket(Bucket=bucket)
EOF
}
export EP AK SK
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  if [ -n "$BUCKET" ]; then s3py remove "$BUCKET" >/dev/null 2>&1 || echo "could not remove bucket $BUCKET"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

if [ -z "${VESSEL:-}" ]; then
  echo "== building vessel (release)"
  (cd "$ROOT" && swift build -c release --product vessel >/dev/null)
  VESSEL="$(cd "$ROOT" && swift build -c release --show-bin-path)/vessel"
fi
export VESSEL_ADMIN_TOKEN="vsl_bench-gc-$RANDOM$RANDOM" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"

serve() { # dir port [serve args…]
  local dir="$1" port="$2"; shift 2
  "$VESSEL" serve --data-dir "$dir" --port "$port" --log-level warning --gc-grace 0 "$@" >"$dir.log" 2>&1 & PIDS+=("$!")
  for _ in $(seq 300); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server on $port did not start"; cat "$dir.log"; exit 1
}
client() { VESSEL_SERVER="http://127.0.0.1:$1" VESSEL_TOKEN="$VESSEL_ADMIN_TOKEN" "$VESSEL" "${@:2}"; }
# $2 files of 4 KiB of random bytes in folder $1.
garbage() { python3 - "$1" "$2" <<'EOF'
import os, sys
folder, count = sys.argv[1], int(sys.argv[2])
os.makedirs(folder, exist_ok=True)
for i in range(count):
    with open(os.path.join(folder, "g-%06d.bin" % i), "wb") as f:
        f.write(b"garbage\n" + os.urandom(4088))  # a fixed first byte: random ones can look like a pickle and be quarantined
EOF
}
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

if [ -n "$EP" ] && [ -n "$AK" ] && [ -n "$SK" ]; then
  echo "== 1. sweeping $OBJECTS objects of 4 KiB on a versioned bucket ($EP)"
  BUCKET="vessel-bench-gc-$RANDOM$RANDOM"
  echo "bucket $BUCKET versioning: $(s3py create "$BUCKET")"
  P1=$((20000 + RANDOM % 10000))
  AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" serve "$WORK/s3reg" "$P1" --storage "s3://$BUCKET?endpoint=$EP&region=us-east-1"
  garbage "$WORK/g1" "$OBJECTS"
  t0="$(now)"; client "$P1" push "$WORK/g1" --model bench/gc --json >/dev/null; t1="$(now)"
  echo "pushed $OBJECTS files in $(secs "$t0" "$t1") s"
  client "$P1" version delete bench/gc:1 --json >/dev/null
  t0="$(now)"; client "$P1" gc run --json >"$WORK/gc1.json"; t1="$(now)"
  BLOBS="$(json "$WORK/gc1.json" 'd["blobs"]')"; MS="$(json "$WORK/gc1.json" 'd["duration_ms"]')"
  printf 'gc run: %d blobs, %s bytes, %d ms in the job (%.2f s wall): %.0f objects/s\n' "$BLOBS" "$(json "$WORK/gc1.json" 'd["bytes"]')" "$MS" \
    "$(secs "$t0" "$t1")" "$(awk -v n="$BLOBS" -v ms="$MS" 'BEGIN { print n / (ms / 1000) }')"
  LEFT="$(s3py versions "$BUCKET")"
  echo "object versions and delete markers left under blobs/: $LEFT"
  kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()
else
  echo "== 1. skipped: VESSEL_TEST_S3_ENDPOINT, VESSEL_TEST_S3_ACCESS_KEY and VESSEL_TEST_S3_SECRET_KEY are not set"
fi

echo "== 2. push latency (${PUSH_MIB} MiB pushes) with and without a sweep of $OBJECTS blobs running (filesystem)"
P2=$((30000 + RANDOM % 10000))
serve "$WORK/reg" "$P2"
pushes() { # label [pid to outlast]
  local label="$1" until_pid="${2:-}" n=0 times=()
  while :; do
    local dir="$WORK/push-$label-$n"; mkdir -p "$dir"; openssl rand -out "$dir/w.bin" $((PUSH_MIB << 20))
    local a b; a="$(now)"
    client "$P2" push "$dir" --model "bench/push-$label" --json >/dev/null || true  # quarantined by chance (random bytes): timed all the same
    b="$(now)"; times+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"); rm -rf "$dir"; n=$((n + 1))
    if [ -n "$until_pid" ]; then kill -0 "$until_pid" 2>/dev/null || [ "$n" -lt 3 ] || break; else [ "$n" -lt 10 ] || break; fi
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" '{ v[NR] = $1 } END { printf "%s: %d pushes, p50 %d ms, p90 %d ms, max %d ms\n", l, NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }' | tee -a "$WORK/latency.txt"
}
garbage "$WORK/g2" "$OBJECTS"
client "$P2" push "$WORK/g2" --model bench/gc --json >/dev/null
client "$P2" version delete bench/gc:1 --json >/dev/null
pushes idle
client "$P2" gc run --json >"$WORK/gc2.json" & GC=$!
pushes during-sweep "$GC"
wait "$GC"
echo "the sweep: $(json "$WORK/gc2.json" 'd["blobs"]') blobs in $(json "$WORK/gc2.json" 'd["duration_ms"]') ms"
awk '/^idle/ { i = $5 } /^during-sweep/ { s = $5 } END { printf "p50 ratio during sweep / idle: %.2f\n", s / i }' "$WORK/latency.txt"
