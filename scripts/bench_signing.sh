#!/usr/bin/env bash
# Side-by-side benchmark: Vessel (SigningBench, release build) vs PyPI
# model-signing 1.1.1 (`model_signing sign key` / `verify key`) on a generated
# 1 GiB model of 8 files, warm page cache, best of N runs each, plus the
# hashing limit: total bytes / (cores x single-core SHA-256 speed of `openssl speed`).
#
#   scripts/bench_signing.sh            (env: RUNS=3, SIZE_MIB=1024, FILES=8, BENCH_DIR=/tmp, CLI=1)
#
# CLI=1 also builds the `vessel` product in release and times `vessel sign DIR` / `vessel verify DIR`
# (the commands users run: ModelFolder walk + FileHasher + bundle), next to SigningBench.
#
# Needs: swift, openssl, python3. model_signing comes from $VESSEL_TEST_PYTHON's venv, else from
# the venv scripts/test uses (.venv-test, or $VESSEL_TEST_VENV; scripts/requirements-test.txt pins
# model-signing==1.1.1), created here the same way when it is missing or out of date.
# The generated model is deleted on exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
RUNS="${RUNS:-3}"
SIZE_MIB="${SIZE_MIB:-1024}"
FILES="${FILES:-8}"
CORES="$(nproc)"

PY="${VESSEL_TEST_PYTHON:-}"
if [ -z "$PY" ]; then
  VENV="${VESSEL_TEST_VENV:-.venv-test}"
  case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
  if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$ROOT/scripts/requirements-test.txt" "$VENV/.requirements"; then
    echo "== python peers in $VENV (scripts/requirements-test.txt)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-test.txt"
    cp "$ROOT/scripts/requirements-test.txt" "$VENV/.requirements"
  fi
  PY="$VENV/bin/python"
fi
MS="$(dirname "$PY")/model_signing"
[ -x "$MS" ] || { echo "no model_signing next to $PY: pip install model-signing==1.1.1 into that venv" >&2; exit 1; }

echo "== building SigningBench (release)"
(cd "$ROOT" && swift build -c release --product SigningBench >/dev/null)
BENCH="$(cd "$ROOT" && swift build -c release --show-bin-path)/SigningBench"
if [ "${CLI:-0}" = 1 ]; then
  echo "== building vessel (release)"
  (cd "$ROOT" && swift build -c release --product vessel >/dev/null)
  VESSEL="$(cd "$ROOT" && swift build -c release --show-bin-path)/vessel"
fi

WORK="$(mktemp -d "${BENCH_DIR:-/tmp}/vessel-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
MODEL="$WORK/model"
mkdir -p "$MODEL/weights"

echo "== generating ${SIZE_MIB} MiB in ${FILES} files under $MODEL"
PER=$(( SIZE_MIB / FILES ))
for i in $(seq 1 "$FILES"); do
  name=$(printf 'weights/model-%05d-of-%05d.safetensors' "$i" "$FILES")
  # openssl dies of SIGPIPE when head has enough: not an error here.
  (set +o pipefail; openssl enc -aes-128-ctr -pass pass:vessel -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c "$((PER * 1048576))" > "$MODEL/$name")
  [ "$(stat -c %s "$MODEL/$name")" -eq "$((PER * 1048576))" ] || { echo "could not generate $name" >&2; exit 1; }
