#!/usr/bin/env bash
# Builds the web app into web/dist (served by the binary). Installs its npm
# dependencies first when web/node_modules is missing or older than the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || { echo "web-build: $tool is missing (Node 20.19 or newer)" >&2; exit 1; }
done
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
ensure_web_deps
(cd web && npm run build)
