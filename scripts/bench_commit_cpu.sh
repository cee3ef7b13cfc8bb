#!/usr/bin/env bash
# Server CPU per registered version (issue 27's commit-path profile, docs/search.md): starts
# BIN serve (embedded SQLite, or DATABASE=postgres://… a database of its own), registers 50
# versions to warm up, then N more (draft + commit of a one-file manifest naming one stored
# blob) from one client, and prints the server's CPU time (user + system, /proc) per version.
# CPU time rather than wall time or instruction counts: this shared VM has no hardware
# counters and its load moves wall time by 2x. Compare builds by running both, interleaved.
# Usage: scripts/bench_commit_cpu.sh BIN [N] [DATABASE]
set -euo pipefail
BIN="${1:?usage: bench_commit_cpu.sh BIN [N] [DATABASE]}"; N="${2:-300}"; DB="${3:-}"
D=$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-commit.XXXXXX"); export VESSEL_ADMIN_TOKEN="vsl_bench-commit-$RANDOM$RANDOM"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ARGS=(serve --data-dir "$D/data" --port "$PORT" --log-level warning); [ -n "$DB" ] && ARGS+=(--database "$DB")
"$BIN" "${ARGS[@]}" >"$D/serve.log" 2>&1 & PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$D"' EXIT
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "server did not start"; tail "$D/serve.log"; exit 1; }
drive() { python3 - "$PORT" "$VESSEL_ADMIN_TOKEN" "$1" "$2" <<'PY'
import hashlib, http.client, json, sys
port, token, n, phase = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
def call(method, path, body=None, raw=None):
    h = {"Authorization": f"Bearer {token}"}; data = raw
    if body is not None: data = json.dumps(body).encode(); h["Content-Type"] = "application/json"
    if data is not None: h["Content-Length"] = str(len(data))
    c.request(method, path, body=data, headers=h); r = c.getresponse(); t = r.read()
    if r.status >= 300: raise SystemExit(f"{method} {path}: {r.status} {t[:300]!r}")
    return json.loads(t) if t else None
blob = b'{"bench": true}'; d = "sha256:" + hashlib.sha256(blob).hexdigest(); m = "acme/commit-bench"
if phase == "seed":
    call("POST", f"/api/v1/models/{m}", {"description": "bench", "tags": []})
    call("PUT", f"/api/v1/models/{m}/blobs/{d}", raw=blob)
for i in range(n):
    r = call("POST", f"/api/v1/models/{m}/drafts", {"files": [{"path": f"{phase}-{i}.json", "size": len(blob), "digest": d, "media_type": "application/json"}], "description": "v"})
    call("POST", f"/api/v1/models/{m}/drafts/{r['draft_id']}/commit")
PY
}
drive 50 seed
cpu() { awk '{print $14+$15}' "/proc/$PID/stat"; }
C0=$(cpu); S=$(date +%s.%N); drive "$N" run; E=$(date +%s.%N); C1=$(cpu)
python3 -c "print(f'{($C1-$C0)/$(getconf CLK_TCK)/$N*1e3:.2f} ms server CPU per version (draft+commit), {$N/($E-$S):.0f} versions/s from 1 client, ${DB:+postgresql}${DB:-sqlite}, $BIN, load $(cut -d' ' -f1 /proc/loadavg)')"
