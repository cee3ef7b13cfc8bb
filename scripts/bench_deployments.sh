#!/usr/bin/env bash
# Deployment benchmark (release build, loopback only; nothing leaves 127.0.0.1):
#  - 100 watchers long-polling one deployment's routing document through the HTTP API: the
#    time from sending `rollback` to the last watcher holding the new routes, p50 and p99
#    over 200 rollbacks (each round is deploy, advance, rollback);
#  - deploy, advance and rollback latency through the API (with those watchers attached);
#  - `vessel route`'s overhead against a direct request (p50, p99) and its requests per second
#    against a plain upstream (SQLite run only).
#
#   scripts/bench_deployments.sh [CHANGES=200] [WATCHERS=100] [--database-url postgres://…]
#   (env CONCURRENCY=64 and DURATION=5: the requests-per-second run; SKIP_ROUTER=1 leaves it out)
#
# Targets: wake-up p99 < 50 ms on SQLite; deploy/advance/rollback p99 < 25 ms; the router adds
# <= 1 ms p50 on loopback. Do not run it while a build or tests are running: on a shared 2-core
# machine they move every figure.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
echo "== building DeploymentBench (release)"
(cd "$ROOT" && swift build -c release --product DeploymentBench >/dev/null)
BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/DeploymentBench"
"$BIN" "${1:-200}" "${2:-100}" "${@:3}"
