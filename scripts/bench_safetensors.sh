#!/usr/bin/env bash
# Benchmarks Vessel's safetensors library on a generated 4-shard, 2 GiB checkpoint.
#
#   scripts/bench_safetensors.sh [PYTHON]
#
# PYTHON defaults to .venv-bench/bin/python (scripts/requirements-bench.txt, created by
# scripts/bench_governance.sh) and needs safetensors==0.8.0 and numpy (safe_open
# needs a framework). The checkpoint goes to a fresh folder under ${TMPDIR:-/tmp} and is
# deleted on exit. Prints one JSON object per measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-.venv-bench/bin/python}"
ITERATIONS="${ITERATIONS:-200}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vessel-st-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

swift build -c release --product SafetensorsBench >&2
BENCH=.build/release/SafetensorsBench

now_ns() { date +%s%N; }

# Both in-process measurements run pinned to the same CPU: on this 2-vCPU VM an unpinned
# process that migrates between the two runs the same loop up to 2x slower, at random.
PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c "${BENCH_CPU:-0}"); fi

start=$(now_ns)
"$BENCH" generate "$WORK"
echo "{\"step\": \"generate\", \"seconds\": $(( ($(now_ns) - start) / 1000000 ))e-3, \"bytes\": $(du -cb "$WORK"/*.safetensors | tail -1 | cut -f1)}"
# Let the 2 GiB of dirty pages reach the disk first: the kernel's writeback would otherwise
# take CPU from whichever measurement runs first (Vessel's).
sync

# The in-process comparison alternates the two tools, ROUNDS times, and takes the ratio of
# each round's medians: a burst of load from a neighbour then slows both sides of one round
# instead of one side of the whole comparison. Printed: every round, then the median ratio.
cat >"$WORK/safe_open.py" <<'PY'
import glob, json, statistics, sys, time
from safetensors import safe_open
folder, iterations = sys.argv[1], int(sys.argv[2])
paths = sorted(glob.glob(folder + "/*.safetensors"))
samples = []
for _ in range(iterations):
    start = time.perf_counter_ns()
    tensors = 0
    for path in paths:
        with safe_open(path, framework="np") as handle:
            tensors += len(list(handle.keys()))
            handle.metadata()
    samples.append((time.perf_counter_ns() - start) / 1000)
print(json.dumps({"iterations": iterations, "files": len(paths), "tensors": tensors,
                  "median_us": statistics.median(samples), "min_us": min(samples)}))
PY
median_of() { sed -E 's/.*"median_us": ([0-9.]+).*/\1/'; }
ratios=()
for round in $(seq "${ROUNDS:-5}"); do
  vessel=$("${PIN[@]}" "$BENCH" headers "$WORK" "$ITERATIONS")
  python=$("${PIN[@]}" "$PYTHON" "$WORK/safe_open.py" "$WORK" "$ITERATIONS")
  ratio=$(awk -v p="$(median_of <<<"$python")" -v v="$(median_of <<<"$vessel")" 'BEGIN { printf "%.2f", p / v }')
  ratios+=("$ratio")
  echo "{\"step\": \"headers_in_process\", \"round\": $round, \"vessel\": $vessel, \"python_safe_open\": $python, \"python_over_vessel\": $ratio}"
done
echo "{\"step\": \"headers_in_process_ratio\", \"median_python_over_vessel\": $(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (${#ratios[@]} + 1) / 2 ))p"), \"target\": 5}"
echo "{\"step\": \"vessel_parse_only_in_process\", \"result\": $("${PIN[@]}" "$BENCH" parse "$WORK" "$ITERATIONS")}"

# Per-command time: a whole process inspecting the folder (headers + index check), median of 11.
samples=()
for _ in $(seq 11); do
  start=$(now_ns); "$BENCH" inspect "$WORK" >/dev/null; samples+=($(( ($(now_ns) - start) / 1000 )))
done
median=$(printf '%s\n' "${samples[@]}" | sort -n | sed -n 6p)
echo "{\"step\": \"vessel_inspect_command\", \"median_us\": $median}"

echo "{\"step\": \"zero_copy_scan\", \"result\": $("$BENCH" scan "$WORK")}"
