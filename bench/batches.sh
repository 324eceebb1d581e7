#!/usr/bin/env bash
# Admitting a batch of 500 rows (issue 18): the time of POST /api/v1/batches
# with 500 JSON rows (one card scene each, storyboards), from the request to
# the 202, on SQLite with no workers (so only admission is measured, not
# rendering). Each batch is checked, then admitted in one transaction: 500
# projects, their scenes, steps and reservations, and 500 script files.
# Prints median, p99 and max over N batches, and the same for a CSV upload.
# --scenes S gives each row S scenes (at most 10: a batch makes at most 5,000).
# Usage: bench/batches.sh [--batches N] [--scenes S]   (REELFORGE_BIN=..., BENCH_BUILD=debug)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

batches=20
scenes=1
while [ $# -gt 0 ]; do
    case "$1" in
        --batches) batches="$2"; shift 2 ;;
        --scenes) scenes="$2"; shift 2 ;;
        *) echo "usage: bench/batches.sh [--batches N] [--scenes S]" >&2; exit 2 ;;
    esac
done

bin="$(reelforge_bin "${BENCH_BUILD:-release}")"
use_scratch
port="$(free_port)"
base="http://127.0.0.1:$port"
# Quotas and queue limits out of the way: every batch is admitted.
export DATA_DIR="$work" BIND="127.0.0.1:$port" PUBLIC_URL="$base" RUST_LOG=warn WORKER_CONCURRENCY=0 \
       RATE_LIMIT_EMAIL_PER_15M=0 RATE_LIMIT_IP_PER_15M=0 API_KEY_RATE_LIMIT_PER_MINUTE=0 \
       QUOTA_IMAGES_COUNT=1000000000 QUOTA_TTS_SECONDS=1000000000 QUOTA_RENDER_MINUTES=1000000000 \
       QUOTA_STORAGE_MB=1000000000 QUEUE_MAX_PENDING=1000000 QUEUE_MAX_PENDING_PER_TENANT=1000000
"$bin" serve >"$work/server.log" 2>&1 &
pid=$!
wait_ready "$base" "$pid" "$work/server.log" bench/batches.sh
token="$(sign_in "$base" "$work/outbox" batches@example.com)"

python3 - "$base" "$token" "$batches" "$scenes" <<'PY'
import json, sys, time, urllib.request
base, token, count, scenes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
script = {"title": "Hello {{name}}",
          "scenes": [{"text": f"{{{{name}}}} lives in {{{{city}}}}, and this is scene {i + 1} of their video.",
                      "visual": {"kind": "card"}} for i in range(scenes)]}
rows = [{"name": f"Person {i}", "city": f"City {i % 40}"} for i in range(500)]
json_body = json.dumps({"template_id": "explainer", "render": False, "template_script": script, "rows": rows}).encode()
csv = "name,city\r\n" + "".join(f"\"Person {i}\",City {i % 40}\r\n" for i in range(500))
batch = json.dumps({"template_id": "explainer", "render": False, "template_script": script})
boundary = "bench-boundary-5d1"
csv_body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"batch\"\r\n\r\n{batch}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"rows\"; filename=\"rows.csv\"\r\n\r\n{csv}\r\n"
            f"--{boundary}--\r\n").encode()

def post(body, content_type):
    request = urllib.request.Request(f"{base}/api/v1/batches", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as answer:
        assert answer.status == 202, answer.status
        assert json.load(answer)["rows"] == 500
    return (time.perf_counter() - started) * 1000

def show(label, times):
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"batch of 500 rows of {scenes} scene(s) ({label}): {len(times)} batches, median {pick(0.5):.0f} ms, "
          f"p99 {pick(0.99):.0f} ms, max {times[-1]:.0f} ms")

show("JSON", [post(json_body, "application/json") for _ in range(count)])
show("CSV upload", [post(csv_body, f"multipart/form-data; boundary={boundary}") for _ in range(max(1, count // 2))])
PY
