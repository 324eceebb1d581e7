#!/usr/bin/env bash
# `make bench`: start-up time, idle memory, and authenticated-read throughput
# against /healthz on one release server over loopback (wrk, 64 connections).
# Prints a summary and writes it to $BENCH_OUT (default test-output/bench.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
target_dir="$(target_dir)"
bin="$target_dir/release/reelforge"
out="${BENCH_OUT:-test-output/bench.txt}"
duration="${BENCH_SECONDS:-10}"
mkdir -p "$(dirname "$out")"
command -v wrk >/dev/null 2>&1 || { echo "bench/run.sh: wrk is not installed; \`make bench\` installs it" >&2; exit 1; }

use_scratch
port="$(free_port)"
base="http://127.0.0.1:$port"

export DATA_DIR="$work" BIND="127.0.0.1:$port" PUBLIC_URL="$base" RUST_LOG=warn \
       RATE_LIMIT_EMAIL_PER_15M=0 RATE_LIMIT_IP_PER_15M=0 WORKER_CONCURRENCY=0

start_ns=$(date +%s%N)
"$bin" serve >"$work/server.log" 2>&1 &
pid=$!
until curl -fs "$base/readyz" >/dev/null 2>&1; do sleep 0.005; done
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
sleep 1
idle_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

# Sign in through the outbox like a person would.
access="$(sign_in "$base" "$work/outbox" bench@example.com)"

run_wrk() { # name url [header]
    local name="$1" url="$2" header="${3:-}"
    local args=(-t2 -c64 -d"${duration}s" --latency)
    [ -n "$header" ] && args+=(-H "$header")
    wrk "${args[@]}" "$url" >"$work/wrk-$name.txt"
    local rps p99 non2xx errors
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$name.txt")
    p99=$(awk '$1=="99%" {print $2}' "$work/wrk-$name.txt")
    non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk-$name.txt"); non2xx=${non2xx:-0}
    errors=$(awk '/Socket errors/ {print $0}' "$work/wrk-$name.txt"); errors=${errors:-none}
    echo "$name $rps $p99 $non2xx $errors"
}

health=$(run_wrk healthz "$base/healthz")
me=$(run_wrk me "$base/api/auth/me" "Authorization: Bearer $access")
usage=$(run_wrk usage "$base/api/usage" "Authorization: Bearer $access")
# A project's status (no workers run here, so it stays queued: a pure read).
project=$(curl -fs -X POST "$base/api/v1/projects" -H 'content-type: application/json' -H "Authorization: Bearer $access" \
     -d '{"title":"bench","script":"One scene to read back.","template_id":"explainer"}' \
     | python3 -c 'import json,sys; print(json.load(sys.stdin)["project_id"])')
status=$(run_wrk status "$base/api/v1/projects/$project" "Authorization: Bearer $access")
busy_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

