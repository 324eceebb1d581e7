#!/usr/bin/env bash
# Checks deploy/alerts.yml with promtool (Debian package `prometheus`):
# syntax and PromQL (`promtool check rules`), then the unit tests in
# deploy/alerts_test.yml (`promtool test rules`). Without promtool it says so
# and exits 0, unless REQUIRE_PROMTOOL=1 or CI=true (make test installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1; then
    if [ "${REQUIRE_PROMTOOL:-0}" = 1 ] || [ "${CI:-}" = true ]; then
        echo "check-alerts: promtool is missing (apt-get install prometheus)" >&2
        exit 1
    fi
    echo "check-alerts: promtool not installed; skipping (apt-get install prometheus to check deploy/alerts.yml)"
    exit 0
fi
promtool check rules deploy/alerts.yml
(cd deploy && promtool test rules alerts_test.yml)
