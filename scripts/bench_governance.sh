#!/usr/bin/env bash
# Promotion latency with every gate on (p50/p99 over N promotions) and alias-resolution
# throughput under load (wrk against the authenticated resolve endpoint), on embedded defaults.
# Usage: scripts/bench_governance.sh [promotions=500] [wrk seconds=30]
# The MLflow side of the issue's comparison is not run here (a 1.3 GB install); see the note.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
SECONDS_WRK=${2:-30}
command -v wrk >/dev/null || apt-get install -y --no-install-recommends wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends wrk >/dev/null; }
swift build -c release --product vessel >/dev/null
V=$PWD/.build/release/vessel
DATA=$(mktemp -d)
PORT=18750
TOKEN=vsl_bench-admin
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
VESSEL_ADMIN_TOKEN=$TOKEN $V serve --data-dir "$DATA/server" --port $PORT --log-level error &
SERVER=$!
export VESSEL_SERVER=http://127.0.0.1:$PORT VESSEL_TOKEN=$TOKEN
for _ in $(seq 100); do $V whoami >/dev/null 2>&1 && break; sleep 0.1; done

mkdir -p "$DATA/model"
python3 - "$DATA/model/model.safetensors" <<'PY'
import json, struct, sys
header = json.dumps({"w": {"dtype": "F32", "shape": [256, 256], "data_offsets": [0, 262144]}}).encode()
header += b" " * (-len(header) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(header)) + header + bytes(262144))
PY
echo '{"arch": "bench"}' > "$DATA/model/config.json"
openssl ecparam -name prime256v1 -genkey -noout -out "$DATA/key.pem" 2>/dev/null
openssl ec -in "$DATA/key.pem" -pubout -out "$DATA/pub.pem" 2>/dev/null
$V keys add release "$DATA/pub.pem" >/dev/null
for i in 1 2; do
  echo "{\"arch\": \"bench\", \"i\": $i}" > "$DATA/model/config.json"
  $V push "$DATA/model" --model acme/bench --sign-key "$DATA/key.pem" >/dev/null
  $V check report acme/bench:$i --name eval --status passed --metric accuracy=0.95 >/dev/null
done
$V protect 'acme/*' production --roles maintainer --gate scan-clean --gate safetensors-only \
  --gate signed-by:release --gate check:eval --gate 'metric:accuracy>=0.9' >/dev/null

python3 - "$VESSEL_SERVER" "$TOKEN" "$N" <<'PY'
import sys, time, requests, statistics
server, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = requests.Session()
s.headers["Authorization"] = f"Bearer {token}"
lat = []
for i in range(n):
    body = {"version": 1 + i % 2, "to": "production"}
    t = time.perf_counter()
    r = s.post(f"{server}/api/v1/models/acme/bench/promote", json=body)
    lat.append((time.perf_counter() - t) * 1000)
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
lat.sort()
print(f"promotion latency over {n} promotions, 5 gates: p50 {lat[n//2]:.2f} ms, p99 {lat[int(n*0.99)-1]:.2f} ms, max {lat[-1]:.2f} ms")
PY

cat > "$DATA/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
echo "alias resolution under load (wrk -t1 -c32 -d${SECONDS_WRK}s --latency):"
wrk -t1 -c32 -d"${SECONDS_WRK}s" --latency -s "$DATA/auth.lua" "$VESSEL_SERVER/api/v1/models/acme/bench/aliases/production/resolve" | grep -E "Requests/sec|50%|99%|Non-2xx"
