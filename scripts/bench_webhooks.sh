#!/usr/bin/env bash
# Webhook benchmark (release build, loopback only; nothing leaves 127.0.0.1):
#  - events delivered per second to a local receiver (a child process at nice 10, standing
#    in for another machine; --receiver-in-process for the old setup), one
#    ordered stream and many streams;
#  - promotion latency (p50/p99) over 500 promotions through the HTTP API with no
#    subscriptions, then with 10 subscriptions of which one never answers.
#
#   scripts/bench_webhooks.sh [EVENTS=5000] [PROMOTIONS=500] [--database-url postgres://…]
#   (env ROUNDS=5: alternating latency rounds; the median per-round ratio is the figure)
#
# Targets: >= 1,000 events/s; p50 and p99 with subscriptions <= 1.1x without.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
echo "== building WebhookBench (release)"
(cd "$ROOT" && swift build -c release --product WebhookBench >/dev/null)
BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/WebhookBench"
"$BIN" "${1:-5000}" "${2:-500}" "${@:3}"
