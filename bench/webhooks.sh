#!/usr/bin/env bash
# Webhook delivery lag (issue 18: delivery starts within 1 s of the event, p99).
# One server with its workers; a local receiver records when each delivery
# arrives. Measures, from the event's own timestamp to its arrival:
#   - N test events (POST /api/v1/webhooks/{id}/test), sent one after another;
#   - the project.draft_ready of M storyboards made by the server's workers.
# Prints median, p99 and max of each.
# Usage: bench/webhooks.sh [--events N] [--projects M]   (REELFORGE_BIN=..., BENCH_BUILD=debug)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

events=200
projects=20
while [ $# -gt 0 ]; do
    case "$1" in
        --events) events="$2"; shift 2 ;;
        --projects) projects="$2"; shift 2 ;;
        *) echo "usage: bench/webhooks.sh [--events N] [--projects M]" >&2; exit 2 ;;
    esac
done

bin="$(reelforge_bin "${BENCH_BUILD:-release}")"
use_scratch
port="$(free_port)"
hook_port="$(free_port)"
base="http://127.0.0.1:$port"
export DATA_DIR="$work" BIND="127.0.0.1:$port" PUBLIC_URL="$base" RUST_LOG=warn \
       RATE_LIMIT_EMAIL_PER_15M=0 RATE_LIMIT_IP_PER_15M=0 WEBHOOK_ALLOW_PRIVATE=true \
       TTS_PROVIDER=espeak QUEUE_MAX_PENDING_PER_TENANT=100
"$bin" serve >"$work/server.log" 2>&1 &
pid=$!
wait_ready "$base" "$pid" "$work/server.log" bench/webhooks.sh

# The receiver: appends "arrival_ms type event_ms" per delivery.
python3 - "$hook_port" "$work/arrivals.txt" <<'PY' &
import json, sys, time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, out = int(sys.argv[1]), sys.argv[2]
class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        arrived = time.time() * 1000
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        stamp = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")).timestamp() * 1000
        with open(out, "a") as f:
            f.write(f"{arrived:.1f} {body['type']} {stamp:.1f}\n")
        self.send_response(204); self.end_headers()
    def log_message(self, *args): pass
ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
PY
receiver=$!
trap 'kill $receiver 2>/dev/null || true; kill $pid 2>/dev/null || true; scratch_cleanup' EXIT

token="$(sign_in "$base" "$work/outbox" hooks@example.com)"
endpoint=$(curl -fs -X POST "$base/api/v1/webhooks" -H 'content-type: application/json' -H "Authorization: Bearer $token" \
    -d "{\"url\":\"http://127.0.0.1:$hook_port/hook\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

for _ in $(seq 1 "$events"); do
    curl -fs -o /dev/null -X POST "$base/api/v1/webhooks/$endpoint/test" -H "Authorization: Bearer $token"
    sleep 0.01
done
for i in $(seq 1 "$projects"); do
    curl -fs -o /dev/null -X POST "$base/api/v1/projects" -H 'content-type: application/json' -H "Authorization: Bearer $token" \
        -d "{\"title\":\"hook $i\",\"template_id\":\"explainer\",\"render\":false,\"scenes\":[{\"text\":\"Scene $i.\",\"visual\":{\"kind\":\"card\"}}]}"
done
# Wait for every delivery (up to 2 minutes).
for _ in $(seq 1 240); do
    got=$(grep -c . "$work/arrivals.txt" 2>/dev/null || true)
    [ "${got:-0}" -ge $((events + projects)) ] && break
    sleep 0.5
done
python3 - "$work/arrivals.txt" "$events" "$projects" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def show(label, kind, expected):
    lags = sorted(float(a) - float(e) for a, t, e in rows if t == kind)
    if not lags:
        print(f"webhooks {label}: none arrived"); return
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    print(f"webhooks {label}: {len(lags)}/{expected} delivered, event to arrival median {lags[len(lags)//2]:.0f} ms, "
          f"p99 {p99:.0f} ms, max {lags[-1]:.0f} ms")
show("test events", "webhook.test", int(sys.argv[2]))
show("project.draft_ready (from the workers)", "project.draft_ready", int(sys.argv[3]))
PY
