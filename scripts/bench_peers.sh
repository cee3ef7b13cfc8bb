#!/usr/bin/env bash
# Peer-to-peer benchmark (issue 30, docs/peers.md "Pulling from peers"): eight nodes on one
# machine, each a process with its own cache folder, pull one 512 MiB sharded model (8 x 64 MiB
# shards) from an origin `vessel serve --egress-limit 100000000` (100 MB/s,
# the benchmark flag), all eight starting together:
#   1. without peers (`vessel pull --peers off`);
#   2. with peers: each node also runs `vessel cache serve` on its cache (announcing what it
#      holds), and pulls with `--peers auto`.
# Measured: origin egress (vessel_blob_bytes_served_total on /metrics, before and after) and
# the time until all eight pulls finished. Targets: egress with peers <= 1.5 x the model
# (against 8 x without), time <= 0.35 x the time without peers.
#
#   scripts/bench_peers.sh   (env: BENCH_DIR=/tmp, PORT=18790, NODES=8, SHARDS=8, SHARD_MIB=64,
#                             EGRESS=100000000, VESSEL_BIN=path to a built vessel; default: the
#                             debug build in .build/debug)
# Everything generated is deleted on exit; every process started is killed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${PORT:-18790}"
NODES="${NODES:-8}"
SHARDS="${SHARDS:-8}"
SHARD_MIB="${SHARD_MIB:-64}"
EGRESS="${EGRESS:-100000000}"
VESSEL="${VESSEL_BIN:-$ROOT/.build/debug/vessel}"
WORK="$(mktemp -d "${BENCH_DIR:-/tmp}/vessel-bench-peers.XXXXXX")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -x "$VESSEL" ] || { echo "no vessel binary at $VESSEL (swift build --product vessel, or VESSEL_BIN=...)" >&2; exit 2; }

export VESSEL_SERVER="http://127.0.0.1:$PORT" VESSEL_TOKEN="vsl_bench-peers-admin"
export XDG_CONFIG_HOME="$WORK/config"
now() { date +%s.%N; }
egress() { curl -fsS "$VESSEL_SERVER/metrics" | awk '$1 == "vessel_blob_bytes_served_total" { printf "%.0f\n", $2 }'; }

echo "== origin: vessel serve --egress-limit $EGRESS ($VESSEL)"
VESSEL_ADMIN_TOKEN="$VESSEL_TOKEN" "$VESSEL" serve --data-dir "$WORK/origin" --port "$PORT" --log-level warning --egress-limit "$EGRESS" >"$WORK/origin.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do curl -fsS "$VESSEL_SERVER/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$VESSEL_SERVER/healthz" >/dev/null || { cat "$WORK/origin.log"; exit 1; }

echo "== model: $SHARDS x $SHARD_MIB MiB shards"
mkdir -p "$WORK/model"
for i in $(seq 1 "$SHARDS"); do
  head -c $((SHARD_MIB << 20)) /dev/urandom >"$WORK/model/model-$(printf %05d "$i")-of-$(printf %05d "$SHARDS").bin"
