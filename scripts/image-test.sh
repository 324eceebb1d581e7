#!/usr/bin/env bash
# The container image and the compose file, tested as self-hosters use them
# (issue 20); `make image-test`, and the last part of `make test`.
#
#  1. deploy/compose.yaml names every key of .env.example, and
#     `podman-compose config` (or `docker compose config`) accepts both forms.
#  2. The test image (localhost/reelforge:test, the debug binary) builds.
#  3. Single node: a fresh volume, the host network; /readyz, the HEALTHCHECK,
#     a non-root process, sign-in through the outbox in the volume, a short
#     project rendered inside the container with Piper, the MP4 probed on the
#     host; restarted, the project and its video are still there;
#     `reelforge backup` in a second container on the same volume;
#     `reelforge render` in a one-shot container; the compose file's
#     single-node form brought up (a published port) and down.
#  4. Scale-out: `migrate`, then `serve` with WORKER_CONCURRENCY=0 and two
#     `worker` containers, on a new PostgreSQL database on 127.0.0.1:5432,
#     Redis on 127.0.0.1:6379 and an S3 bucket (moto on loopback; a shared
#     volume with file:// storage when moto is missing); one project rendered
#     by the workers.
#
# Without a container engine that works, the test says so loudly and skips,
# except in CI (CI=true), where that fails. The podman settings this machine
# needs (runc, cgroupfs, no default ulimits) are in scripts/container.sh;
# containers use --network host. Nothing reaches beyond this machine except
# the image build (Debian's and PyPI's packages).
# Environment: TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432),
# TEST_REDIS_URL (default redis://127.0.0.1:6379), REELFORGE_BIN (a debug
# binary already built).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=scripts/container.sh
. scripts/container.sh

test_started=$SECONDS
image=localhost/reelforge:test
pg_url="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
redis_url="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
passed=0
figures=()

say() { echo "image-test: $*"; }
ok() { passed=$((passed + 1)); say "ok - $*"; }
fail() { echo "image-test: FAILED: $*" >&2; exit 1; }
figure() { figures+=("$1"); say "$1"; }

# A machine where no engine can run containers: loud, and only a skip outside CI.
no_engine() {
    if [ "${CI:-}" = true ]; then fail "$1 (CI=true: a broken container engine fails the run)"; fi
    echo "########################################################################" >&2
    echo "image-test: SKIPPED: $1" >&2
    echo "image-test: the container image was NOT tested on this machine" >&2
    echo "########################################################################" >&2
    exit 0
}

