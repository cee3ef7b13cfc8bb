#!/usr/bin/env bash
# What computing piece digests at upload costs (decision 0038): `vessel push` of a generated
# model (SHARDS x SHARD_MIB MiB, default 3 x 512 MiB = 1.5 GiB: upload sessions, chunks of
# 64 MiB) to `vessel serve` on loopback, with `--piece-digests upload` (every byte hashed for
# the blob and for its piece) and `--piece-digests on-demand` (the blob only), alternating,
# ROUNDS times each on a fresh server. Reports the push's wall time and throughput and the
# server's CPU time during the push (utime + stime from /proc/PID/stat), median of the rounds,
# and checks that `upload` left a blob_pieces row per blob (SQLite, through sqlite3 when there).
# Also single-core SHA-256 speed (`openssl speed`) as the reference. MB = 10^6 bytes.
#
#   scripts/bench_piece_digests.sh   (env: VESSEL_BIN=path to a built vessel (else the debug
#                                     build is built), BENCH_DIR=/tmp, PORT=18761, ROUNDS=3,
#                                     SHARDS=3, SHARD_MIB=512)
# Everything generated is deleted on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${PORT:-18761}"
ROUNDS="${ROUNDS:-3}" SHARDS="${SHARDS:-3}" SHARD_MIB="${SHARD_MIB:-512}"
WORK="$(mktemp -d "${BENCH_DIR:-/tmp}/vessel-pieces.XXXXXX")"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${VESSEL_BIN:-}" ]; then
  VESSEL="$VESSEL_BIN"
else
  (cd "$ROOT" && swift build --product vessel >/dev/null)
  VESSEL="$(cd "$ROOT" && swift build --show-bin-path)/vessel"
fi
TICKS="$(getconf CLK_TCK)"
now() { date +%s.%N; }
cpu_secs() { awk -v t="$TICKS" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

SHA_KBPS="$(openssl speed -bytes 16384 -seconds 3 -evp sha256 2>/dev/null | awk '/^sha256|^SHA256/ { v = $NF } END { sub(/k$/, "", v); print v }')"
echo "sha256 (1 core, openssl speed 16 KiB): $(awk -v k="$SHA_KBPS" 'BEGIN { printf "%.0f", k * 1000 / 1e6 }') MB/s"

mkdir -p "$WORK/model"
for i in $(seq "$SHARDS"); do openssl rand -out "$WORK/model/shard-$i.bin" $((SHARD_MIB << 20)); done
BYTES=$((SHARDS * (SHARD_MIB << 20)))
echo "model: $SHARDS x $SHARD_MIB MiB = $BYTES bytes; vessel: $VESSEL"

export VESSEL_SERVER="http://127.0.0.1:$PORT" VESSEL_TOKEN="bench-$RANDOM-$RANDOM" XDG_CONFIG_HOME="$WORK/config"
declare -A WALL CPU
for mode in upload on-demand; do WALL[$mode]="" CPU[$mode]=""; done
for round in $(seq "$ROUNDS"); do
  for mode in upload on-demand; do
    rm -rf "$WORK/data"
    VESSEL_ADMIN_TOKEN="$VESSEL_TOKEN" "$VESSEL" serve --data-dir "$WORK/data" --port "$PORT" --log-level warning \
      --piece-digests "$mode" 2>>"$WORK/server.log" &
    SERVER_PID=$!
    for _ in $(seq 300); do curl -sf "$VESSEL_SERVER/healthz" >/dev/null && break; sleep 0.1; done
    sync
    c0="$(cpu_secs "$SERVER_PID")"; t0="$(now)"
    "$VESSEL" push "$WORK/model" --model bench/pieces --json >/dev/null
    t1="$(now)"; c1="$(cpu_secs "$SERVER_PID")"
    wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
    cpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')"
    WALL[$mode]+="$wall " CPU[$mode]+="$cpu "
    rows="?"
    if command -v sqlite3 >/dev/null; then rows="$(sqlite3 "$WORK/data/metadata.sqlite" 'SELECT count(*) FROM blob_pieces')"; fi
    printf 'round %s %-9s push %6.2f s  %5.0f MB/s  server cpu %6.2f s  blob_pieces rows %s\n' \
      "$round" "$mode" "$wall" "$(awk -v b="$BYTES" -v s="$wall" 'BEGIN { print b / s / 1e6 }')" "$cpu" "$rows"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  done
done
echo "== medians of $ROUNDS rounds"
for mode in upload on-demand; do
  # shellcheck disable=SC2086
  w="$(median ${WALL[$mode]})" c="$(median ${CPU[$mode]})"
  printf '%-9s push %6.2f s  %5.0f MB/s  server cpu %6.2f s (%.2f s/GiB)\n' "$mode" "$w" \
    "$(awk -v b="$BYTES" -v s="$w" 'BEGIN { print b / s / 1e6 }')" "$c" "$(awk -v c="$c" -v b="$BYTES" 'BEGIN { print c / (b / 1073741824) }')"
done
