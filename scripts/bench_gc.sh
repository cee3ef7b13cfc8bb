#!/usr/bin/env bash
# Garbage collection benchmark (issue 26). Parts (run all, or name some: `scripts/bench_gc.sh dry sweep push`):
#  dry    a registry of BLOB_ROWS (1,000,000) blob rows and VERSIONS (100,000) versions, filled
#         with SQL through the schema the server's own migrations created (1,000 models of 100
#         versions, 10 % deleted, 9 files each, an alias per model, 100 holds, 100 live upload
#         sessions, the rest of the blobs unreferenced; policy `*` keep-last 50): the time of
#         `vessel gc run --dry-run` on SQLite and on PostgreSQL (target < 10 s each). PostgreSQL
#         is a scratch database on VESSEL_TEST_POSTGRES_URL's server, dropped at the end.
#  sweep  RGW with a versioned bucket: sweeping OBJECTS (10,000) blobs of 4 KiB (a deleted
#         version's files) with `vessel gc run`: objects/s (target >= 500), and afterwards no
#         object version of a swept key is left. Needs VESSEL_TEST_S3_ENDPOINT,
#         VESSEL_TEST_S3_ACCESS_KEY, VESSEL_TEST_S3_SECRET_KEY.
#  push   the filesystem store: latency of PUSH_MIB (10) MiB pushes while a sweep of OBJECTS
#         blobs runs against without, in the same run (ratio of the medians; target <= 1.5x).
# VESSEL_BIN=path/to/vessel (default: the debug build in .build/debug; build it first with
# `swift build --product vessel`). Data goes under $TMPDIR (default /tmp) and is removed; so is
# the bucket. Figures of a debug build are not release figures: say which one you ran.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PARTS="${*:-dry sweep push}"
OBJECTS="${OBJECTS:-10000}" PUSH_MIB="${PUSH_MIB:-10}" BLOB_ROWS="${BLOB_ROWS:-1000000}" VERSIONS="${VERSIONS:-100000}"
VESSEL="${VESSEL_BIN:-${VESSEL:-$ROOT/.build/debug/vessel}}"
[ -x "$VESSEL" ] || { echo "no vessel binary at $VESSEL: swift build --product vessel, or set VESSEL_BIN" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-gc.XXXXXX")"
PIDS=() BUCKET="" PGDB=""
EP="${VESSEL_TEST_S3_ENDPOINT:-}" AK="${VESSEL_TEST_S3_ACCESS_KEY:-}" SK="${VESSEL_TEST_S3_SECRET_KEY:-}"
PGURL="${VESSEL_TEST_POSTGRES_URL:-}"
export EP AK SK
echo "binary: $VESSEL ($(case "$VESSEL" in */release/*) echo release ;; */debug/*) echo debug ;; *) echo "build unknown" ;; esac))"
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
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  if [ -n "$BUCKET" ]; then s3py remove "$BUCKET" >/dev/null 2>&1 || echo "could not remove bucket $BUCKET"; fi
  if [ -n "$PGDB" ] && [ -n "${KEEP_WORK:-}" ]; then echo "kept database ${PGURL%/*}/$PGDB"
  elif [ -n "$PGDB" ]; then psql "$PGURL" -qAt -c "DROP DATABASE IF EXISTS $PGDB" >/dev/null 2>&1 || echo "could not drop database $PGDB"; fi
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
export VESSEL_ADMIN_TOKEN="vsl_bench-gc-$RANDOM$RANDOM" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"
echo "$VESSEL_ADMIN_TOKEN" >"$WORK/admin-token"

serve() { # dir port [serve args…]
  local dir="$1" port="$2"; shift 2
  "$VESSEL" serve --data-dir "$dir" --port "$port" --log-level warning --gc-grace 0 "$@" >"$dir.log" 2>&1 & PIDS+=("$!")
  for _ in $(seq 600); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server on $port did not start"; cat "$dir.log"; exit 1
}
stop_servers() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }; done; PIDS=(); }
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

