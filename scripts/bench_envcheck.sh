#!/usr/bin/env bash
# Benchmarks `vessel env check`'s work in process (EnvCheckBench: read a 200-line requirements
# file and a 400-line pip freeze, evaluate markers, judge every requirement) beside Python's
# `packaging` doing the same check in the same run (scripts/bench_envcheck.py), and prints the
# ratio. Both sides must reach the same verdict counts, or the comparison is void.
#
#   scripts/bench_envcheck.sh [PYTHON]
#
# PYTHON defaults to .venv-test/bin/python (scripts/requirements-test.txt: packaging==26.3).
# The two sides alternate ROUNDS times; the ratio is the median of each round's medians.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-.venv-test/bin/python}"
ITERATIONS="${ITERATIONS:-200}"
ROUNDS="${ROUNDS:-5}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vessel-envcheck-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# ENVCHECK_BENCH=.build/debug/EnvCheckBench uses an existing build (no release build).
if [[ -n "${ENVCHECK_BENCH:-}" ]]; then
  BENCH="$ENVCHECK_BENCH"
else
  swift build -c release --product EnvCheckBench >&2
  BENCH=.build/release/EnvCheckBench
fi
PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c "${BENCH_CPU:-0}"); fi

"$BENCH" generate "$WORK"
echo "{\"requirements_lines\": $(wc -l <"$WORK/requirements.txt"), \"freeze_lines\": $(wc -l <"$WORK/freeze.txt"), \"packaging\": \"$("$PYTHON" -c 'import packaging; print(packaging.__version__)')\"}"
ratios=()
for round in $(seq "$ROUNDS"); do
  vessel=$("${PIN[@]}" "$BENCH" time "$WORK" "$ITERATIONS")
  python=$("${PIN[@]}" "$PYTHON" scripts/bench_envcheck.py "$WORK" "$ITERATIONS")
  v_us=$(echo "$vessel" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["median_us"])')
  p_us=$(echo "$python" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["median_us"])')
  same=$("$PYTHON" -c 'import json,sys; print(str(json.loads(sys.argv[1])["verdicts"] == json.loads(sys.argv[2])["verdicts"]).lower())' "$vessel" "$python")
  ratio=$("$PYTHON" -c "print(round($p_us / $v_us, 2))")
  ratios+=("$ratio")
  echo "{\"round\": $round, \"vessel_us\": $v_us, \"packaging_us\": $p_us, \"packaging_over_vessel\": $ratio, \"same_verdicts\": $same, \"verdicts\": $(echo "$vessel" | "$PYTHON" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["verdicts"]))')}"
  if [ "$same" != true ]; then echo "verdicts differ: vessel $vessel, packaging $python" >&2; exit 1; fi
done
echo "{\"median_packaging_over_vessel\": $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')}"
