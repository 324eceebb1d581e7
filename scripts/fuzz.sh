#!/usr/bin/env bash
# API fuzzing with schemathesis against /api/openapi.json, signed in.
#
# Usage: scripts/fuzz.sh [--short] [--seconds N]
#   --short      about two minutes in all, for `make test` (fuzzing budget 90 s)
#   (default)    the long run for `make fuzz` (fuzzing budget FUZZ_SECONDS, 1200 s)
#   --seconds N  the fuzzing budget in seconds
# Environment:
#   REELFORGE_BIN  a reelforge binary to use instead of building the debug one
#   FUZZ_SEED      schemathesis' random seed (default: a new one each run,
#                  printed in the output so a failure can be replayed)
#   FUZZ_OUT       output directory (default test-output/fuzz)
#
# Checks: not_a_server_error (no 5xx), response_schema_conformance (bodies match
# the schema), status_code_conformance (only documented statuses) and
# ignored_auth (an operation that declares security refuses the same request
# with no credentials and with invalid ones).
#
# The server is the debug binary (overflow checks and debug assertions on, so
# arithmetic on fuzzed numbers that would wrap silently in release panics here
# and shows as a 500). It runs on a temp DATA_DIR with SQLite, file storage and
# the mail outbox, nothing reachable off this machine:
#   RATE_LIMIT_*_PER_15M=0     the fuzzer sends thousands of sign-in requests; with
#                              the limits on, all but the first 20 would be the same
#                              429 and the e-mail validation behind it goes untested
#                              (the limits have their own integration tests).
#   QUOTA_*=1000000000         one tenant creates every fuzzed project; the Free
#                              plan's quotas would turn creation into 402 after a
#                              few hundred scenes. Premium templates still get 402.
#   QUEUE_MAX_PENDING=1000000  likewise for the queue-full 429.
#   QUEUE_MAX_PENDING_PER_TENANT=1000000  and for the per-tenant 429 (one tenant).
#   WORKER_CONCURRENCY         0 for --short (no rendering, the API alone), 1 for the
#                              long run, so fuzzed scripts (any Unicode, 60 scenes)
#                              also go through the card drawing, speech and ffmpeg;
#                              worker panics and failed steps are counted from the
#                              server log and the database afterwards.
#   STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET
#                              made-up values, so the webhook verifies signatures
#                              (400 for every fuzzed request) instead of answering
#                              503 "billing not configured"; STRIPE_API_BASE points
#                              at a closed loopback port, so nothing could reach Stripe
#                              (and a fuzzer cannot forge a signature to get that far).
#
# Credentials: schemathesis sends the signed-in user's Bearer token and nothing
# else (--generation-with-security-parameters false). Otherwise it adds made-up
# X-API-Key and rf_access cookie values next to the real token, and most requests
# end in 401 (one bad credential fails the request) or in the cookie origin
# check's 403 before reaching the handler. Both are documented on every operation
# (src/openapi.rs adds them), so a run with those parameters also passes; it
# just reaches the handlers far less often. That auth is enforced is what the
# ignored_auth check verifies: it repeats requests without credentials and with
# invalid ones for every operation that declares security.
#
# Operations left out, and why:
#   POST /api/account/delete   erases the fuzzing account: every later request
#                              would be 401 and test nothing.
#   POST /api/auth/logout      revokes the session's refresh-token family and clears
#                              the cookies; it is left out so that no run depends on
#                              whether the fuzzer happened to send the session's own
#                              refresh token (it takes no other input worth fuzzing
#                              beyond the refresh body, which /api/auth/refresh covers).
#   POST /api/billing/checkout and POST /api/billing/portal
#                              call Stripe; without STRIPE_API_KEY they answer a
#                              deliberate 503 "billing not configured", which
#                              not_a_server_error would report on every request.
#   GET /api/v1/stock/search and GET /api/v1/stock/thumbnail
#                              ask Pexels or Pixabay; without a stock key they answer a
#                              deliberate 503 "no stock provider is set up", and with
#                              a key and an unreachable host a 502, which
#                              not_a_server_error would report on every request. Their
#                              validation and answers are tested against stand-ins
#                              (tests/api/stock.rs).
#   POST /api/v1/scripts      asks a language model; without LLM_API_BASE it answers a
#                              deliberate 503 "no language model", and with one that
#                              cannot be reached a 502, which not_a_server_error would
#                              report on every request. Its validation and answers are
#                              tested against a chat-completions stand-in
#                              (tests/api/scripts.rs).
#   GET /api/v1/projects/{id}/events
#                              Server-Sent Events: for a real, unfinished project the
#                              stream stays open until the video is done, and
#                              schemathesis waits for a whole body, so every such
#                              request ends in a client time-out. (Its 404 path is the
#                              same extractor as GET /api/v1/projects/{id}.)
set -euo pipefail
cd "$(dirname "$0")/.."

short=0
seconds="${FUZZ_SECONDS:-1200}"
while [ $# -gt 0 ]; do
    case "$1" in
        --short) short=1; seconds=90; shift ;;
        --seconds) seconds="$2"; shift 2 ;;
        -h|--help) sed -n '2,60p' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