# The fill, as SQL for dialect $1 (sqlite|postgres): rows the migrations' schema accepts, all
# old enough for any grace. Digests are sha256:<64 hex digits of a counter>.
fill_sql() {
  local d="$1" t=$(( ($(date +%s) - 30 * 86400) * 1000000 )) models=$((VERSIONS / 100))
  local hex series
  if [ "$d" = sqlite ]; then
    hex() { echo "'sha256:' || printf('%064x', $1)"; }
    series() { echo "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $(($1 - 1)))"; }
  else
    hex() { echo "'sha256:' || lpad(to_hex($1::bigint), 64, '0')"; }
    series() { echo ""; }
  fi
  src() { if [ "$d" = sqlite ]; then echo "FROM n"; else echo "FROM generate_series(0, $(($1 - 1))) AS n(i)"; fi; }
  cat <<SQL
BEGIN;
-- The scheduled run at start would apply the policy for real: its lease is held for the bench.
DELETE FROM leases WHERE name = 'gc';
INSERT INTO leases (name, holder, expires_at) VALUES ('gc', 'bench_gc.sh', $(( ($(date +%s) + 86400) * 1000000 )));
$(series "$models") INSERT INTO models (id, owner, name, description, tags, created_at, created_by, version_seq, updated_at)
  SELECT 'bm' || i, 'bench', 'm' || i, '', '[]', $t, 'admin', 100, $t $(src "$models");
$(series "$VERSIONS") INSERT INTO versions (id, model_id, number, state, digest, file_count, total_size, description, findings, created_at, created_by, committed_at)
  SELECT 'bv' || i, 'bm' || (i / 100), (i % 100) + 1, CASE WHEN i % 100 < 10 THEN 'deleted' ELSE 'ready' END, $(hex "(90000000 + i)"), 9, 36864, '', '[]',
    $t + i, 'admin', $t + i $(src "$VERSIONS");
$(series $((VERSIONS * 9))) INSERT INTO version_files (version_id, path, size, digest, media_type)
  SELECT 'bv' || (i / 9), 'f' || (i % 9) || '.bin', 4096, $(hex i), 'application/octet-stream' $(src $((VERSIONS * 9)));
$(series "$BLOB_ROWS") INSERT INTO blobs (digest, size, created_at) SELECT $(hex i), 4096, $t $(src "$BLOB_ROWS");
INSERT INTO blob_names (digest, named_at, sweep_seq, sweeping) SELECT digest, created_at, 0, 0 FROM blobs;
$(series "$models") INSERT INTO aliases (model_id, name, version_id, updated_at, updated_by) SELECT 'bm' || i, 'production', 'bv' || (i * 100 + 49), $t, 'admin' $(src "$models");
$(series 100) INSERT INTO holds (version_id, reason, created_at, created_by) SELECT 'bv' || (i * ($((VERSIONS / 100))) + 15), 'bench', $t, 'admin' $(src 100);
$(series 100) INSERT INTO upload_sessions (id, model, digest, size, chunk_size, created_by, created_at, expires_at)
  SELECT 'bu' || i, 'bench/m0', $(hex "(950000 + i)"), 4096, 4096, 'admin', $t, $(( ($(date +%s) + 86400) * 1000000 )) $(src 100);
INSERT INTO retention_policies (scope, keep_last, keep_for, delete_quarantined_after, drafts_expire_after, updated_at, updated_by)
  VALUES ('*', 50, NULL, NULL, NULL, $t, 'admin');
COMMIT;
ANALYZE;
SQL
}