# --- scratch and clean-up ------------------------------------------------------
work="$(mktemp -d)"
run_id="rfit-$$"
containers=()
volumes=()
database=""
moto_pid=""
compose_project=""
cleanup() {
    local status=$?
    if [ "$status" != 0 ]; then
        for c in "${containers[@]}"; do
            echo "--- last log lines of $c ---" >&2
            "$engine" logs --tail 25 "$c" >&2 2>&1 || true
        done
    fi
    if [ -n "$compose_project" ]; then
        REELFORGE_IMAGE="$image" compose -p "$compose_project" --profile single down -v >/dev/null 2>&1 || true
    fi
    for c in "${containers[@]}"; do "$engine" rm -f -v "$c" >/dev/null 2>&1 || true; done
    for v in "${volumes[@]}"; do "$engine" volume rm -f "$v" >/dev/null 2>&1 || true; done
    if [ -n "$database" ]; then
        psql "$pg_url/postgres" -qtA -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
engine=podman
trap cleanup EXIT

# --- 0. an engine ----------------------------------------------------------------
pick_engine || no_engine "no container engine works here (podman could not be installed, or '$engine info' fails)"
say "engine: $engine ($("$engine" --version)); CONTAINERS_CONF=${CONTAINERS_CONF:-unset}"
run_flags=(--network host)

# --- 1. the compose file -------------------------------------------------------------
keys="$(grep -oE '^#? ?[A-Z][A-Z0-9_]+=' .env.example | sed -E 's/^# ?//; s/=$//' | sort -u)"
missing=""
for key in $keys; do
    grep -qE "^[[:space:]]+$key:" deploy/compose.yaml || missing="$missing $key"
done
[ -z "$missing" ] || fail "deploy/compose.yaml does not pass these keys of .env.example:$missing"
ok "deploy/compose.yaml passes all $(echo "$keys" | wc -l) keys of .env.example"
table="$(sed -n '/^## 5\. Configuration keys/,/^## 6\./p' docs/deployment.md)"
missing=""
for key in $keys; do
    grep -q "\`$key\`" <<<"$table" || missing="$missing $key"
done
[ -z "$missing" ] || fail "docs/deployment.md section 5 does not document these keys of .env.example:$missing"
ok "docs/deployment.md section 5 documents every key of .env.example"

# podman-compose from PyPI (a project-local venv: Debian's 1.0.3 has no profiles),
# or docker compose with a docker engine.
compose() {
    if [ "$engine" = docker ] && docker compose version >/dev/null 2>&1; then
        docker compose -f deploy/compose.yaml "$@"
        return
    fi
    if [ ! -x .venv-compose/bin/podman-compose ]; then
        say "installing podman-compose into .venv-compose (pip)"
        python3 -m venv .venv-compose >/dev/null
        .venv-compose/bin/pip install -q --disable-pip-version-check 'podman-compose==1.6.0' >/dev/null
    fi
    .venv-compose/bin/podman-compose -f deploy/compose.yaml "$@"
}
compose_config() { compose "$@" config; }
services_of() {
    python3 -c 'import sys, yaml; print(" ".join(sorted(yaml.safe_load(sys.stdin)["services"])))'
}
need_python_module yaml pyyaml image-test
single="$(compose_config --profile single 2>"$work/compose.err" | services_of)" ||
    { cat "$work/compose.err" >&2; fail "compose config (single) failed"; }
[ "$single" = "reelforge" ] || fail "the single profile has services '$single', not 'reelforge'"
scale="$(compose_config --profile scale-out 2>"$work/compose.err" | services_of)" ||
    { cat "$work/compose.err" >&2; fail "compose config (scale-out) failed"; }
[ "$scale" = "api migrate minio minio-bucket postgres redis worker" ] ||
    fail "the scale-out profile has services '$scale'"
ok "compose config accepts the single-node form ($single) and the scale-out form ($scale)"

# --- 2. the image ------------------------------------------------------------------------
build_started=$SECONDS
scripts/image.sh --debug --tag "$image" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "the image did not build"; }
figure "image build (debug binary, cached layers as they are): $((SECONDS - build_started)) s"
size="$("$engine" image inspect --format '{{.Size}}' "$image")"
figure "image size: $((size / 1000000)) MB"
inspect="$("$engine" image inspect "$image")"
python3 - "$inspect" <<'PY' || fail "the image's configuration is not what the issue asks"
import json, sys
image = json.loads(sys.argv[1])[0]
c = image["Config"]
env = dict(e.split("=", 1) for e in c.get("Env") or [])
assert env.get("DATA_DIR") == "/data" and env.get("BIND") == "0.0.0.0:8080", env
assert c.get("User") not in (None, "", "0", "root", "0:0"), c.get("User")
assert "8080/tcp" in (c.get("ExposedPorts") or {}), c.get("ExposedPorts")
assert "/data" in (c.get("Volumes") or {}), c.get("Volumes")
hc = c.get("Healthcheck") or image.get("Healthcheck") or {}  # docker / podman
assert "reelforge-healthcheck" in " ".join(hc.get("Test") or []), hc
PY
ok "image config: DATA_DIR=/data volume, BIND=0.0.0.0:8080, EXPOSE 8080, non-root USER, HEALTHCHECK"
# shellcheck disable=SC2016  # expanded by the container's shell
"$engine" run --rm "${run_flags[@]}" --entrypoint /bin/sh "$image" -c '
    for tool in gcc cc c++ rustc cargo make pip pip3; do command -v "$tool" && exit 1; done
    [ ! -e /opt/reelforge/venv-piper/bin/pip ] || exit 2
    [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v "^lock$\|^partial$")" ] || exit 3
    [ ! -d /root/.cache ] || exit 4
    command -v ffmpeg >/dev/null && command -v espeak-ng >/dev/null && command -v pg_dump >/dev/null || exit 5
' || fail "the image carries a compiler, pip, apt lists or caches, or lacks ffmpeg/espeak-ng/pg_dump (exit $?)"
ok "lean: no compiler, pip, apt lists or caches; ffmpeg, espeak-ng and pg_dump present"

