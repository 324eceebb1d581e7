#!/usr/bin/env bash
# Pipeline figures for `make bench`: a 10-scene, ~60 s script rendered with
# motion, crossfades and subtitles at 720p (Free) and 1080p (paid), against the
# encoder's floor (re-encoding the finished video with libx264 veryfast crf 23).
#
# Each render is followed at once by its own floor, and the ratio reported is
# the median of those pairs: this machine's speed drifts (one file's floor took
# 7.7 s, then 11.2 s a quarter of an hour later, on 2026-12-01), and a floor
# measured minutes after its render would measure the drift with the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
target_dir="$(target_dir)"
bin="$target_dir/release/reelforge"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

runs="${BENCH_RUNS:-3}"

measure() { # label plan [render options...]: $runs renders (the first warms caches), each with its floor
    local label="$1" plan="$2"
    shift 2
    local out="$work/$label.mp4"
    : > "$work/$label.runs"
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %U %S %M" -o "$work/$label.time" \
            env RUST_LOG=warn "$bin" render bench/script-60s.txt -o "$out" --plan "$plan" "$@" 2>"$work/$label.log"
        reencode_floor "$out" "$work/$label-floor.mp4" "$work/$label.floor"
        echo "$(cat "$work/$label.time") $(cat "$work/$label.floor")" >> "$work/$label.runs"
    done
    local duration
    duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out")
    python3 - "$label" "$duration" "$work/$label.runs" <<'PY'
import statistics, sys
label, duration, runs = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rows = [list(map(float, line.split())) for line in open(runs) if line.strip()]
wall, user, sys_, rss, floor = min(rows)  # the fastest render, with its own floor
ratios = [r[0] / r[4] for r in rows]
print(f"{label:7} video {duration:5.1f} s | pipeline {wall:5.1f} s = {duration/wall:4.2f}x realtime | "
      f"floor {floor:5.1f} s | pipeline/floor median {statistics.median(ratios):4.2f} "
      f"({' '.join(f'{r:.2f}' for r in ratios)}) | {(user + sys_)/duration:4.2f} CPU-s per output s | "
      f"peak RSS {rss/1024:5.0f} MB")
PY
}

voice="espeak-ng"
[ -x .venv-piper/bin/python ] && voice="Piper (the default voice)"
echo "Pipeline (fastest of $runs renders, median ratio to each one's floor; $(nproc) cores, 10 scenes, $voice, illustrations, pans, crossfades, burned-in captions)"
measure 720p free
measure 1080p pro
echo "With a music bed (ducked) and pop captions (a picture per word)"
measure 720p+ free --captions pop --music calm-pad
measure 1080p+ pro --captions pop --music calm-pad
