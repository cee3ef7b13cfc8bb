#!/usr/bin/env bash
# A/B of the pull client only (docs/transfers.md): one server (BEFORE_BIN's), one generated
# 2 GiB model (4 x 512 MiB), cold pulls with the BEFORE_BIN and AFTER_BIN clients alternating,
# ROUNDS times, each pair followed by four parallel curls of the same blobs; prints wall, user
# and sys seconds and the peak RSS of each pull. Release builds; data under /tmp, deleted on exit.
#
#   BEFORE_BIN=path/to/old/vessel AFTER_BIN=path/to/new/vessel scripts/bench_pull_ab.sh   (env: PORT=18776, ROUNDS=3)
set -euo pipefail
W=$(mktemp -d /tmp/vessel-ab.XXXXXX); SP=""; trap '[ -n "$SP" ] && kill $SP 2>/dev/null; rm -rf "$W"' EXIT
A="${BEFORE_BIN:?set BEFORE_BIN}"; B="${AFTER_BIN:?set AFTER_BIN}"; PORT="${PORT:-18776}"
mkdir -p "$W/m"; for i in 1 2 3 4; do openssl rand -out "$W/m/shard-$i.bin" $((512<<20)); done
export VESSEL_SERVER=http://127.0.0.1:$PORT VESSEL_TOKEN=ab-token-98765 XDG_CONFIG_HOME="$W/config"
VESSEL_ADMIN_TOKEN=$VESSEL_TOKEN "$A" serve --data-dir "$W/data" --port "$PORT" --log-level warning 2>"$W/server.log" & SP=$!
for _ in $(seq 100); do curl -sf "$VESSEL_SERVER/healthz" >/dev/null && break; sleep 0.1; done
"$A" push "$W/m" --model bench/ab --json >/dev/null
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "${ROUNDS:-3}"); do
  for bin in "$A" "$B"; do
    rm -rf "$W/cache" "$W/out"; sync
    /usr/bin/time -f "$(basename $bin): wall %e s user %U s sys %S s rss %M KiB" "$bin" pull bench/ab "$W/out" --cache-dir "$W/cache" --json >/dev/null
  done
  rm -rf "$W/curl"; mkdir -p "$W/curl"; sync; pids=()
  t0=$(date +%s.%N)
  for d in $("$A" show bench/ab:1 --json | jq -r '.manifest[].digest'); do
    curl -sf -H "Authorization: Bearer $VESSEL_TOKEN" -o "$W/curl/${d#sha256:}" "$VESSEL_SERVER/api/v1/models/bench/ab/blobs/$d" & pids+=($!)
  done
  wait "${pids[@]}"; t1=$(date +%s.%N)
  echo "4 curls: wall $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}') s ($(ls "$W/curl" | wc -l) files, $(du -sb "$W/curl" | cut -f1) bytes)"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
