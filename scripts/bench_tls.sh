#!/usr/bin/env bash
# HTTPS against plain HTTP on loopback, in one run (issue 33, docs/tls.md): push and cold pull of a
# generated 2 GiB model (4 x 512 MiB files) with the release `vessel`, ROUNDS times each on a
# fresh server (median reported), and alias resolution req/s with keep-alive (wrk, 4 threads,
# 32 connections) against `GET /api/v1/models/bench/m/aliases/production`; plus the protocol and
# cipher suite the server negotiates. A throwaway PKI from scripts/tls_test_pki.sh. Everything
# is generated under BENCH_DIR (default /tmp) and deleted on exit. MB = 10^6 bytes.
#
#   scripts/bench_tls.sh            (env: BENCH_DIR=/tmp, ROUNDS=3, WRK_SECONDS=15, VESSEL_BIN=…)
#
# Target: HTTPS push and cold pull >= 0.8 x plain (AES-GCM runs on AES-NI here).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${BENCH_DIR:-/tmp}/vessel-bench-tls.XXXXXX")"
ROUNDS="${ROUNDS:-3}"
WRK_SECONDS="${WRK_SECONDS:-15}"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${VESSEL_BIN:-}" ]; then
  echo "== building vessel (release)" >&2
  (cd "$ROOT" && swift build -c release --product vessel >/dev/null)
  VESSEL_BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/vessel"
fi
command -v wrk >/dev/null || apt-get install -y --no-install-recommends wrk >/dev/null 2>&1 \
  || { apt-get update >/dev/null && apt-get install -y --no-install-recommends wrk >/dev/null; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

echo "== test PKI and a 2 GiB model" >&2
"$ROOT/scripts/tls_test_pki.sh" "$WORK/pki" >/dev/null
mkdir -p "$WORK/model"
for i in 1 2 3 4; do openssl rand -out "$WORK/model/shard-$i.bin" $((512 << 20)); done
BYTES=$((2048 << 20))
TOKEN="vsl_bench-tls-$RANDOM$RANDOM"
export VESSEL_TOKEN="$TOKEN" XDG_CONFIG_HOME="$WORK/config" VESSEL_CA_CERT="$WORK/pki/ca.pem"
PORT=$(free_port)

# start_server MODE: plain or tls
start_server() {
  local args=()
  if [ "$1" = tls ]; then
    args=(--tls-cert "$WORK/pki/server.pem" --tls-key "$WORK/pki/server.key")
    export VESSEL_SERVER="https://127.0.0.1:$PORT"
  else
    export VESSEL_SERVER="http://127.0.0.1:$PORT"
  fi
  rm -rf "$WORK/data"
  VESSEL_ADMIN_TOKEN="$TOKEN" "$VESSEL_BIN" serve --data-dir "$WORK/data" --port "$PORT" --log-level warning "${args[@]}" 2>>"$WORK/server.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do curl -sf --cacert "$VESSEL_CA_CERT" "$VESSEL_SERVER/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start"; cat "$WORK/server.log"; exit 1
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

declare -A PUSH COLD RPS
for mode in plain tls; do PUSH[$mode]=""; COLD[$mode]=""; done
for round in $(seq "$ROUNDS"); do
  for mode in plain tls; do
    start_server "$mode"
    rm -rf "$WORK/cache" "$WORK/out"
    sync
    T0="$(now)"; "$VESSEL_BIN" push "$WORK/model" --model bench/m --alias production --json >/dev/null; T1="$(now)"
    p="$(secs "$T0" "$T1")"
    sync
    T0="$(now)"; "$VESSEL_BIN" pull bench/m@production "$WORK/out" --cache-dir "$WORK/cache" --json >/dev/null; T1="$(now)"
    c="$(secs "$T0" "$T1")"
    PUSH[$mode]+="$p "; COLD[$mode]+="$c "
    echo "   round $round $mode: push $(mbps $BYTES "$p") MB/s ($p s), cold pull $(mbps $BYTES "$c") MB/s ($c s)" >&2
    stop_server
  done
done

echo "== alias resolution, keep-alive (wrk -t4 -c32 -d${WRK_SECONDS}s)" >&2
cat > "$WORK/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
echo '{"a": 1}' > "$WORK/small.json"
for mode in plain tls; do
  start_server "$mode"
  mkdir -p "$WORK/small"; cp "$WORK/small.json" "$WORK/small/config.json"
  "$VESSEL_BIN" push "$WORK/small" --model bench/m --alias production >/dev/null
  wrk -t4 -c32 -d"${WRK_SECONDS}s" -s "$WORK/auth.lua" "$VESSEL_SERVER/api/v1/models/bench/m/aliases/production" >"$WORK/wrk-$mode.txt"
  grep -E "Non-2xx|Socket errors" "$WORK/wrk-$mode.txt" >&2 || true
  RPS[$mode]="$(awk '/Requests\/sec/ { print $2 }' "$WORK/wrk-$mode.txt")"
  if [ "$mode" = tls ]; then
    NEGOTIATED="$(openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$VESSEL_CA_CERT" </dev/null 2>/dev/null | awk '/^New,/ { print $2, $NF } /Cipher is/ && !/^New/ { print }' | head -1)"
    NEGOTIATED12="$(openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -tls1_2 -CAfile "$VESSEL_CA_CERT" </dev/null 2>/dev/null | awk '/^New,/ { print $2, $NF }' | head -1)"
    ALPN="$(curl -s -o /dev/null -w '%{http_version}' --http2 --cacert "$VESSEL_CA_CERT" "$VESSEL_SERVER/healthz")"
  fi
  stop_server
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
read -r -a pp <<<"${PUSH[plain]}"; read -r -a pt <<<"${PUSH[tls]}"; read -r -a cp_ <<<"${COLD[plain]}"; read -r -a ct <<<"${COLD[tls]}"
PP="$(median "${pp[@]}")"; PT="$(median "${pt[@]}")"; CP="$(median "${cp_[@]}")"; CT="$(median "${ct[@]}")"
cat <<REPORT

HTTPS vs plain HTTP, loopback, release build, $ROUNDS rounds (median), 2 GiB (4 x 512 MiB)
                      plain            https            https/plain
push                  $(mbps $BYTES "$PP") MB/s        $(mbps $BYTES "$PT") MB/s        $(ratio "$PP" "$PT")
cold pull             $(mbps $BYTES "$CP") MB/s        $(mbps $BYTES "$CT") MB/s        $(ratio "$CP" "$CT")
alias resolve         ${RPS[plain]} req/s   ${RPS[tls]} req/s   $(ratio "${RPS[tls]}" "${RPS[plain]}")
(push/pull ratio = plain time / https time; target >= 0.80)
negotiated (openssl s_client, default): ${NEGOTIATED:-?}
negotiated with TLS 1.2 forced:         ${NEGOTIATED12:-?}
HTTP version by ALPN (curl --http2):    ${ALPN:-?}
machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), aes flag: $(grep -qw aes /proc/cpuinfo && echo yes || echo no), load $(cut -d' ' -f1-3 /proc/loadavg)
REPORT