done
printf '{"architectures": ["Bench"]}' > "$MODEL/config.json"
BYTES=$(find "$MODEL" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')

openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.pem"
openssl ec -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null

echo "== single-core SHA-256 speed (openssl speed -bytes 16384 -evp sha256)"
SHA_KBPS=$(openssl speed -bytes 16384 -evp sha256 -seconds 3 2>/dev/null | awk '/^sha256/ {sub("k","",$2); print $2}')
SHA_BPS=$(awk -v k="$SHA_KBPS" 'BEGIN {printf "%.0f", k * 1000}')
LIMIT=$(awk -v b="$BYTES" -v s="$SHA_BPS" -v c="$CORES" 'BEGIN {printf "%.3f", b / (c * s)}')
echo "   ${SHA_KBPS} kB/s per core; limit for ${BYTES} bytes on ${CORES} cores: ${LIMIT} s"

cat "$MODEL"/config.json "$MODEL"/weights/* > /dev/null   # warm the page cache

# Runs a command RUNS times; prints "wall cpu" (seconds) of the run with the smallest wall time.
# cpu = user + sys of the process and its children, which other load on the machine barely changes.
best() { # label command...
  local label="$1"; shift
  local best_wall="" best_cpu=""
  for _ in $(seq 1 "$RUNS"); do
    local TIMEFORMAT='%R %U %S' line wall cpu
    line=$( { time "$@" >/dev/null 2>"$WORK/last.err"; } 2>&1 ) || { cat "$WORK/last.err" >&2; echo "$label failed" >&2; exit 1; }
    wall=$(echo "$line" | awk '{print $1}')
    cpu=$(echo "$line" | awk '{printf "%.3f", $2 + $3}')
    if [ -z "$best_wall" ] || awk -v t="$wall" -v b="$best_wall" 'BEGIN {exit !(t < b)}'; then best_wall="$wall"; best_cpu="$cpu"; fi
  done
  echo "$best_wall $best_cpu"
}

echo "== timing, best of $RUNS (whole process; load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
read -r V_SIGN V_SIGN_CPU < <(best "vessel sign" "$BENCH" sign "$MODEL" "$WORK/key.pem" "$WORK/vessel.sig")
read -r V_VERIFY V_VERIFY_CPU < <(best "vessel verify" "$BENCH" verify "$MODEL" "$WORK/pub.pem" "$WORK/vessel.sig")
read -r P_SIGN P_SIGN_CPU < <(best "model_signing sign" "$MS" sign key "$MODEL" --private_key "$WORK/key.pem" --signature "$WORK/python.sig")
read -r P_VERIFY P_VERIFY_CPU < <(best "model_signing verify" "$MS" verify key "$MODEL" --public_key "$WORK/pub.pem" --signature "$WORK/python.sig")
if [ "${CLI:-0}" = 1 ]; then
  read -r C_SIGN C_SIGN_CPU < <(best "vessel sign (CLI)" "$VESSEL" sign "$MODEL" --private-key "$WORK/key.pem" --signature "$WORK/cli.sig")
  read -r C_VERIFY C_VERIFY_CPU < <(best "vessel verify (CLI)" "$VESSEL" verify "$MODEL" --public-key "$WORK/pub.pem" --signature "$WORK/cli.sig")
  "$MS" verify key "$MODEL" --public_key "$WORK/pub.pem" --signature "$WORK/cli.sig" >/dev/null
  "$VESSEL" verify "$MODEL" --public-key "$WORK/pub.pem" --signature "$WORK/python.sig" >/dev/null
fi
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine inflates wall times, not CPU times)"

echo "== cross-check: each verifies the other's signature"
"$MS" verify key "$MODEL" --public_key "$WORK/pub.pem" --signature "$WORK/vessel.sig" >/dev/null
"$BENCH" verify "$MODEL" "$WORK/pub.pem" "$WORK/python.sig" 2>/dev/null
echo "   ok"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
CPU_LIMIT=$(awk -v l="$LIMIT" -v c="$CORES" 'BEGIN {printf "%.3f", l * c}')
printf '\n%-7s %9s %9s %11s %11s %9s %10s %10s\n' step "vessel" "vessel" "m_signing" "m_signing" "speed-up" "wall vs" "cpu vs"
printf '%-7s %9s %9s %11s %11s %9s %10s %10s\n' "" "wall s" "cpu s" "wall s" "cpu s" "(wall)" "limit" "cpu limit"
for step in sign verify; do
  if [ "$step" = sign ]; then vw=$V_SIGN; vc=$V_SIGN_CPU; pw=$P_SIGN; pc=$P_SIGN_CPU; else vw=$V_VERIFY; vc=$V_VERIFY_CPU; pw=$P_VERIFY; pc=$P_VERIFY_CPU; fi
  printf '%-7s %9s %9s %11s %11s %8sx %9sx %9sx\n' "$step" "$vw" "$vc" "$pw" "$pc" "$(ratio "$pw" "$vw")" "$(ratio "$vw" "$LIMIT")" "$(ratio "$vc" "$CPU_LIMIT")"
done
if [ "${CLI:-0}" = 1 ]; then
  printf '%-7s %9s %9s %11s %11s %8sx %9sx %9sx   (vessel CLI)\n' "sign" "$C_SIGN" "$C_SIGN_CPU" "$P_SIGN" "$P_SIGN_CPU" "$(ratio "$P_SIGN" "$C_SIGN")" "$(ratio "$C_SIGN" "$LIMIT")" "$(ratio "$C_SIGN_CPU" "$CPU_LIMIT")"
  printf '%-7s %9s %9s %11s %11s %8sx %9sx %9sx   (vessel CLI)\n' "verify" "$C_VERIFY" "$C_VERIFY_CPU" "$P_VERIFY" "$P_VERIFY_CPU" "$(ratio "$P_VERIFY" "$C_VERIFY")" "$(ratio "$C_VERIFY" "$LIMIT")" "$(ratio "$C_VERIFY_CPU" "$CPU_LIMIT")"
fi
echo "limit: ${LIMIT} s wall = ${BYTES} B / (${CORES} cores x ${SHA_BPS} B/s); cpu limit ${CPU_LIMIT} s = bytes / SHA-256 speed"
echo "targets: speed-up >= 1.5x; wall vs limit <= 1.2x on an otherwise idle machine (cpu vs cpu limit shows the same bound under load)"
