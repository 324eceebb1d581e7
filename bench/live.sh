#!/usr/bin/env bash
# Live progress under load: N (default 300) live-progress streams open on one
# tenant's project, while another tenant lists its projects. Streams of one
# project share one feed, so the list must stay fast (the issue's figure:
# under 100 ms). Prints the list's latency (median, p95, max of 50 requests)
# with the streams open, and without them for comparison.
# Usage: bench/live.sh [--streams N]   (REELFORGE_BIN=... to skip the build, BENCH_BUILD=debug for a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

streams=300
while [ $# -gt 0 ]; do
    case "$1" in
        --streams) streams="$2"; shift 2 ;;
        *) echo "usage: bench/live.sh [--streams N]" >&2; exit 2 ;;
    esac
done

bin="$(reelforge_bin "${BENCH_BUILD:-release}")"
use_scratch
port="$(free_port)"
base="http://127.0.0.1:$port"
# No workers: the watched project stays queued, so its streams stay open.
export DATA_DIR="$work" BIND="127.0.0.1:$port" PUBLIC_URL="$base" RUST_LOG=warn \
       RATE_LIMIT_EMAIL_PER_15M=0 RATE_LIMIT_IP_PER_15M=0 WORKER_CONCURRENCY=0 \
       LIVE_STREAMS_PER_TENANT=0 LIVE_STREAMS_MAX=0
"$bin" serve >"$work/server.log" 2>&1 &
pid=$!
wait_ready "$base" "$pid" "$work/server.log" bench/live.sh

watcher="$(sign_in "$base" "$work/outbox" watcher@example.com)"
other="$(sign_in "$base" "$work/outbox" other@example.com)"
project=$(curl -fs -X POST "$base/api/v1/projects" -H 'content-type: application/json' \
     -H "Authorization: Bearer $watcher" \
     -d '{"title":"watched","script":"One scene.\n\nTwo scenes.","template_id":"explainer"}' \
     | python3 -c 'import json,sys; print(json.load(sys.stdin)["project_id"])')
for i in 1 2 3; do
    curl -fs -X POST "$base/api/v1/projects" -H 'content-type: application/json' -H "Authorization: Bearer $other" \
        -d "{\"title\":\"mine $i\",\"script\":\"Hello.\",\"template_id\":\"explainer\"}" >/dev/null
done

measure() { # label
    local label="$1"
    for _ in $(seq 1 50); do
        curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $other" "$base/api/v1/projects"
        sleep 0.02
    done | python3 -c "
import sys
t = sorted(float(x) * 1000 for x in sys.stdin if x.strip())
print(f'$label: median {t[len(t)//2]:.1f} ms, p95 {t[int(len(t)*0.95)-1]:.1f} ms, max {t[-1]:.1f} ms')
"
}

measure "project list, no streams"
stream_pids=()
for _ in $(seq 1 "$streams"); do
    curl -fsN -H "Authorization: Bearer $watcher" "$base/api/v1/projects/$project/events" >/dev/null 2>&1 &
    stream_pids+=($!)
done
sleep 3
open=$(ls "/proc/$pid/fd" | wc -l)
measure "project list, $streams streams open on the other tenant project"
echo "server file descriptors with the streams open: $open"
kill "${stream_pids[@]}" 2>/dev/null || true
wait "${stream_pids[@]}" 2>/dev/null || true