out="${FUZZ_OUT:-test-output/fuzz}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
need_python_module schemathesis schemathesis fuzz.sh
bin="$(reelforge_bin debug)"
[ -x "$bin" ] || { echo "fuzz.sh: no binary at $bin" >&2; exit 1; }

use_scratch

port="$(free_port)"
closed_port="$(free_port)"
base="http://127.0.0.1:$port"
workers=1
[ "$short" = 1 ] && workers=0

# Keys a local .env could set that would send traffic elsewhere are blanked
# (an empty value means unset, and the environment wins over .env).
(
    export DATA_DIR="$work/data" BIND="127.0.0.1:$port" PUBLIC_URL="$base" APP_ENV=development \
        RUST_LOG="${RUST_LOG:-info,sqlx=warn,tower_http=warn}" \
        DATABASE_URL='' STORAGE_URL='' SMTP_URL='' REDIS_URL='' SENTRY_DSN='' METRICS_TOKEN='' \
        STRIPE_API_KEY=sk_test_fuzz_not_a_real_key STRIPE_WEBHOOK_SECRET=whsec_fuzz_not_a_real_secret \
        STRIPE_API_BASE="http://127.0.0.1:$closed_port" IMAGE_PROVIDER=procedural TTS_PROVIDER=espeak \
        USAGE_LOG_DIR='' BACKUP_DIR='' TENANT_DEFAULT_PLAN=free \
        RATE_LIMIT_EMAIL_PER_15M=0 RATE_LIMIT_IP_PER_15M=0 QUEUE_MAX_PENDING=1000000 \
        QUEUE_MAX_PENDING_PER_TENANT=1000000 \
        QUOTA_IMAGES_COUNT=1000000000 QUOTA_TTS_SECONDS=1000000000 QUOTA_RENDER_MINUTES=1000000000 \
        QUOTA_STORAGE_MB=1000000000 WORKER_CONCURRENCY="$workers"
    exec "$bin" serve
) >"$out/server.log" 2>&1 &
pid=$!
wait_ready "$base" "$pid" "$out/server.log" fuzz.sh
access="$(sign_in "$base" "$work/data/outbox" fuzz@example.com)"
# One project so that the {id} operations have a real one to find.
curl -fs -X POST "$base/api/v1/projects/create" -H "authorization: Bearer $access" \
    -H 'content-type: application/json' \
    -d '{"title":"Fuzz seed","script":"One scene.\n\nTwo scenes.","template_id":"explainer"}' >/dev/null

seed_args=()
[ -n "${FUZZ_SEED:-}" ] && seed_args=(--seed "$FUZZ_SEED")
echo "fuzz.sh: schemathesis for ${seconds}s against $base ($( [ "$short" = 1 ] && echo short || echo long ) run)"
set +e
# From inside $out, so schemathesis' example database (.schemathesis/) stays out of the work tree.
(cd "$out" && st run "$base/api/openapi.json" \
    --header "Authorization: Bearer $access" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,ignored_auth \
    --exclude-name 'POST /api/account/delete' \
    --exclude-name 'POST /api/auth/logout' \
    --exclude-name 'POST /api/billing/checkout' \
    --exclude-name 'POST /api/billing/portal' \
    --exclude-name 'GET /api/v1/projects/{id}/events' \
    --exclude-name 'GET /api/v1/stock/search' \
    --exclude-name 'GET /api/v1/stock/thumbnail' \
    --exclude-name 'POST /api/v1/scripts' \
    --generation-with-security-parameters false \
    --max-time "$seconds" --request-timeout 30 --workers 2 "${seed_args[@]}" \
    --report junit,ndjson --report-dir "$out" \
    --no-color) >"$out/schemathesis.txt" 2>&1
st_rc=$?
set -e

server_alive=yes
kill -0 "$pid" 2>/dev/null || server_alive=no
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=""
panics="$(grep -c 'panicked' "$out/server.log" || true)"
errors="$(grep -c -E '"level":"ERROR"| ERROR ' "$out/server.log" || true)"
failed_steps="$(python3 - "$work/data/reelforge.db" <<'PY'
import sqlite3, sys
try:
    con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    rows = con.execute("SELECT kind, COUNT(*) FROM steps WHERE status = 'failed' GROUP BY kind").fetchall()
    print(", ".join(f"{kind} {count}" for kind, count in rows) or "none")
except sqlite3.Error as err:
    print(f"unreadable ({err})")
PY
)"
{
    echo "Reelforge API fuzzing ($(date -u +%Y-%m-%dT%H:%MZ), $( [ "$short" = 1 ] && echo short || echo long ) run, ${seconds}s budget, schemathesis $(python3 -c 'import importlib.metadata as m; print(m.version("schemathesis"))'))"
    sed -n '/SUMMARY/,$p' "$out/schemathesis.txt" | tail -n 40
    echo "schemathesis exit code: $st_rc"
    echo "server alive at the end: $server_alive; panics in its log: $panics; ERROR lines: $errors; failed steps: $failed_steps"
} | tee "$out/summary.txt"
echo "full output: $out/schemathesis.txt; server log: $out/server.log; reports: $out/"
[ "$server_alive" = yes ] || exit 1
[ "$panics" = 0 ] || exit 1
exit "$st_rc"