# --- helpers ---------------------------------------------------------------------------
start() { # start NAME ARGS...: a detached container, removed at the end
    local name="$1"; shift
    containers+=("$name")
    "$engine" run -d --name "$name" "${run_flags[@]}" "$@" >/dev/null
}
wait_url() { # wait_url URL CONTAINER SECONDS
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        curl -fs "$1" >/dev/null 2>&1 && return 0
        [ "$("$engine" inspect --format '{{.State.Running}}' "$2" 2>/dev/null)" = true ] ||
            { "$engine" logs --tail 30 "$2" >&2 || true; fail "$2 exited before $1 answered"; }
        sleep 0.1
    done
    fail "$1 did not answer within $3 s"
}
volume_path() { "$engine" volume inspect --format '{{.Mountpoint}}' "$1"; }
api() { # api METHOD BASE PATH TOKEN [JSON]
    local args=(-fsS -X "$1" "$2$3" -H "authorization: Bearer $4")
    [ $# -ge 5 ] && args+=(-H 'content-type: application/json' -d "$5")
    curl "${args[@]}"
}
download() { curl -fsS "$1$2" -H "authorization: Bearer $3" -o "$4"; } # download BASE PATH TOKEN FILE
json() { python3 -c "import json, sys; v = json.load(sys.stdin); print($1)"; }
create_project() { # create_project BASE TOKEN TITLE SCRIPT -> id
    api POST "$1" /api/v1/projects "$2" \
        "$(python3 -c 'import json, sys; print(json.dumps({"title": sys.argv[1], "script": sys.argv[2], "template_id": "explainer"}))' "$3" "$4")" |
        json 'v["project_id"]'
}
wait_project() { # wait_project BASE TOKEN ID SECONDS -> final view (JSON)
    local deadline=$((SECONDS + $4)) view status
    while [ $SECONDS -lt $deadline ]; do
        view="$(api GET "$1" "/api/v1/projects/$3" "$2")"
        status="$(echo "$view" | json 'v["status"]')"
        case "$status" in completed|partial|failed|cancelled|draft) echo "$view"; return 0 ;; esac
        sleep 0.5
    done
    fail "project $3 still ${status:-unknown} after $4 s"
}
probe_mp4() { # probe_mp4 FILE: h264 video and an audio stream, at least a second long
    ffprobe -v error -show_entries format=duration:stream=codec_type,codec_name,width,height -of json "$1" |
        python3 -c '
import json, sys
p = json.load(sys.stdin)
kinds = {s["codec_type"]: s for s in p["streams"]}
assert kinds["video"]["codec_name"] == "h264", p
assert "audio" in kinds, p
assert float(p["format"]["duration"]) >= 1.0, p
print("%sx%s, %.1f s" % (kinds["video"]["width"], kinds["video"]["height"], float(p["format"]["duration"])))'
}
script_text="Reelforge runs in a container. This sentence was spoken by Piper."

# --- 3. single node ----------------------------------------------------------------------
single_vol="$run_id-data"
volumes+=("$single_vol")
"$engine" volume create "$single_vol" >/dev/null
port="$(free_port)"
base="http://127.0.0.1:$port"
single="$run_id-serve"
t0=$(date +%s.%N)
start "$single" -v "$single_vol:/data" -e "BIND=127.0.0.1:$port" -e "PUBLIC_URL=$base" "$image"
wait_url "$base/readyz" "$single" 120
ready="$(python3 -c "import time; print('%.1f' % (time.time() - $t0))")"
figure "start to ready (container start to /readyz 200, fresh volume): $ready s"
ok "serve in the container is ready on a fresh volume"

if [ "$engine" = podman ]; then
    "$engine" healthcheck run "$single" >/dev/null || fail "the HEALTHCHECK fails on a ready server"
else
    "$engine" exec "$single" /usr/local/bin/reelforge-healthcheck || fail "the health check fails on a ready server"
fi
uid="$("$engine" exec "$single" sh -c 'stat -c %u /proc/1 && id -u' | sort -u)"
[ "$uid" = 10001 ] || fail "the container's processes run as uid '$uid', not 10001"
ok "the HEALTHCHECK passes; PID 1 and the server run as uid 10001, not root"

data="$(volume_path "$single_vol")"
token="$(sign_in "$base" "$data/outbox" image-test@example.com)" || fail "sign-in through the outbox failed"
[ -n "$token" ] || fail "no access token"
ok "signed in through the outbox in the volume ($data/outbox)"
api GET "$base" /api/v1/voices "$token" | json '[x["id"] for x in v]' | grep -q "piper:en_US-joe-medium" ||
    fail "the image's Piper voice is not offered"

