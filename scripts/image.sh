#!/usr/bin/env bash
# Builds Reelforge's container image from the Containerfile with podman or
# docker, whichever works here (podman is installed from Debian's packages when
# neither is).
#
#   scripts/image.sh            release binary and web app -> reelforge:latest (make image)
#   scripts/image.sh --debug    debug binary -> localhost/reelforge:test (make image-test)
#   scripts/image.sh --tag T    another tag
#
# The binary is built on the host and copied in (REELFORGE_BIN names one
# already built); the web app is built into web/dist when missing (always for
# a release image). The base is $BASE, else debian:bookworm-slim when it can be
# had, else a local debootstrap of bookworm (scripts/container.sh).
# Prints the image's size and the build time.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=scripts/container.sh
. scripts/container.sh

flavour=release
tag=""
while [ $# -gt 0 ]; do
    case "$1" in
        --debug) flavour=debug ;;
        --release) flavour=release ;;
        --tag) tag="$2"; shift ;;
        *) echo "image: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$tag" ]; then
    if [ "$flavour" = release ]; then tag=reelforge:latest; else tag=localhost/reelforge:test; fi
fi

pick_engine || exit 1
echo "image: engine $engine ($("$engine" --version))"

bin="$(reelforge_bin "$flavour")"
[ -x "$bin" ] || { echo "image: no binary at $bin" >&2; exit 1; }
if [ "$flavour" = release ] || [ ! -f web/dist/index.html ]; then
    scripts/web-build.sh
fi

# Stage the binary in the build context (.image/ is gitignored; .dockerignore
# lets only it, web/dist and deploy/image in). Debug info is dropped, symbols kept.
stage=".image/$flavour"
mkdir -p "$stage"
cp "$bin" "$stage/reelforge.tmp"
if have strip; then strip --strip-debug "$stage/reelforge.tmp"; fi
mv "$stage/reelforge.tmp" "$stage/reelforge"

ensure_base_image || { echo "image: no base image" >&2; exit 1; }
echo "image: base $base"

build_args=(--network host --build-arg "BASE=$base" --build-arg "REELFORGE_BIN=$stage/reelforge"
    -t "$tag" -f Containerfile)
# The host's CA bundle (it may hold a TLS-inspecting proxy's CA) and PyPI
# mirror reach pip in the Piper stage only; neither ends up in the image.
ca="${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}"
[ -f "$ca" ] && build_args+=(--secret "id=pip-ca,src=$ca")
[ -n "${PIP_INDEX_URL:-}" ] && build_args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
# Podman writes OCI images by default, which have no HEALTHCHECK.
[ "$engine" = podman ] && build_args+=(--format docker --layers)
previous="$("$engine" image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
started=$SECONDS
"$engine" build "${build_args[@]}" .
elapsed=$((SECONDS - started))
# The image this tag named before (an older binary) is dropped unless a container uses it.
current="$("$engine" image inspect --format '{{.Id}}' "$tag")"
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
    "$engine" rmi "$previous" >/dev/null 2>&1 || true
fi
size="$("$engine" image inspect --format '{{.Size}}' "$tag")"
echo "image: built $tag in ${elapsed} s; $((size / 1000000)) MB ($size bytes)"