dry_run() { # label port
  local a b
  a="$(now)"; client "$2" gc run --dry-run --json >"$WORK/dry-$1.json"; b="$(now)"
  printf '%s: dry run %s s: %s versions, %s blobs, %s bytes (job %s ms)\n' "$1" "$(secs "$a" "$b")" "$(json "$WORK/dry-$1.json" 'len(d["versions"])')" \
    "$(json "$WORK/dry-$1.json" 'd["blobs"]')" "$(json "$WORK/dry-$1.json" 'd["bytes"]')" "$(json "$WORK/dry-$1.json" 'd["duration_ms"]')"
}

case " $PARTS " in *" dry "*)
  echo "== dry: $BLOB_ROWS blob rows, $VERSIONS versions"
  P0=$((21000 + RANDOM % 8000))
  DRY_DBS="${DRY_DBS:-sqlite postgres}"
  if [[ " $DRY_DBS " == *" sqlite "* ]]; then
  serve "$WORK/sqlite" "$P0"; stop_servers
  a="$(now)"; fill_sql sqlite | sqlite3 "$WORK/sqlite/metadata.sqlite"; b="$(now)"
  echo "sqlite: filled in $(secs "$a" "$b") s ($(sqlite3 "$WORK/sqlite/metadata.sqlite" "SELECT (SELECT COUNT(*) FROM blobs) || ' blobs, ' || (SELECT COUNT(*) FROM versions) || ' versions, ' || (SELECT COUNT(*) FROM version_files) || ' files'"))"
  serve "$WORK/sqlite" "$P0"
  dry_run sqlite "$P0"; stop_servers
  fi
  if [[ " $DRY_DBS " != *" postgres "* ]]; then :
  elif [ -n "$PGURL" ]; then
    PGDB="bench_gc_$RANDOM$RANDOM"
    psql "$PGURL" -qAt -c "CREATE DATABASE $PGDB" >/dev/null
    DBURL="${PGURL%/*}/$PGDB"
    serve "$WORK/pg" "$P0" --database "$DBURL" --admin-token-file "$WORK/admin-token"; stop_servers
    a="$(now)"; fill_sql postgres | psql "$DBURL" -qAt -v ON_ERROR_STOP=1 2>&1 | grep -v "only superuser can analyze" || true; b="$(now)"
    echo "postgres: filled in $(secs "$a" "$b") s ($(psql "$DBURL" -qAt -c "SELECT (SELECT COUNT(*) FROM blobs) || ' blobs, ' || (SELECT COUNT(*) FROM versions) || ' versions'"))"
    serve "$WORK/pg" "$P0" --database "$DBURL" --admin-token-file "$WORK/admin-token"
    dry_run postgres "$P0"; stop_servers
  else
    echo "postgres: skipped (VESSEL_TEST_POSTGRES_URL is not set)"
  fi
;; esac

case " $PARTS " in *" sweep "*)
  if [ -n "$EP" ] && [ -n "$AK" ] && [ -n "$SK" ]; then
    echo "== sweep: $OBJECTS objects of 4 KiB on a versioned bucket ($EP)"
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
    echo "object versions and delete markers left under blobs/: $(s3py versions "$BUCKET")"
    stop_servers
  else
    echo "== sweep: skipped: VESSEL_TEST_S3_ENDPOINT, VESSEL_TEST_S3_ACCESS_KEY and VESSEL_TEST_S3_SECRET_KEY are not set"
  fi
;; esac

case " $PARTS " in *" push "*)
  echo "== push: ${PUSH_MIB} MiB pushes with and without a sweep of $OBJECTS blobs running (filesystem)"
  P2=$((30000 + RANDOM % 10000))
  serve "$WORK/reg" "$P2"
  pushes() { # label [pid to outlast]
    local label="$1" until_pid="${2:-}" n=0 times=()
    while :; do
      local dir="$WORK/push-$label-$n"; mkdir -p "$dir"; { printf 'weights\n'; head -c $(((PUSH_MIB << 20) - 8)) /dev/urandom; } >"$dir/w.bin"
      local a b; a="$(now)"
      client "$P2" push "$dir" --model "bench/push-$label" --json >/dev/null
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
  stop_servers
;; esac