render_started=$SECONDS
project="$(create_project "$base" "$token" "Image test" "$script_text")"
view="$(wait_project "$base" "$token" "$project" 300)"
[ "$(echo "$view" | json 'v["status"]')" = completed ] || fail "the project did not complete: $view"
[ "$(echo "$view" | json 'len(v.get("warnings") or [])')" = 0 ] || fail "the project has warnings: $view"
figure "single-node render (2 sentences, debug binary): $((SECONDS - render_started)) s"
api GET "$base" "/api/v1/projects/$project/words.json" "$token" |
    json '"ok" if v and all(w["timing"] == "measured" for w in v) else sys.exit("timings: %s" % v)' >/dev/null ||
    fail "the words were not timed by Piper's alignment"
download "$base" "/api/v1/projects/$project/video" "$token" "$work/single.mp4"
shape="$(probe_mp4 "$work/single.mp4")" || fail "the video is not a playable MP4"
ok "a project rendered inside the container with Piper (measured word timings); ffprobe on the host: $shape"

t0=$(date +%s.%N)
"$engine" restart "$single" >/dev/null
wait_url "$base/readyz" "$single" 120
figure "restart to ready (stop, start, /readyz 200): $(python3 -c "import time; print('%.1f' % (time.time() - $t0))") s"
[ "$(api GET "$base" "/api/v1/projects/$project" "$token" | json 'v["status"]')" = completed ] ||
    fail "the project is gone after a restart"
download "$base" "/api/v1/projects/$project/video" "$token" "$work/again.mp4"
cmp -s "$work/single.mp4" "$work/again.mp4" || fail "the video changed across a restart"
ok "after a restart the project and its video are still there (same bytes; the token still works)"

"$engine" run --rm "${run_flags[@]}" -v "$single_vol:/data" "$image" backup >"$work/backup.out" 2>&1 ||
    { cat "$work/backup.out" >&2; fail "reelforge backup failed in a second container"; }
archive="$(find "$data/backups" -name 'reelforge-backup-*.zip' | head -1)"
if [ -z "$archive" ] || [ ! -f "$archive.sha256" ]; then
    fail "no backup archive in the volume: $(cat "$work/backup.out")"
fi
python3 -c 'import sys, zipfile; sys.exit(not any(n.endswith("/video.mp4") for n in zipfile.ZipFile(sys.argv[1]).namelist()))' \
    "$archive" || fail "the backup does not hold the video"
ok "reelforge backup in a second container on the same volume: $(basename "$archive") with the video"

mkdir -p "$work/render" && chmod 777 "$work/render"
echo "Rendered by the render command." >"$work/render/script.txt"
"$engine" run --rm "${run_flags[@]}" -v "$work/render:/work" "$image" \
    render /work/script.txt --out /work/out.mp4 --plan free >"$work/render.out" 2>&1 ||
    { tail -20 "$work/render.out" >&2; fail "reelforge render failed in a container"; }
shape="$(probe_mp4 "$work/render/out.mp4")" || fail "reelforge render wrote no playable MP4"
ok "reelforge render in a one-shot container: $shape"
"$engine" rm -f -v "$single" >/dev/null

# The compose file's single-node form, for real (its image is the only one it needs).
compose_project="$run_id-compose"
port="$(free_port)"
REELFORGE_IMAGE="$image" REELFORGE_PORT="$port" compose -p "$compose_project" --profile single up -d \
    >"$work/compose-up.log" 2>&1 || { cat "$work/compose-up.log" >&2; fail "compose up (single) failed"; }
deadline=$((SECONDS + 120))
until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { cat "$work/compose-up.log" >&2; fail "the compose single-node form is not ready"; }
    sleep 0.2
done
REELFORGE_IMAGE="$image" compose -p "$compose_project" --profile single down -v >"$work/compose-down.log" 2>&1 ||
    { cat "$work/compose-down.log" >&2; fail "compose down (single) failed"; }
compose_project=""
ok "deploy/compose.yaml --profile single up: ready on a published port (127.0.0.1:$port), then down -v"

# --- 4. scale-out --------------------------------------------------------------------------
if ! psql "$pg_url/postgres" -qtA -c 'SELECT 1' >/dev/null 2>&1 ||
    ! python3 - "$redis_url" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname, u.port or 6379), timeout=3)
s.sendall(b"PING\r\n")
sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
PY
then
    [ "${CI:-}" = true ] && fail "PostgreSQL ($pg_url) or Redis ($redis_url) is not reachable"
    echo "image-test: SKIPPED the scale-out part: PostgreSQL ($pg_url) or Redis ($redis_url) is not reachable" >&2
