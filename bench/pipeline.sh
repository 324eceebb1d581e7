#!/usr/bin/env bash
# Pipeline figures for `make bench`: a 10-scene, ~60 s script rendered with
# motion, crossfades and subtitles at 720p (Free) and 1080p (paid), against the
# encoder's floor (re-encoding the finished video with libx264 veryfast crf 23).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
target_dir="$(target_dir)"
bin="$target_dir/release/reelforge"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

runs="${BENCH_RUNS:-2}"

measure() { # label plan [render options...]: best of $runs renders (the first warms caches)
    local label="$1" plan="$2"
    shift 2
    local out="$work/$label.mp4" wall="" user sys rss_kb
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %U %S %M" -o "$work/$label.time" \
            env RUST_LOG=warn "$bin" render bench/script-60s.txt -o "$out" --plan "$plan" "$@" 2>"$work/$label.log"
        read -r w u s r < "$work/$label.time"
        if [ -z "$wall" ] || python3 -c "import sys; sys.exit(0 if $w < $wall else 1)"; then
            wall=$w; user=$u; sys=$s; rss_kb=$r
        fi
    done
    local duration
    duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out")
    local floor=""
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e" -o "$work/$label.floor" ffmpeg -loglevel error -y -i "$out" \
            -c:v libx264 -preset veryfast -crf 23 -c:a copy "$work/$label-floor.mp4"
        f=$(cat "$work/$label.floor")
        if [ -z "$floor" ] || python3 -c "import sys; sys.exit(0 if $f < $floor else 1)"; then floor=$f; fi
    done
    python3 - "$label" "$wall" "$user" "$sys" "$rss_kb" "$duration" "$floor" <<'PY'
import sys
label, wall, user, sys_, rss, duration, floor = sys.argv[1], *map(float, sys.argv[2:])
cpu = user + sys_
print(f"{label:7} video {duration:5.1f} s | pipeline {wall:5.1f} s = {duration/wall:4.2f}x realtime | "
      f"encoder floor {floor:5.1f} s -> pipeline/floor {wall/floor:4.2f} | "
      f"{cpu/duration:4.2f} CPU-s per output s | peak RSS {rss/1024:5.0f} MB")
PY
}

voice="espeak-ng"
[ -x .venv-piper/bin/python ] && voice="Piper (the default voice)"
echo "Pipeline (best of $runs; $(nproc) cores, 10 scenes, $voice, illustrations, pans, crossfades, burned-in captions)"
measure 720p free
measure 1080p pro
echo "With a music bed (ducked) and pop captions (a picture per word)"
measure 720p+ free --captions pop --music calm-pad
measure 1080p+ pro --captions pop --music calm-pad
