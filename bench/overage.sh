#!/usr/bin/env bash
# Overage meter-report lag (issue 19): from the ledger row past the quota
# (its commit in the step that made the image) to a local Stripe stand-in
# receiving its Billing Meter event. One server with its workers; a Pro
# tenant with 5 images a month and overages on makes M one-scene storyboards
# (one image each: every image after the fifth is overage). Prints median,
# p99 and max of the lag, and checks that Stripe counted each unit once.
# Usage: bench/overage.sh [--projects M]   (REELFORGE_BIN=..., BENCH_BUILD=debug)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

projects=60
while [ $# -gt 0 ]; do
    case "$1" in
        --projects) projects="$2"; shift 2 ;;
        *) echo "usage: bench/overage.sh [--projects M]" >&2; exit 2 ;;
    esac
done

bin="$(reelforge_bin "${BENCH_BUILD:-release}")"
use_scratch
port="$(free_port)"
stripe_port="$(free_port)"
base="http://127.0.0.1:$port"

# The Stripe stand-in: customers, checkout sessions, and meter events, each
# identifier counted once; appends "arrival_ms identifier value" per event counted.
python3 - "$stripe_port" "$work/events.txt" <<'PY' &
import json, sys, time, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
port, out = int(sys.argv[1]), sys.argv[2]
seen, lock = set(), threading.Lock()
class Stripe(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def do_POST(self):
        arrived = time.time() * 1000
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["content-length"])).decode()).items()}
        if self.path == "/v1/customers":
            return self.answer(200, {"id": "cus_bench", "object": "customer"})
        if self.path == "/v1/checkout/sessions":
            return self.answer(200, {"id": "cs_bench", "url": "https://checkout.stripe.test/cs_bench"})
        if self.path == "/v1/billing/meter_events":
            with lock:
                if form["identifier"] in seen:
                    return self.answer(400, {"error": {"code": "resource_already_exists", "message": "already exists"}})
                seen.add(form["identifier"])
                with open(out, "a") as f:
                    f.write(f"{arrived:.1f} {form['identifier']} {form['payload[value]']}\n")
            return self.answer(200, {"object": "billing.meter_event", "identifier": form["identifier"]})
        self.answer(404, {"error": {"message": "no such route"}})
    def log_message(self, *args): pass
ThreadingHTTPServer(("127.0.0.1", port), Stripe).serve_forever()
PY
stripe=$!
export DATA_DIR="$work" BIND="127.0.0.1:$port" PUBLIC_URL="$base" RUST_LOG=warn \
       RATE_LIMIT_EMAIL_PER_15M=0 RATE_LIMIT_IP_PER_15M=0 TTS_PROVIDER=espeak QUEUE_MAX_PENDING_PER_TENANT=1000 \
       QUOTA_IMAGES_COUNT=1 STRIPE_API_KEY=sk_test_bench STRIPE_API_BASE="http://127.0.0.1:$stripe_port" \
       STRIPE_PRICE_PRO=price_pro_bench
"$bin" serve >"$work/server.log" 2>&1 &
pid=$!
trap 'kill $stripe 2>/dev/null || true; kill $pid 2>/dev/null || true; scratch_cleanup' EXIT
wait_ready "$base" "$pid" "$work/server.log" bench/overage.sh

token="$(sign_in "$base" "$work/outbox" overage@example.com)"
# Checkout creates the Stripe customer; the operator's set-plan stands in for the webhook.
curl -fs -o /dev/null -X POST "$base/api/billing/checkout" -H 'content-type: application/json' \
    -H "Authorization: Bearer $token" -d '{"plan":"pro"}'
"$bin" admin set-plan overage@example.com pro >/dev/null
sleep 1.5
curl -fs -o /dev/null -X PATCH "$base/api/billing/overage" -H 'content-type: application/json' \
    -H "Authorization: Bearer $token" -d '{"enabled":true,"cap_usd":1000}'

for i in $(seq 1 "$projects"); do
    curl -fs -o /dev/null -X POST "$base/api/v1/projects" -H 'content-type: application/json' -H "Authorization: Bearer $token" \
        -d "{\"title\":\"overage $i\",\"template_id\":\"explainer\",\"render\":false,\"scenes\":[{\"text\":\"Scene $i.\",\"visual\":{\"kind\":\"card\"}}]}"
done
expected=$((projects - 5))
for _ in $(seq 1 480); do
    got=$(grep -c . "$work/events.txt" 2>/dev/null || true)
    [ "${got:-0}" -ge "$expected" ] && break
    sleep 0.25
done
sleep 1
python3 - "$work/events.txt" "$work/reelforge.db" "$expected" <<'PY'
import sqlite3, sys
events = [l.split() for l in open(sys.argv[1]) if l.strip()]
db = sqlite3.connect(f"file:{sys.argv[2]}?mode=ro", uri=True)
created = dict(db.execute("SELECT identifier, created_at FROM overage_reports"))
ledger = db.execute("SELECT COUNT(*) FROM usage_ledger WHERE metric = 'images_generated'").fetchone()[0]
lags = sorted(float(at) - created[ident] for at, ident, _ in events if ident in created)
units = sum(int(v) for _, _, v in events)
if not lags:
    print("overage reports: none arrived"); sys.exit(1)
p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
print(f"overage reports: {len(lags)}/{sys.argv[3]} meter events counted by the Stripe stand-in "
      f"({units} images past the quota of 5; {ledger} images made); ledger commit to arrival "
      f"median {lags[len(lags)//2]:.0f} ms, p99 {p99:.0f} ms, max {lags[-1]:.0f} ms")
PY
