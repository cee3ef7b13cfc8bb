#!/usr/bin/env bash
# Pages at scale (issue 27; figures in docs/search.md "Pages at scale"): 100-row page latency of
# the model list, model search, a model's versions and the cross-model version search, at a
# shallow and a deep (90%) page, with MODELS models and versions at each of LEVELS, on embedded
# SQLite and on PostgreSQL. Per backend: a fresh registry under /tmp is seeded through the API
# (SEED models x SEED_VERSIONS versions), then grown in bulk with SQL inside the store's schema
# while the server is stopped (scripts/bench_search_scale.py fill: copies of a seed version with
# their version_files rows, models with their model_tags, version_seq and updated_at moved to
# match); at each level the server is started on it, the registry is checked (walked pages vs the
# database: counts, order, no repeats; `vessel versions`, `show`, `pull` and `push` on bulk rows)
# and every page is timed (loopback wall time of one GET, RUNS runs, p50 and p99). Any page over
# 5 ms gets its query plan printed (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE).
#
#   scripts/bench_search_scale.sh [MODELS] [LEVELS]     defaults: 10000 and 10000,100000,1000000
#   POSTGRES=postgres://user:pw@host:port/db  an admin URL: a scratch database is made on it and
#                     dropped after (default: the tests' server on 127.0.0.1:54329; POSTGRES=
#                     skips PostgreSQL)
#   VESSEL_BIN=path   the vessel binary (default .build/debug/vessel: say which in any figure)
#   BACKENDS="sqlite postgres"  RUNS=30  SEED=20  SEED_VERSIONS=5
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODELS="${1:-10000}"
LEVELS="${2:-10000,100000,1000000}"
VESSEL="${VESSEL_BIN:-${VESSEL:-$ROOT/.build/debug/vessel}}"
BACKENDS="${BACKENDS:-sqlite postgres}"
POSTGRES="${POSTGRES-postgres://vessel:vessel@127.0.0.1:54329/vessel}"
RUNS="${RUNS:-30}"; SEED="${SEED:-20}"; SEED_VERSIONS="${SEED_VERSIONS:-5}"
PY="$ROOT/scripts/bench_search_scale.py"
WORK="$(mktemp -d /tmp/vessel-bench-scale.XXXXXX)"
SUMMARY="${SUMMARY:-$WORK/summary.jsonl}"
PID=""; SCRATCH=""
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi; }
cleanup() {
  stop
  if [ -n "$SCRATCH" ]; then psql "$POSTGRES" -qAtc "DROP DATABASE IF EXISTS $SCRATCH" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export VESSEL_ADMIN_TOKEN="vsl_bench-scale-$RANDOM$RANDOM" XDG_CONFIG_HOME=/nonexistent-vessel-config
PORT=""
start() { # DATADIR [serve options]
  local dir="$1"; shift
  PORT=$(free_port)
  "$VESSEL" serve --data-dir "$dir" --port "$PORT" --log-level warning "$@" >>"$dir.log" 2>&1 & PID=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0; kill -0 "$PID" 2>/dev/null || break; sleep 0.2; done
  echo "server did not start:"; tail -20 "$dir.log"; exit 1
}
cli() { VESSEL_SERVER="http://127.0.0.1:$PORT" VESSEL_TOKEN="$VESSEL_ADMIN_TOKEN" "$VESSEL" "$@"; }
sql() { # DB SQL: rows, tab-separated
  case "$1" in
    sqlite:*) sqlite3 -separator $'\t' "${1#sqlite:}" "$2" ;;
    *) psql "$1" -XAtq -F $'\t' -c "$2" ;;
  esac
}

