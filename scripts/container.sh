# shellcheck shell=bash disable=SC2034  # sets $engine and $base for the caller
# Container engine helpers for scripts/image.sh and scripts/image-test.sh
# (source it; it runs nothing by itself).
#
#   pick_engine          sets $engine to podman or docker, whichever can run a
#                        container here; installs podman from Debian's packages
#                        when neither is installed. Fails (returns 1) when none works.
#   ensure_base_image    sets $base to the image the Containerfile starts FROM:
#                        $BASE when set, else debian:bookworm-slim when it is
#                        here or can be pulled, else localhost/reelforge-base:bookworm,
#                        made once with debootstrap from the machine's Debian mirror.
#
# Podman on a machine without systemd (a CI runner, a container, this project's
# development VMs with cgroup v1) needs a few settings its packaged defaults
# lack: the cgroupfs cgroup manager, the runc runtime where crun cannot work,
# no default ulimits it may not raise, and file-based events. They go into a
# containers.conf under $CONTAINER_CONF_DIR that CONTAINERS_CONF names for the
# podman commands these scripts run, and only when the caller has not set
# CONTAINERS_CONF itself. Nothing of this is in the image.

have() { command -v "$1" >/dev/null 2>&1; }

# The base the debootstrap fallback makes, and the public one it stands in for.
REELFORGE_BASE_LOCAL="localhost/reelforge-base:bookworm"
REELFORGE_BASE_PUBLIC="docker.io/library/debian:bookworm-slim"

# podman_conf: writes the containers.conf described above and exports CONTAINERS_CONF.
podman_conf() {
    local systemd=""
    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && [ -d /run/systemd/system ]; then systemd=1
    else
        # Without systemd podman cannot set up the timers that run health
        # checks, and says so at every start; `podman healthcheck run` still works.
        export DISABLE_HC_SYSTEMD=true
    fi
    [ -n "${CONTAINERS_CONF:-}" ] && return 0
    local dir="${CONTAINER_CONF_DIR:-${TMPDIR:-/tmp}/reelforge-containers}"
    mkdir -p "$dir"
    local runtime=""
    # runc: crun fails on some hosts (cgroup v1 without systemd, like this
    # project's machines); runc works on both cgroup versions.
    if have runc; then runtime='runtime = "runc"'; fi
    local cgroups='cgroup_manager = "cgroupfs"'
    # With systemd as PID 1 the packaged default (systemd) is right.
    [ -n "$systemd" ] && cgroups=""
    cat >"$dir/containers.conf" <<EOF
# Written by scripts/container.sh for this machine's podman; not part of the image.
[containers]
default_ulimits = []

[engine]
$cgroups
$runtime
events_logger = "file"
EOF
    export CONTAINERS_CONF="$dir/containers.conf"
}

# engine_works ENGINE: the engine answers (a daemon for docker; podman's own storage).
engine_works() {
    case "$1" in
        podman) have podman && podman info >/dev/null 2>&1 ;;
        docker) have docker && docker info >/dev/null 2>&1 ;;
        *) return 1 ;;
    esac
}

pick_engine() {
    engine="${CONTAINER_ENGINE:-}"
    if [ -z "$engine" ]; then
        if have podman; then engine=podman
        elif have docker && docker info >/dev/null 2>&1; then engine=docker
        else
            # A docker client without a daemon does not count: install podman.
            echo "container: neither podman nor a running docker; installing podman (Debian packages)" >&2
            if have apt-get; then
                local sudo=""
                [ "$(id -u)" = 0 ] || sudo=sudo
                $sudo apt-get update -qq >&2 || true
                $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                    podman runc fuse-overlayfs slirp4netns uidmap >/dev/null || true
            fi
            if have podman; then engine=podman; else
                echo "container: could not install podman" >&2
                return 1
            fi
        fi
    fi
    [ "$engine" = podman ] && podman_conf
    if ! engine_works "$engine"; then
        echo "container: $engine is installed but does not work here ($engine info failed)" >&2
        return 1
    fi
    return 0
}

image_exists() { "$engine" image inspect "$1" >/dev/null 2>&1; }

# debian_mirror [security]: the Debian archive this machine's apt uses (or
# $DEBIAN_MIRROR / $DEBIAN_SECURITY_MIRROR), so the base comes from the same place.
debian_mirror() {
    local kind="${1:-main}" override uri
    if [ "$kind" = security ]; then override="${DEBIAN_SECURITY_MIRROR:-}"; else override="${DEBIAN_MIRROR:-}"; fi
    if [ -n "$override" ]; then echo "$override"; return; fi
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
        grep -E '^[[:space:]]*(URIs:|deb[[:space:]])' | grep -oE 'https?://[^[:space:]]+' |
        sed 's,/$,,' | if [ "$kind" = security ]; then grep -E '/debian-security$'; else grep -E '/debian$'; fi |
        head -1)" || true
    if [ -n "$uri" ]; then echo "$uri"
    elif [ "$kind" = security ]; then echo "http://deb.debian.org/debian-security"
    else echo "http://deb.debian.org/debian"; fi
}

# build_local_base: debootstrap a minimal bookworm, trimmed like Debian's
# -slim images (no documentation, manuals or translations; no apt lists or
# caches), and import it as $REELFORGE_BASE_LOCAL.
build_local_base() {
    local mirror security rootfs started
    mirror="$(debian_mirror)"
    security="$(debian_mirror security)"
    if ! have debootstrap; then
        echo "container: installing debootstrap" >&2
        apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    fi
    rootfs="$(mktemp -d "${TMPDIR:-/var/tmp}/reelforge-rootfs.XXXXXX")"
    started=$SECONDS
    echo "container: making $REELFORGE_BASE_LOCAL with debootstrap (bookworm, minbase) from $mirror" >&2
    if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1; then
        tail -20 "$rootfs.log" >&2
        rm -rf "$rootfs" "$rootfs.log"
        return 1
    fi
    rm -f "$rootfs.log"
    # What the official -slim images leave out, also for later apt installs.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    cat >"$rootfs/etc/apt/apt.conf.d/slim" <<'EOF'
Acquire::Languages "none";
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
EOF
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda,locale}/* \
        "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
        "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/etc/hostname "$rootfs"/etc/machine-id
    : >"$rootfs/etc/resolv.conf"
    tar --numeric-owner -C "$rootfs" -c . | "$engine" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "$REELFORGE_BASE_LOCAL" >/dev/null
    rm -rf "$rootfs"
    echo "container: $REELFORGE_BASE_LOCAL made in $((SECONDS - started)) s" >&2
}

ensure_base_image() {
    if [ -n "${BASE:-}" ]; then base="$BASE"; return 0; fi
    if image_exists "$REELFORGE_BASE_PUBLIC"; then base="$REELFORGE_BASE_PUBLIC"; return 0; fi
    if image_exists "$REELFORGE_BASE_LOCAL"; then base="$REELFORGE_BASE_LOCAL"; return 0; fi
    if timeout 120 "$engine" pull -q "$REELFORGE_BASE_PUBLIC" >/dev/null 2>&1; then
        base="$REELFORGE_BASE_PUBLIC"; return 0
    fi
    echo "container: $REELFORGE_BASE_PUBLIC cannot be pulled here; using a local debootstrap base" >&2
    build_local_base || return 1
    base="$REELFORGE_BASE_LOCAL"
}
