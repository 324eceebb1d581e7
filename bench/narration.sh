#!/usr/bin/env bash
# Piper narration speed for `make bench`: two scenes speaking at once through
# the pool of loaded Piper children (crates/media/examples/narration.rs).
# Target: at least 10x realtime with the voices loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-piper/bin/python ] && [ -z "${PIPER_PYTHON:-}" ]; then
    echo "narration: .venv-piper is not installed (scripts/ensure-deps.sh bench installs it); skipped"
    exit 0
fi
cargo run --locked --release -q -p reelforge-media --example narration 2>/dev/null
