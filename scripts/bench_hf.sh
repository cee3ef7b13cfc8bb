#!/usr/bin/env bash
# Hugging Face Hub protocol benchmark (issue 28), one run, embedded defaults, loopback:
#  1. `vessel pull` of a SIZE_MIB (default 2048) model of 4 safetensors shards, cold cache;
#  2. `huggingface_hub.snapshot_download` of the same version from /hf, cold cache (timed
#     in-process by scripts/hf_interop.py: the call, not Python's start);
#  3. the same snapshot_download again, warm (the client's cache: one revision request), in a new
#     process (whose first call builds the HTTP client) and 20 times in one process;
#  and the ratio of 2 to 1.
# Usage: scripts/bench_hf.sh [SIZE_MIB]   (e.g. `scripts/bench_hf.sh 256` for a quick run)
# VESSEL=path uses that binary instead of building release; PYTHON=path a python with the pinned
# huggingface_hub (default: .venv-test/bin/python, made by scripts/test). Data under $TMPDIR.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SIZE_MIB="${1:-2048}"
PYTHON="${PYTHON:-$ROOT/.venv-test/bin/python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-hf.XXXXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
now() { date +%s.%N; }

"$PYTHON" -c 'import huggingface_hub' 2>/dev/null || { echo "PYTHON=$PYTHON has no huggingface_hub (pip install -r scripts/requirements-test.txt)"; exit 2; }
if [ -z "${VESSEL:-}" ]; then
  echo "== building vessel (release)"
  (cd "$ROOT" && swift build -c release --product vessel >/dev/null)
  VESSEL="$(cd "$ROOT" && swift build -c release --show-bin-path)/vessel"
fi
TOKEN="vsl_bench-hf-$RANDOM$RANDOM"
export VESSEL_ADMIN_TOKEN="$TOKEN" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/vessel-cache"
PORT=$((20000 + RANDOM % 10000))
"$VESSEL" serve --data-dir "$WORK/data" --port "$PORT" --log-level warning >"$WORK/serve.log" 2>&1 & PIDS+=("$!")
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "vessel serve did not start"; cat "$WORK/serve.log"; exit 1; }
export VESSEL_SERVER="http://127.0.0.1:$PORT" VESSEL_TOKEN="$TOKEN"

echo "== a ${SIZE_MIB} MiB model in 4 safetensors shards (random U8 tensors), an index, a config"
"$PYTHON" - "$WORK/src" "$SIZE_MIB" <<'EOF'
import json, os, struct, sys
root, mib = sys.argv[1], int(sys.argv[2])
os.makedirs(root)
per = mib * (1 << 20) // 4
weight_map = {}
for i in range(4):
    name = f"model-{i + 1:05d}-of-00004.safetensors"
    header = json.dumps({f"w{i}": {"dtype": "U8", "shape": [per], "data_offsets": [0, per]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(os.path.join(root, name), "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        left = per
        while left:
            n = min(left, 16 << 20)
            f.write(os.urandom(n))
            left -= n
    weight_map[f"w{i}"] = name
with open(os.path.join(root, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": 4 * per}, "weight_map": weight_map}, f)
with open(os.path.join(root, "config.json"), "w") as f:
    json.dump({"architectures": ["Bench"], "hidden_size": 8}, f)
EOF
"$VESSEL" push "$WORK/src" --model acme/bench --json >"$WORK/push.json"
grep -q '"state" *: *"ready"' "$WORK/push.json" || { echo "push did not make a ready version:"; cat "$WORK/push.json"; exit 1; }
BYTES="$(du -sb "$WORK/src" | cut -f1)"
rm -rf "$WORK/src"

echo "== 1. vessel pull (cold cache)"
t0="$(now)"; "$VESSEL" pull acme/bench:1 "$WORK/pulled" >/dev/null; t1="$(now)"
PULL="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
echo "vessel pull: ${PULL} s ($(awk -v n="$BYTES" -v s="$PULL" 'BEGIN { printf "%.0f", n / s / 1e6 }') MB/s)"
rm -rf "$WORK/pulled"

hub() { HF_ENDPOINT="http://127.0.0.1:$PORT/hf" HF_HOME="$WORK/hf-home" HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1 \
  "$PYTHON" "$ROOT/scripts/hf_interop.py" snapshot acme/bench 1 "$WORK/hf-cache" "$TOKEN"; }
field() { "$PYTHON" -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["ok"] and ("%.3f" % d["seconds"]) or ("FAILED: " + d["message"]), len(d["requests"]))'; }

echo "== 2. snapshot_download (cold cache)"
read -r COLD COLD_REQ < <(hub | field)
echo "snapshot_download: ${COLD} s, ${COLD_REQ} requests ($(awk -v n="$BYTES" -v s="$COLD" 'BEGIN { printf "%.0f", n / s / 1e6 }') MB/s)"
echo "== 3. snapshot_download again (warm: the client's cache)"
read -r WARM WARM_REQ < <(hub | field)
echo "snapshot_download warm, new process: $(awk -v s="$WARM" 'BEGIN { printf "%.1f", s * 1000 }') ms in-process, ${WARM_REQ} request(s) (a process's first call builds its HTTP client)"
WARM2="$(HF_ENDPOINT="http://127.0.0.1:$PORT/hf" HF_HOME="$WORK/hf-home" HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1 \
  "$PYTHON" -c '
import sys, time, huggingface_hub
cache, token = sys.argv[1], sys.argv[2]
huggingface_hub.snapshot_download("acme/bench", revision="1", cache_dir=cache, token=token)
times = []
for _ in range(20):
    t = time.perf_counter()
    huggingface_hub.snapshot_download("acme/bench", revision="1", cache_dir=cache, token=token)
    times.append(time.perf_counter() - t)
times.sort()
print("%.1f %.1f" % (times[len(times) // 2] * 1000, times[-1] * 1000))
' "$WORK/hf-cache" "$TOKEN")"
echo "snapshot_download warm, client built (20 calls after one): median ${WARM2% *} ms, max ${WARM2#* } ms"
echo "ratio snapshot_download / vessel pull (cold): $(awk -v a="$COLD" -v b="$PULL" 'BEGIN { printf "%.2f", a / b }')x"
