#!/usr/bin/env bash
# Memory under parallel downloads: N (default 50) parallel full downloads of a
# 10 MB video from one server. Downloads are streamed from storage, so the
# server's resident memory must rise by far less than N x 10 MB (the figure
# the issue asks for: under 50 MB). Prints the idle RSS, the peak RSS while
# the downloads run, and the rise.
# Usage: bench/downloads.sh [--parallel N] [--mb M]   (REELFORGE_BIN=... to skip the build, BENCH_BUILD=debug for a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

parallel=50
mb=10
while [ $# -gt 0 ]; do
    case "$1" in
        --parallel) parallel="$2"; shift 2 ;;
        --mb) mb="$2"; shift 2 ;;
        *) echo "usage: bench/downloads.sh [--parallel N] [--mb M]" >&2; exit 2 ;;
    esac
done

bin="$(reelforge_bin "${BENCH_BUILD:-release}")"
use_scratch
port="$(free_port)"
base="http://127.0.0.1:$port"
export DATA_DIR="$work" BIND="127.0.0.1:$port" PUBLIC_URL="$base" RUST_LOG=warn \
       RATE_LIMIT_EMAIL_PER_15M=0 RATE_LIMIT_IP_PER_15M=0 WORKER_CONCURRENCY=1
"$bin" serve >"$work/server.log" 2>&1 &
pid=$!
wait_ready "$base" "$pid" "$work/server.log" bench/downloads.sh

access="$(sign_in "$base" "$work/outbox" downloads@example.com)"
auth=(-H "Authorization: Bearer $access")
project=$(curl -fs -X POST "$base/api/v1/projects" -H 'content-type: application/json' "${auth[@]}" \
     -d '{"title":"bench","script":"One short scene.","template_id":"explainer"}' \
     | python3 -c 'import json,sys; print(json.load(sys.stdin)["project_id"])')
for _ in $(seq 1 600); do
    status=$(curl -fs "${auth[@]}" "$base/api/v1/projects/$project" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    case "$status" in completed) break ;; failed|cancelled|partial) echo "render ended $status" >&2; exit 1 ;; esac
    sleep 0.5
done
[ "$status" = completed ] || { echo "render did not finish" >&2; exit 1; }

# Replace the rendered video in file storage by M MB of random bytes.
key=$(python3 - "$work/reelforge.db" "$project" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT video_key FROM projects WHERE id = ?", (sys.argv[2],)).fetchone()[0])
PY
)
head -c "$((mb * 1024 * 1024))" /dev/urandom >"$work/media/$key"
size=$(stat -c %s "$work/media/$key")

sleep 1
idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
peak_file="$work/peak"
echo "$idle_kb" >"$peak_file"
(
    peak=$idle_kb
    while kill -0 "$pid" 2>/dev/null && [ ! -e "$work/done" ]; do
        now=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
        [ "$now" -gt "$peak" ] && { peak=$now; echo "$peak" >"$peak_file"; }
        sleep 0.01
    done
) &
sampler=$!
started=$(date +%s%N)
seq 1 "$parallel" | xargs -P "$parallel" -I{} \
    curl -fs -o /dev/null -w '%{size_download}\n' "${auth[@]}" "$base/api/v1/projects/$project/video" >"$work/sizes"
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
touch "$work/done"
wait "$sampler"
peak_kb=$(cat "$peak_file")
complete=$(awk -v size="$size" '$1 == size' "$work/sizes" | wc -l)
echo "downloads: $complete of $parallel complete ($size bytes each) in ${elapsed_ms} ms"
echo "RSS idle: $((idle_kb / 1024)) MB; peak during downloads: $((peak_kb / 1024)) MB; rise: $(( (peak_kb - idle_kb) / 1024 )) MB"
[ "$complete" -eq "$parallel" ] || exit 1
