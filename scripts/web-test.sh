#!/usr/bin/env bash
# The web app's tests (issue 7): the production build, ESLint, Vitest unit tests, then
# the end-to-end test in Debian's headless Chromium (driven by playwright-core;
# no browser is downloaded) against the real server serving web/dist.
# Screenshots and figures go to test-output/.
#
# Needs node >= 20.19 with npm, and /usr/bin/chromium (scripts/ensure-deps.sh
# test installs it). scripts/web-build.sh installs the npm packages only when
# web/node_modules is missing or older than web/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

for tool in node npm cargo; do
    command -v "$tool" >/dev/null 2>&1 || { echo "web-test: $tool is missing" >&2; exit 1; }
done
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "web-test: $chromium is missing (apt-get install chromium; scripts/ensure-deps.sh test does it)" >&2
    exit 1
fi

echo "web-test: build"
scripts/web-build.sh
echo "web-test: eslint"
(cd web && npm run --silent lint)
echo "web-test: vitest"
(cd web && npx vitest run)

echo "web-test: server binary"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
bin="$(reelforge_bin debug)"

echo "web-test: end-to-end"
mkdir -p "$root/test-output"
CHROMIUM="$chromium" REELFORGE_BIN="$bin" node web/e2e/run.mjs
