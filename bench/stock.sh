#!/usr/bin/env bash
# Stock footage figure for `make bench`: a 10-scene 720p project whose scenes
# are stock clips, fetched from a local Pexels stand-in (bench/stock_standin.py:
# its wire format, clips offered at 360p, 720p and 1080p) and rendered by
# `reelforge render --scenes`; against the encoder's floor (re-encoding the
# finished video with libx264 veryfast crf 23, right after each render).
# Targets: at least 3x realtime, at most 1.5x the floor. Narrated by espeak-ng
# (the pictures are what this measures) and again by the default voice (Piper
# when .venv-piper is there).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
bin="${REELFORGE_BIN:-$(target_dir)/release/reelforge}"
work="$(mktemp -d)"
standin=""
cleanup() { [ -n "$standin" ] && kill "$standin" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

python3 bench/stock_standin.py > "$work/port" &
standin=$!
# The first run makes the clips (a few minutes); later runs reuse them.
for _ in $(seq 3000); do
    [ -s "$work/port" ] && break
    kill -0 "$standin" 2>/dev/null || { echo "stock bench: the stand-in stopped" >&2; exit 1; }
    sleep 0.2
done
port=$(cat "$work/port")
[ -n "$port" ] || { echo "stock bench: the stand-in did not start" >&2; exit 1; }

python3 - "$work/scenes.json" <<'PY'
import json, sys
texts = ["The river wakes before the town does.", "Fog lifts from the water in long slow ribbons.",
         "Fishermen check their nets in silence.", "A heron waits at the edge of the reeds.",
         "By seven the first ferry crosses.", "Children race along the towpath to school.",
         "The market opens under striped awnings.", "Bread and oranges change hands.",
         "At noon the bridge hums with bicycles.", "And the river carries all of it to the sea."]
json.dump([{"text": t, "visual": {"kind": "stock", "media": "video", "query": f"clip {i}"}} for i, t in enumerate(texts)],
          open(sys.argv[1], "w"))
PY

runs="${BENCH_RUNS:-3}"
for tts in espeak auto; do
out="$work/stock-$tts.mp4"
: > "$work/runs"
# Each render is followed at once by its own floor (see bench/pipeline.sh: the
# machine's speed drifts); the first render warms the page cache and the voice cache.
for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S" -o "$work/time" env RUST_LOG=warn PEXELS_API_KEY=bench TTS_PROVIDER="$tts" \
        STOCK_API_BASE_PEXELS="http://127.0.0.1:$port" "$bin" render --scenes "$work/scenes.json" -o "$out" --plan free \
        2>"$work/log"
    # Every scene must be its stock clip: a fallback would measure something else.
    if grep -q "warning:" "$work/log"; then
        echo "stock bench: the render fell back:" >&2; grep "warning:" "$work/log" >&2; exit 1
    fi
    reencode_floor "$out" "$work/floor.mp4" "$work/floor"
    echo "$(cat "$work/time") $(cat "$work/floor")" >> "$work/runs"
done
# STOCK_BENCH_OUT=path keeps the (espeak) video to look at.
[ -n "${STOCK_BENCH_OUT:-}" ] && [ "$tts" = espeak ] && cp "$out" "$STOCK_BENCH_OUT"
duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out")
python3 - "$tts" "$duration" "$work/runs" <<'PY'
import statistics, sys
tts, duration, runs = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rows = [list(map(float, line.split())) for line in open(runs) if line.strip()]
wall, user, sys_, floor = min(rows)  # the fastest render, with its own floor
ratios = [r[0] / r[3] for r in rows]
voice = "espeak-ng" if tts == "espeak" else "default voice"
print(f"stock clips 720p ({voice}): video {duration:5.1f} s | render {wall:5.1f} s = {duration/wall:4.2f}x realtime "
      f"(target >= 3) | floor {floor:5.1f} s | render/floor median {statistics.median(ratios):4.2f} "
      f"({' '.join(f'{r:.2f}' for r in ratios)}; target <= 1.5) | {(user+sys_)/duration:4.2f} CPU-s per output s")
PY
done