else
    database="reelforge_image_test_$$_$RANDOM"
    psql "$pg_url/postgres" -qtA -c "CREATE DATABASE \"$database\"" >/dev/null
    secret="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
    shared=(-e "DATABASE_URL=$pg_url/$database" -e "REDIS_URL=$redis_url" -e "JWT_SECRET=$secret")
    if command -v moto_server >/dev/null 2>&1; then
        moto_port="$(free_port)"
        moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
        moto_pid=$!
        for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$moto_port" >/dev/null 2>&1 && break; sleep 0.1; done
        curl -fsS -X PUT "http://127.0.0.1:$moto_port/reelforge-media" >/dev/null || fail "no bucket in moto"
        shared+=(-e "STORAGE_URL=s3://reelforge-media/$run_id" -e "AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port"
            -e AWS_ACCESS_KEY_ID=test -e AWS_SECRET_ACCESS_KEY=test -e AWS_REGION=us-east-1)
        storage="an S3 bucket (moto on 127.0.0.1:$moto_port)"
    else
        [ "${CI:-}" = true ] && fail "moto_server is missing (make test installs it)"
        media="$run_id-media"
        volumes+=("$media")
        "$engine" volume create "$media" >/dev/null
        shared+=(-v "$media:/media" -e STORAGE_URL=file:///media)
        storage="a shared volume with file:// storage (moto_server is not installed)"
    fi
    "$engine" run --rm "${run_flags[@]}" "${shared[@]}" "$image" migrate >"$work/migrate.out" 2>&1 ||
        { cat "$work/migrate.out" >&2; fail "reelforge migrate failed"; }
    api_vol="$run_id-api"
    volumes+=("$api_vol")
    "$engine" volume create "$api_vol" >/dev/null
    port="$(free_port)"
    base="http://127.0.0.1:$port"
    start "$run_id-api" "${shared[@]}" -v "$api_vol:/data" -e WORKER_CONCURRENCY=0 \
        -e "BIND=127.0.0.1:$port" -e "PUBLIC_URL=$base" "$image" serve
    metrics=()
    for n in 1 2; do
        mport="$(free_port)"
        metrics+=("http://127.0.0.1:$mport")
        # Each worker has its own DATA_DIR: the image's anonymous volume.
        start "$run_id-worker$n" "${shared[@]}" -e WORKER_CONCURRENCY=1 -e "METRICS_BIND=127.0.0.1:$mport" \
            "$image" worker
    done
    wait_url "$base/readyz" "$run_id-api" 120
    for n in 1 2; do wait_url "${metrics[$((n - 1))]}/readyz" "$run_id-worker$n" 120; done
    if [ "$engine" = podman ]; then
        "$engine" healthcheck run "$run_id-worker1" >/dev/null || fail "the HEALTHCHECK fails on a worker with METRICS_BIND"
    fi
    ok "scale-out: migrate, serve (WORKER_CONCURRENCY=0) and 2 workers on PostgreSQL, Redis and $storage"

    token="$(sign_in "$base" "$(volume_path "$api_vol")/outbox" scale-out@example.com)" || fail "sign-in (scale-out) failed"
    render_started=$SECONDS
    project="$(create_project "$base" "$token" "Scale-out test" "$script_text")"
    view="$(wait_project "$base" "$token" "$project" 300)"
    [ "$(echo "$view" | json 'v["status"]')" = completed ] || fail "the scale-out project did not complete: $view"
    figure "scale-out render (API + 2 workers): $((SECONDS - render_started)) s"
    download "$base" "/api/v1/projects/$project/video" "$token" "$work/scale.mp4"
    shape="$(probe_mp4 "$work/scale.mp4")" || fail "the scale-out video is not a playable MP4"
    steps=0
    for url in "${metrics[@]}"; do
        n="$(curl -fs "$url/metrics" | awk '/^reelforge_step_duration_seconds_count/ {s += $2} END {print s + 0}')"
        steps=$((steps + ${n%.*}))
    done
    [ "$steps" -gt 0 ] || fail "the workers' /metrics count no steps"
    ok "scale-out: a project rendered by the worker containers ($steps steps in their /metrics); ffprobe: $shape"
fi

figure "image-test duration: $((SECONDS - test_started)) s"
say "figures:"
for f in "${figures[@]}"; do say "  $f"; done
echo "image-test: $passed passed, 0 failed"