cli_checks() { # DB LEVEL: vessel commands on bulk rows agree with the database
  local db="$1" level="$2" quiet busy_seq got n
  quiet=o21/model-00021  # made in bulk, versions all made in bulk
  busy_seq=$(sql "$db" "SELECT version_seq FROM models WHERE owner = 'o01' AND name = 'model-00001'")
  if [ "$busy_seq" -le 20000 ]; then
    got=$(cli versions o01/model-00001 --json | python3 -c 'import json,sys; v=[r["version"] for r in json.load(sys.stdin)["items"]]; assert v == sorted(set(v), reverse=True), "order"; print(len(v))')
    [ "$got" = "$busy_seq" ] || { echo "   check FAIL vessel versions o01/model-00001: $got rows, version_seq $busy_seq"; exit 1; }
    echo "   check ok   vessel versions o01/model-00001 --json: all $got versions, newest first, no repeats"
  fi
  n=$(sql "$db" "SELECT version_seq FROM models WHERE owner = '${quiet%%/*}' AND name = '${quiet#*/}'")
  got=$(cli versions "$quiet" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
  [ "$got" = "$n" ] || { echo "   check FAIL vessel versions $quiet: $got, expected $n"; exit 1; }
  cli show "o01/model-00001:$(( busy_seq / 2 ))" --json >/dev/null
  rm -rf "$WORK/pull" "$WORK/push"; cli pull "$quiet:$n" "$WORK/pull" --json >/dev/null
  mkdir -p "$WORK/push"; echo "{\"level\": $level}" >"$WORK/push/config.json"
  got=$(cli push "$WORK/push" --model "$quiet" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
  [ "$got" = "$(( n + 1 ))" ] || { echo "   check FAIL vessel push onto $quiet made version $got, expected $(( n + 1 ))"; exit 1; }
  echo "   check ok   vessel versions $quiet ($n), show, pull $quiet:$n (bytes verified), push -> version $got"
}

explain_slow() { # DB LABEL: the plan of each page over 5 ms, as the store sends it
  python3 - "$SUMMARY" "$2" <<'PY' >"$WORK/slow.txt"
import json, sys
for line in open(sys.argv[1]):
    run = json.loads(line)
    if run["label"] != sys.argv[2]: continue
    for p in run["pages"]:
        if p["p50"] > 5: print(p["list"] + "\t" + p["depth"] + "\t" + p["path"])
PY
  [ -s "$WORK/slow.txt" ] || return 0
  echo "   pages over 5 ms: the plans (the store's query shapes, the deep key inlined)"
  while IFS=$'\t' read -r list depth path; do
    echo "   -- $list, $depth: $path"
    python3 "$PY" explain "$1" "$path" | sed 's/^/      /'
  done <"$WORK/slow.txt"
}

echo "== pages at scale: $MODELS models, versions at $LEVELS; $("$VESSEL" --version) ($VESSEL); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for backend in $BACKENDS; do
  t0=$(date +%s)
  dir="$WORK/$backend"; opts=()
  case "$backend" in
    sqlite) db="sqlite:$dir/metadata.sqlite" ;;
    postgres)
      if [ -z "$POSTGRES" ]; then echo "== postgres: skipped (POSTGRES is empty)"; continue; fi
      SCRATCH="vessel_bench_scale_$$"
      psql "$POSTGRES" -qAtc "CREATE DATABASE $SCRATCH" >/dev/null
      db="${POSTGRES%/*}/$SCRATCH"; opts=(--database "$db") ;;
    *) echo "unknown backend $backend"; exit 2 ;;
  esac
  echo "== $backend"
  start "$dir" "${opts[@]}"
  python3 "$PY" seed "http://127.0.0.1:$PORT" "$VESSEL_ADMIN_TOKEN" "$SEED" "$SEED_VERSIONS"
  stop
  for level in ${LEVELS//,/ }; do
    python3 "$PY" fill "$db" "$MODELS" "$level"
    start "$dir" "${opts[@]}"
    python3 "$PY" measure "$db" "http://127.0.0.1:$PORT" "$VESSEL_ADMIN_TOKEN" "$RUNS" "$SUMMARY" "$backend $level"
    cli_checks "$db" "$level"
    stop
    explain_slow "$db" "$backend $level"
  done
  if [ "$backend" = postgres ]; then psql "$POSTGRES" -qAtc "DROP DATABASE $SCRATCH" >/dev/null; SCRATCH=""; fi
  echo "== $backend: $(( $(date +%s) - t0 )) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
done

python3 - "$SUMMARY" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
if not runs: sys.exit(0)
cols = [r["label"] for r in runs]
print("\n== p50 ms per 100-row page (p99 in brackets); target < 5 ms")
print(f"{'':56s}" + "".join(f"{c:>20s}" for c in cols))
for i, p in enumerate(runs[0]["pages"]):
    name = p["list"].split(" (")[0] if p["list"].startswith("versions of o01") else p["list"]
    cells = "".join(f"{r['pages'][i]['p50']:9.2f} [{r['pages'][i]['p99']:7.2f}]" + " " for r in runs)
    print(f"{(name + ', ' + p['depth'])[:56]:56s}{cells}")
PY
