#!/usr/bin/env bash
# Builds the web app into web/dist (served by the binary). Installs its npm
# dependencies first when web/node_modules is missing or older than the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || { echo "web-build: $tool is missing (Node 20.19 or newer)" >&2; exit 1; }
done
if [ ! -d web/node_modules ] || [ ! -f web/node_modules/.package-lock.json ] \
    || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    echo "web-build: installing web dependencies (npm ci)"
    (cd web && npm ci --no-audit --no-fund)
fi
(cd web && npm run build)
