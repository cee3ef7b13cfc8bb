#!/usr/bin/env bash
# Web UI render benchmark (issue 29, docs/ui.md "Render benchmark"): a fresh registry under /tmp
# with one model of VERSIONS versions (default 10000, registered through the API: draft + commit)
# and an audit chain of AUDIT entries (default 100000: the API's own entries, then the rest
# appended in bulk to the SQLite chain with the canonical hashes while the server is stopped; the
# server's own chain verification must pass afterwards). Then, signed in through /ui/login:
#   - server-side render time: wall time of one GET on loopback (sequential, 200 runs) of the
#     model page (first page and a deep page of versions), the audit page (first page, a deep page,
#     and filtered by actor and by action, which the store answers in its query); p50 and p99;
#   - DOMContentLoaded of the same pages in Chromium (Playwright, 20 loads each), from the
#     Navigation Timing entry.
# Targets: render p99 < 20 ms, DOMContentLoaded < 200 ms.
# Environment: VESSEL_BIN=path (default: the debug build .build/debug/vessel; say which in any
# figure), UI_PYTHON=path to a python with playwright (default: $VESSEL_TEST_PYTHON, else
# /tmp/ui-venv/bin/python; without one the browser part is skipped and says so), CHROMIUM
# (default /usr/bin/chromium), RUNS (default 200), CLIENTS (fill threads, default 4).
# Usage: scripts/bench_ui.sh [VERSIONS] [AUDIT]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSIONS="${1:-10000}"
AUDIT="${2:-100000}"
VESSEL="${VESSEL_BIN:-$ROOT/.build/debug/vessel}"
PY="${UI_PYTHON:-${VESSEL_TEST_PYTHON:-/tmp/ui-venv/bin/python}}"
WORK="$(mktemp -d /tmp/vessel-bench-ui.XXXXXX)"
PID=""
cleanup() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT
export VESSEL_ADMIN_TOKEN="vsl_bench-ui-$RANDOM$RANDOM"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"

start() {
  "$VESSEL" serve --data-dir "$WORK/data" --port "$PORT" --log-level warning >>"$WORK/serve.log" 2>&1 & PID=$!
  for _ in $(seq 1 150); do curl -sf "$URL/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "server did not start"; cat "$WORK/serve.log"; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

start
echo "== vessel web UI bench: $VERSIONS versions, $AUDIT audit entries, $("$VESSEL" --version) ($VESSEL), sqlite, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s)
python3 "$ROOT/scripts/bench_ui.py" fill "$URL" "$VESSEL_ADMIN_TOKEN" "$VERSIONS" "${CLIENTS:-4}"
stop
python3 "$ROOT/scripts/bench_ui.py" audit "$WORK/data/metadata.sqlite" "$AUDIT"
start
echo "fill: $(( $(date +%s) - t0 )) s"
python3 "$ROOT/scripts/bench_ui.py" render "$URL" "$VESSEL_ADMIN_TOKEN" "${RUNS:-200}"
if [ -x "$PY" ] && "$PY" -c 'import playwright' 2>/dev/null; then
  "$PY" "$ROOT/scripts/bench_ui.py" browser "$URL" "$VESSEL_ADMIN_TOKEN" "${CHROMIUM:-/usr/bin/chromium}"
else
  echo "DOMContentLoaded: skipped (no python with playwright at $PY; set UI_PYTHON)"
fi