health_rps=$(echo "$health" | awk '{print $2}')
me_rps=$(echo "$me" | awk '{print $2}')
ratio=$(python3 -c "print(f'{100*$me_rps/$health_rps:.0f}%')")
{
    echo "Reelforge benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, SQLite, wrk -t2 -c64 -d${duration}s)"
    echo "start to ready:            ${ready_ms} ms"
    echo "idle RSS:                  $((idle_rss_kb / 1024)) MB"
    echo "RSS after load:            $((busy_rss_kb / 1024)) MB"
    printf "%-26s %10s req/s  p99 %-9s non-2xx %s  socket errors: %s\n" "GET /healthz" $(echo "$health" | awk '{print $2, $3, $4}') "$(echo "$health" | cut -d' ' -f5-)"
    printf "%-26s %10s req/s  p99 %-9s non-2xx %s  socket errors: %s\n" "GET /api/auth/me (JWT)" $(echo "$me" | awk '{print $2, $3, $4}') "$(echo "$me" | cut -d' ' -f5-)"
    echo "authenticated / healthz:   $ratio"
    printf "%-26s %10s req/s  p99 %-9s non-2xx %s  socket errors: %s\n" "GET /api/usage (JWT)" $(echo "$usage" | awk '{print $2, $3, $4}') "$(echo "$usage" | cut -d' ' -f5-)"
    echo "usage / healthz:           $(python3 -c "print(f'{100*$(echo "$usage" | awk '{print $2}')/$health_rps:.0f}%')")"
    printf "%-26s %10s req/s  p99 %-9s non-2xx %s  socket errors: %s\n" "GET /api/v1/projects/{id}" $(echo "$status" | awk '{print $2, $3, $4}') "$(echo "$status" | cut -d' ' -f5-)"
    echo "project status / healthz:  $(python3 -c "print(f'{100*$(echo "$status" | awk '{print $2}')/$health_rps:.0f}%')")"
} | tee "$out"
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""
# BENCH_HTTP_ONLY=1 stops here (the HTTP figures only, in under a minute).
[ "${BENCH_HTTP_ONLY:-0}" = 1 ] && exit 0
cargo bench --locked --bench admission 2>/dev/null | grep admission | tee -a "$out"
cargo bench --locked --bench account 2>/dev/null | grep -E "^(export|backup|restore)" | tee -a "$out"
cargo bench --locked --bench claim 2>/dev/null | grep "queue claim" | tee -a "$out"
# Another tenant's list with 300 live-progress streams open; memory under 50 parallel downloads.
env -u DATA_DIR -u BIND -u PUBLIC_URL REELFORGE_BIN="$bin" bench/live.sh | tee -a "$out"
env -u DATA_DIR -u BIND -u PUBLIC_URL REELFORGE_BIN="$bin" bench/downloads.sh | tee -a "$out"
# Webhook delivery lag: event to arrival at a local receiver (p99 under 1 s).
env -u DATA_DIR -u BIND -u PUBLIC_URL REELFORGE_BIN="$bin" bench/webhooks.sh | tee -a "$out"
# Admitting a 500-row batch: POST /api/v1/batches to its 202 (median, p99).
env -u WORKER_CONCURRENCY -u DATA_DIR -u BIND -u PUBLIC_URL REELFORGE_BIN="$bin" bench/batches.sh | tee -a "$out"
# Overage meter-event lag: ledger row past the quota to the Stripe stand-in.
env -u WORKER_CONCURRENCY -u DATA_DIR -u BIND -u PUBLIC_URL REELFORGE_BIN="$bin" bench/overage.sh | tee -a "$out"
# Teams: inviting, joining, a member's read with 50 members, a role change and a removal seen at the next request.
env -u WORKER_CONCURRENCY -u DATA_DIR -u BIND -u PUBLIC_URL REELFORGE_BIN="$bin" bench/teams.sh | tee -a "$out"
env -u WORKER_CONCURRENCY -u DATA_DIR -u BIND -u PUBLIC_URL -u RATE_LIMIT_EMAIL_PER_15M -u RATE_LIMIT_IP_PER_15M \
    python3 bench/scaleout.py | tee -a "$out"
# The render benchmark uses the defaults (all cores), not the server's settings above.
env -u WORKER_CONCURRENCY -u DATA_DIR -u BIND -u PUBLIC_URL bench/pipeline.sh | tee -a "$out"
# A one-scene edit of a 10-scene 720p project re-rendered (at most 30% of the first render).
env -u WORKER_CONCURRENCY -u DATA_DIR -u BIND -u PUBLIC_URL -u RATE_LIMIT_EMAIL_PER_15M -u RATE_LIMIT_IP_PER_15M \
    REELFORGE_BIN="$bin" bench/rerender.sh | tee -a "$out"
# Piper narration, two scenes at once (at least 10x realtime once the voices are loaded).
bench/narration.sh | tee -a "$out"
# A 10-scene 720p render from 720p clips (the stock rendition a 720p frame gets) against re-encoding its own output.
cargo run --locked --release -q -p reelforge-media --example clip_bench 2>/dev/null | tail -5 | tee -a "$out"
# A 10-scene 720p project of stock clips from a local Pexels stand-in (at least 3x realtime, at most 1.5x the floor).
env -u WORKER_CONCURRENCY -u DATA_DIR -u BIND -u PUBLIC_URL REELFORGE_BIN="$bin" bench/stock.sh | tee -a "$out"
