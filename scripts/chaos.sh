#!/usr/bin/env bash
# Chaos suite (issue 8): kill -9 a worker, restart PostgreSQL, fill the disk,
# hang the image provider, SIGTERM a worker; each scenario checks every
# project's final state, exact usage and the stored outputs.
#   scripts/chaos.sh --short   the quick form `make test` runs (< 3 minutes)
#   scripts/chaos.sh           every repetition (`make chaos`)
# Options: --only NAME[,NAME] --keep --no-build. Logs: test-output/chaos/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1
exec python3 scripts/chaos/run.py "$@"