done
echo '{"architectures":["Bench"]}' >"$WORK/model/config.json"
MODEL_BYTES=$(du -cb "$WORK/model"/* | tail -1 | cut -f1)
"$VESSEL" push "$WORK/model" --model bench/peers >/dev/null
# The registry computes piece digests the first time `sources` is asked (or at upload): ask
# once here so neither run pays it.
"$VESSEL" pull bench/peers "$WORK/prime" --cache-dir "$WORK/prime-cache" --peers auto >/dev/null
rm -rf "$WORK/prime" "$WORK/prime-cache"

run() { # $1 = off|auto
  local mode="$1" start end before after pulls=()
  before=$(egress)
  start=$(now)
  # Where the time goes: origin egress sampled every 0.5 s, and when each pull ended.
  ( while :; do echo "$(now) $(egress)"; sleep 0.5; done ) >"$WORK/$mode-egress.log" 2>/dev/null &
  local sampler=$!
  for n in $(seq 1 "$NODES"); do
    ( "$VESSEL" pull bench/peers "$WORK/$mode-out-$n" --cache-dir "$WORK/$mode-cache-$n" --peers "$mode" --json >"$WORK/$mode-pull-$n.json" 2>"$WORK/$mode-pull-$n.err"; rc=$?; now >"$WORK/$mode-end-$n"; exit $rc ) &
    pulls+=($!)
  done
  local failed=0
  for pid in "${pulls[@]}"; do wait "$pid" || failed=1; done
  end=$(now)
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  after=$(egress)
  # The last egress sample that grew, and the first and last pull to end, from the start.
  local last_egress first_end
  last_egress=$(awk -v s="$start" 'NR > 1 && $2 != prev { t = $1 } { prev = $2 } END { printf "%.1f", (t ? t - s : 0) }' "$WORK/$mode-egress.log")
  first_end=$(cat "$WORK/$mode"-end-* | sort -n | head -1)
  echo "$mode: origin egress last grew at ${last_egress} s; first pull done at $(echo "$first_end - $start" | bc -l | xargs printf '%.1f') s, last at $(echo "$end - $start" | bc -l | xargs printf '%.1f') s" >&2
  if [ "$failed" = 1 ]; then tail -n 5 "$WORK/$mode"-pull-*.err >&2; echo "a pull failed" >&2; exit 1; fi
  echo "$(echo "$end - $start" | bc -l) $((after - before))"
}

echo "== without peers: $NODES pulls at once"
read -r T_OFF E_OFF < <(run off)

echo "== with peers: $NODES cache servers, then $NODES pulls at once"
for n in $(seq 1 "$NODES"); do
  mkdir -p "$WORK/auto-cache-$n"
  "$VESSEL" cache serve --cache-dir "$WORK/auto-cache-$n" --listen "127.0.0.1:$((PORT + n))" --peer-id "bench-node-$n" --ttl 30 >"$WORK/serve-$n.log" 2>&1 &
  PIDS+=($!)
done
for n in $(seq 1 "$NODES"); do
  for _ in $(seq 1 150); do curl -fsS "http://127.0.0.1:$((PORT + n))/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  # Announced: the pulls on this cache ask for origin leases as this peer (decision 0037).
  # A binary from before leases writes no marker: give up waiting after 5 s (untimed).
  for _ in $(seq 1 25); do [ -f "$WORK/auto-cache-$n/.peer.json" ] && break; sleep 0.2; done
done
read -r T_ON E_ON < <(run auto)
FROM_PEERS=$(cat "$WORK"/auto-pull-*.json | tr -d ' ' | { grep -o '"bytes_from_peers":[0-9]*' || true; } | cut -d: -f2 | paste -sd+ | bc)

for n in $(seq 1 "$NODES"); do
  cmp -s "$WORK/model/model-00001-of-$(printf %05d "$SHARDS").bin" "$WORK/auto-out-$n/model-00001-of-$(printf %05d "$SHARDS").bin" || { echo "node $n pulled different bytes" >&2; exit 1; }
done

printf '\nmodel %d bytes, %d nodes, origin egress limit %d B/s, vessel %s\n' "$MODEL_BYTES" "$NODES" "$EGRESS" "$VESSEL"
printf '%-14s %10s %16s %14s\n' "run" "time (s)" "origin egress" "x model"
printf '%-14s %10.1f %16d %14.2f\n' "peers off" "$T_OFF" "$E_OFF" "$(echo "$E_OFF / $MODEL_BYTES" | bc -l)"
printf '%-14s %10.1f %16d %14.2f\n' "peers auto" "$T_ON" "$E_ON" "$(echo "$E_ON / $MODEL_BYTES" | bc -l)"
printf 'bytes from peers (all nodes): %d\n' "$FROM_PEERS"
printf 'ratios: egress with/without %.2f (target <= 1.5/8 = 0.19); time with/without %.2f (target <= 0.35)\n' \
  "$(echo "$E_ON / $E_OFF" | bc -l)" "$(echo "$T_ON / $T_OFF" | bc -l)"
