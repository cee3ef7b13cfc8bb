#!/usr/bin/env bash
# Search benchmark (issue 27): fills a fresh registry through the API (MODELS models, VERSIONS
# versions, default 1000 / 20000) and prints registration rate and page latencies
# (scripts/bench_search.py). Embedded SQLite by default; DATABASE=postgres://… for PostgreSQL
# (a database of its own: its tables are filled). VESSEL=path uses that binary (default: the
# debug build in .build/debug; say which in any figure you record).
# Usage: scripts/bench_search.sh [MODELS] [VERSIONS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODELS="${1:-1000}"
VERSIONS="${2:-20000}"
VESSEL="${VESSEL:-$ROOT/.build/debug/vessel}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-search.XXXXXX")"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
export VESSEL_ADMIN_TOKEN="vsl_bench-search-$RANDOM$RANDOM"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ARGS=(serve --data-dir "$WORK/data" --port "$PORT" --log-level warning)
[ -n "${DATABASE:-}" ] && ARGS+=(--database "$DATABASE")
"$VESSEL" "${ARGS[@]}" >"$WORK/serve.log" 2>&1 & PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "server did not start"; cat "$WORK/serve.log"; exit 1; }
echo "== vessel search bench: $MODELS models, $VERSIONS versions, $("$VESSEL" --version), ${DATABASE:+postgresql}${DATABASE:-sqlite}, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$ROOT/scripts/bench_search.py" "http://127.0.0.1:$PORT" "$VESSEL_ADMIN_TOKEN" "$MODELS" "$VERSIONS" "${CLIENTS:-8}"
