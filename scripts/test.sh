#!/usr/bin/env bash
# Runs every test of the workspace, the media crate's own included.
# Behavioural tests run on SQLite and on PostgreSQL (TEST_POSTGRES_URL,
# default postgres://postgres@127.0.0.1:5432); in CI (CI=true) an
# unreachable PostgreSQL fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v cargo-nextest >/dev/null 2>&1; then
    cargo nextest run --locked --workspace --no-fail-fast --failure-output final
else
    cargo test --locked --workspace --no-fail-fast
fi
