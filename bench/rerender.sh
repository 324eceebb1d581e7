#!/usr/bin/env bash
# Re-rendering only what changed (issue 15's figure): a 10-scene 720p project
# (Free plan) is rendered through the API, one scene's text is edited, and the
# project is rendered again. Prints both wall times (from the render request
# to `completed`) and their ratio; the figure is at most 30%.
# Usage: bench/rerender.sh   (REELFORGE_BIN=... to skip the build, BENCH_BUILD=debug for a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

bin="$(reelforge_bin "${BENCH_BUILD:-release}")"
use_scratch
port="$(free_port)"
base="http://127.0.0.1:$port"
export DATA_DIR="$work" BIND="127.0.0.1:$port" PUBLIC_URL="$base" RUST_LOG=warn \
       RATE_LIMIT_EMAIL_PER_15M=0 RATE_LIMIT_IP_PER_15M=0 WORKER_CONCURRENCY="${WORKER_CONCURRENCY:-2}"
"$bin" serve >"$work/server.log" 2>&1 &
pid=$!
wait_ready "$base" "$pid" "$work/server.log" bench/rerender.sh
token="$(sign_in "$base" "$work/outbox" rerender@example.com)"

scenes=$(python3 - <<'PY'
import json
paragraphs = [p.strip() for p in open("bench/script-60s.txt").read().split("\n\n") if p.strip()][:10]
print(json.dumps([{"text": p} for p in paragraphs]))
PY
)
api() { # method path [body]
    curl -fs -X "$1" "$base$2" -H 'content-type: application/json' -H "Authorization: Bearer $token" ${3:+-d "$3"}
}
wait_done() { # project id -> seconds from now until it is finished
    python3 - "$base" "$token" "$1" <<'PY'
import json, sys, time, urllib.request
base, token, project = sys.argv[1:]
start = time.monotonic()
while True:
    request = urllib.request.Request(f"{base}/api/v1/projects/{project}", headers={"Authorization": f"Bearer {token}"})
    view = json.load(urllib.request.urlopen(request))
    if view["status"] in ("completed", "partial", "failed", "cancelled", "draft"):
        if view["status"] != "completed":
            sys.exit(f"the render ended {view['status']}: {view.get('error')}")
        print(f"{time.monotonic() - start:.2f}")
        break
    time.sleep(0.05)
PY
}

project=$(api POST /api/v1/projects "{\"title\":\"rerender\",\"template_id\":\"explainer\",\"scenes\":$scenes}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["project_id"])')
first=$(wait_done "$project")
api PATCH "/api/v1/projects/$project/scenes/4" \
    '{"text":"This scene was edited after the first render, and only its narration and the crossfades around it are made again."}' >/dev/null
started=$(date +%s.%N)
api POST "/api/v1/projects/$project/render" >/dev/null
second=$(wait_done "$project")
python3 - "$first" "$second" <<'PY'
import sys
first, second = map(float, sys.argv[1:])
print(f"re-render after a one-scene text edit (10 scenes, 720p): first render {first:.2f} s, "
      f"re-render {second:.2f} s = {second / first * 100:.0f}% of the first (figure: at most 30%)")
PY
