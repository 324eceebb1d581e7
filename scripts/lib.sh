# Shared helpers for the scripts (source it; it runs nothing by itself).

# Cargo's target directory, honouring CARGO_TARGET_DIR and cargo config.
target_dir() {
    cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# reelforge_bin debug|release: prints the server binary's path, building it
# first unless REELFORGE_BIN names one already built.
reelforge_bin() {
    if [ -n "${REELFORGE_BIN:-}" ]; then
        echo "$REELFORGE_BIN"
        return
    fi
    if [ "$1" = release ]; then
        cargo build --release --locked --bin reelforge >&2
    else
        cargo build --locked --bin reelforge >&2
    fi
    echo "$(target_dir)/$1/reelforge"
}

# ensure_web_deps: installs the web app's npm packages (npm ci) when
# web/node_modules is missing or older than web/package-lock.json.
ensure_web_deps() {
    if [ ! -d web/node_modules ] || [ ! -f web/node_modules/.package-lock.json ] \
        || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
        echo "installing web dependencies (npm ci)"
        (cd web && npm ci --no-audit --no-fund)
    fi
}

# need_python_module MODULE PACKAGE NAME: pip-installs PACKAGE when python3
# cannot import MODULE (NAME says which script is installing it).
need_python_module() {
    python3 -c "import $1" >/dev/null 2>&1 && return 0
    echo "$3: installing $2 (pip)"
    python3 -m pip install -q "$2"
}

# use_scratch: sets $work to a new temporary directory and $pid to "", and
# on exit stops the server whose PID the caller later puts in $pid (and
# waits for it), then removes $work.
use_scratch() {
    work="$(mktemp -d)"
    pid=""
    trap scratch_cleanup EXIT
}

# shellcheck disable=SC2317  # called by the EXIT trap
scratch_cleanup() {
    if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}

# A TCP port that is free on loopback right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_ready BASE PID LOG NAME: waits up to 60 s for BASE/readyz; fails,
# showing the end of LOG, if the server exits or never becomes ready.
wait_ready() {
    local base="$1" pid="$2" log="$3" name="$4"
    for _ in $(seq 1 600); do
        curl -fs "$base/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { echo "$name: the server did not start:" >&2; tail -20 "$log" >&2; return 1; }
        sleep 0.1
    done
    echo "$name: the server is not ready after 60 s" >&2
    return 1
}

# sign_in BASE OUTBOX EMAIL: signs in as a person would (asks for a link,
# reads it from the .eml outbox, verifies it) and prints the access token.
sign_in() {
    local base="$1" outbox="$2" email="$3" token
    curl -fs -X POST "$base/api/auth/magic-link/request" -H 'content-type: application/json' \
        -d "{\"email\":\"$email\"}" >/dev/null
    token="$(python3 - "$outbox" "$email" <<'PY'
import email, email.policy, glob, os, re, sys, time
outbox, wanted = sys.argv[1], sys.argv[2]
deadline = time.time() + 30
while time.time() < deadline:
    for path in glob.glob(os.path.join(outbox, "*.eml")):
        msg = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
        if wanted not in str(msg["To"]):
            continue
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                # get_content() undoes quoted-printable line wrapping.
                match = re.search(r"/auth/verify\?token=([A-Za-z0-9_-]+)", part.get_content())
                if match:
                    print(match.group(1))
                    sys.exit(0)
    time.sleep(0.1)
sys.exit("no sign-in e-mail in the outbox")
PY
)" || return 1
    curl -fs -X POST "$base/api/auth/magic-link/verify" -H 'content-type: application/json' \
        -d "{\"token\":\"$token\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# reencode_floor VIDEO OUT TIMEFILE: the encoder's floor of a finished video
# (`make bench`): re-encoding it with the product's settings (libx264
# veryfast, CRF 23, audio copied) into OUT; its wall seconds go to TIMEFILE.
reencode_floor() {
    /usr/bin/time -f "%e" -o "$3" ffmpeg -loglevel error -y -i "$1" \
        -c:v libx264 -preset veryfast -crf 23 -c:a copy "$2"
}
