#!/usr/bin/env bash
# fsck, backup and restore benchmark (issue 34), embedded defaults, in one run:
#  1. `vessel fsck --data-dir D --rehash` of a generated store of SIZE_GIB (default 10) against
#     single-core SHA-256 (`openssl speed`) x cores and the disk's read speed (`dd iflag=direct`
#     over the store's own blob files), both measured in this run; the ratio is to the lower.
#  2. `vessel backup --data-dir` of a BACKUP_GIB (default 2) registry against `cp -r` of the same
#     data directory, and a second (incremental) backup of the unchanged registry.
#  3. the latency of pushes (PUSH_MIB each, default 8) while a backup runs against without.
# Usage: scripts/bench_fsck.sh [SIZE_GIB] [BACKUP_GIB]   (e.g. `scripts/bench_fsck.sh 1 0.5` for a quick run)
# VESSEL=path uses that binary instead of building release. Data goes under $TMPDIR (default /tmp).
# The page cache cannot be dropped without privileges: a store smaller than RAM is read warm by
# fsck (so the SHA-256 bound is the one that applies), the dd reference is read with O_DIRECT.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SIZE_GIB="${1:-10}"
BACKUP_GIB="${2:-2}"
PUSH_MIB="${PUSH_MIB:-8}"
CORES="$(nproc)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vessel-bench-fsck.XXXXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
now() { date +%s.%N; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

if [ -z "${VESSEL:-}" ]; then
  echo "== building vessel (release)"
  (cd "$ROOT" && swift build -c release --product vessel >/dev/null)
  VESSEL="$(cd "$ROOT" && swift build -c release --show-bin-path)/vessel"
fi
export VESSEL_ADMIN_TOKEN="vsl_bench-fsck-$RANDOM$RANDOM" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"

# A model folder of $2 MiB in 256 MiB files of random bytes, pushed as $3 to the server on port $1.
fill() {
  local port="$1" mib="$2" model="$3" dir="$WORK/src-$3"
  mkdir -p "$dir"
  local i=0 left="$mib"
  while [ "$left" -gt 0 ]; do
    local n=$(( left < 256 ? left : 256 ))
    openssl rand -out "$dir/part-$i.bin" $((n << 20)); i=$((i + 1)); left=$((left - n))
  done
  VESSEL_SERVER="http://127.0.0.1:$port" VESSEL_TOKEN="$VESSEL_ADMIN_TOKEN" "$VESSEL" push "$dir" --model "$model" --json >/dev/null
  rm -rf "$dir"
}
serve() { # dir port
  "$VESSEL" serve --data-dir "$1" --port "$2" --log-level warning >"$1.log" 2>&1 & PIDS+=("$!")
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server on $2 did not start"; cat "$1.log"; exit 1
}

echo "== references"
SHA_KBPS="$(openssl speed -bytes 16384 -seconds 3 -evp sha256 2>/dev/null | awk '/^sha256|^SHA256/ { v = $NF } END { sub(/k$/, "", v); print v }')"
SHA_MBPS="$(awk -v k="$SHA_KBPS" 'BEGIN { printf "%.0f", k * 1000 / 1e6 }')"
echo "sha256, 1 core (openssl speed, 16 KiB): $SHA_MBPS MB/s; x $CORES cores: $((SHA_MBPS * CORES)) MB/s"

echo "== 1. fsck --rehash of a ${SIZE_GIB} GiB store"
P1=$((20000 + RANDOM % 10000))
serve "$WORK/store" "$P1"
TOTAL_MIB="$(awk -v g="$SIZE_GIB" 'BEGIN { printf "%d", g * 1024 }')"
k=0; left="$TOTAL_MIB"
while [ "$left" -gt 0 ]; do n=$(( left < 2048 ? left : 2048 )); fill "$P1" "$n" "bench/store$k"; k=$((k + 1)); left=$((left - n)); done
sync
t0="$(now)"; cat "$WORK"/store/blobs/sha256/*/* >/dev/null; t1="$(now)"   # warm, as fsck will find it
BYTES="$(du -cb "$WORK"/store/blobs/sha256 | tail -1 | cut -f1)"
t2="$(now)"; for f in "$WORK"/store/blobs/sha256/*/*; do dd if="$f" of=/dev/null bs=4M iflag=direct status=none; done; t3="$(now)"
DISK_MBPS="$(mbps "$BYTES" "$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')")"
echo "disk read (dd iflag=direct, the store's blob files): $DISK_MBPS MB/s"
# The same bytes hashed by openssl, one process per core, right before each fsck: SHA-256 x cores
# as this (shared, possibly loaded) machine gives it at that moment.
openssl_all() { ls "$WORK"/store/blobs/sha256/*/* | xargs -P "$CORES" -n 4 openssl dgst -sha256 >/dev/null; }
for jobs in "$CORES" $((CORES * 2)); do
  t0="$(now)"; openssl_all; t1="$(now)"
  NOW_MBPS="$(mbps "$BYTES" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
  echo "openssl dgst -sha256 of the same blobs, $CORES processes, just now: $NOW_MBPS MB/s"
  t0="$(now)"; "$VESSEL" fsck --data-dir "$WORK/store" --rehash --jobs "$jobs" --json >"$WORK/fsck.json"; t1="$(now)"
  SECS="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
  HASHED="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_hashed"])' "$WORK/fsck.json")"
  FSCK_MBPS="$(mbps "$HASHED" "$SECS")"
  BOUND=$(( SHA_MBPS * CORES < DISK_MBPS ? SHA_MBPS * CORES : DISK_MBPS ))
  printf 'fsck --rehash --jobs %d: %.1f GB in %.2f s = %d MB/s; bound min(sha256 x cores %d, disk %d) = %d MB/s; ratio %.2f\n' \
    "$jobs" "$(awk -v b="$HASHED" 'BEGIN { print b / 1e9 }')" "$SECS" "$FSCK_MBPS" $((SHA_MBPS * CORES)) "$DISK_MBPS" "$BOUND" \
    "$(awk -v f="$FSCK_MBPS" -v b="$BOUND" 'BEGIN { print f / b }')"
  printf '  against openssl over the same blobs just before: ratio %.2f\n' "$(awk -v f="$FSCK_MBPS" -v b="$NOW_MBPS" 'BEGIN { print f / b }')"
done
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=(); rm -rf "$WORK/store"

echo "== 2. backup of a ${BACKUP_GIB} GiB registry against cp -r"
P2=$((30000 + RANDOM % 10000))
serve "$WORK/reg" "$P2"
fill "$P2" "$(awk -v g="$BACKUP_GIB" 'BEGIN { printf "%d", g * 1024 }')" bench/reg
sync
for round in 1 2 3; do
  rm -rf "$WORK/cp" "$WORK/bk"; sync
  t0="$(now)"; cp -r "$WORK/reg" "$WORK/cp"; sync; t1="$(now)"
  "$VESSEL" backup --data-dir "$WORK/reg" --to "$WORK/bk" --json >"$WORK/bk.json"; sync; t2="$(now)"
  "$VESSEL" backup --data-dir "$WORK/reg" --to "$WORK/bk" --json >"$WORK/bk2.json"; t3="$(now)"
  printf 'round %d: cp -r %.2f s, vessel backup %.2f s (%.2fx cp), second backup %.2f s copying %s bytes\n' "$round" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')" \
    "$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { print (c - b) / (b - a) }')" "$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_copied"])' "$WORK/bk2.json")"
done
rm -rf "$WORK/cp"

echo "== 3. push latency (${PUSH_MIB} MiB pushes) with and without a backup running"
pushes() { # label count-or-pid
  local label="$1" until_pid="${2:-}" n=0 times=()
  while :; do
    local dir="$WORK/push-$label-$n"; mkdir -p "$dir"; openssl rand -out "$dir/w.bin" $((PUSH_MIB << 20))
    local a b; a="$(now)"
    VESSEL_SERVER="http://127.0.0.1:$P2" VESSEL_TOKEN="$VESSEL_ADMIN_TOKEN" "$VESSEL" push "$dir" --model "bench/push-$label" --json >/dev/null
    b="$(now)"; times+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"); rm -rf "$dir"; n=$((n + 1))
    if [ -n "$until_pid" ]; then kill -0 "$until_pid" 2>/dev/null || [ "$n" -lt 3 ] || break; else [ "$n" -lt 15 ] || break; fi
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" '{ v[NR] = $1 } END { printf "%s: %d pushes, p50 %d ms, p90 %d ms, max %d ms\n", l, NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }'
}
pushes idle
rm -rf "$WORK/bk"
VESSEL_SERVER="http://127.0.0.1:$P2" VESSEL_TOKEN="$VESSEL_ADMIN_TOKEN" "$VESSEL" backup --to "$WORK/bk" --json >"$WORK/bk3.json" & BK=$!
pushes during-backup "$BK"
wait "$BK"
