# Reelforge: `make run` and `make test` do the whole set-up on a fresh machine.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: run test build bench chaos load fuzz lint fmt deps image image-test

## run: install what is missing, build, and serve on PUBLIC_URL (default http://localhost:8080)
run: build
	cargo run --release --locked --bin reelforge -- serve

## build: the release binary
build:
	@scripts/ensure-deps.sh run
	scripts/web-build.sh
	cargo build --release --locked

## test: formatting, lints, licences and crate sources, every test on SQLite and PostgreSQL, the API description, the web app and the container image
test:
	@scripts/ensure-deps.sh test
	cargo fmt --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	cargo deny --locked check licenses bans sources
	scripts/test.sh
	scripts/check-openapi.sh
	scripts/web-test.sh
	scripts/chaos.sh --short
	scripts/fuzz.sh --short
	scripts/check-alerts.sh
	scripts/image-test.sh

## image: the container image reelforge:latest (release binary and web app; podman or docker, podman installed when neither is)
image:
	scripts/image.sh

## image-test: the compose file, then the test image run as self-hosters run it (single node, restart, backup, scale-out)
image-test:
	@scripts/ensure-deps.sh image
	scripts/image-test.sh

## bench: throughput, latency, memory and start-up figures (a benchmark, not a test)
bench:
	@scripts/ensure-deps.sh bench
	cargo build --release --locked
	bench/run.sh

## chaos: kill -9 a worker, restart PostgreSQL, fill the disk, hang the image provider, SIGTERM a worker
chaos:
	@scripts/ensure-deps.sh test
	scripts/chaos.sh

## load: the seed's Locust test, 1,000 users for 5 minutes against a release server (test-output/load.txt)
load:
	@scripts/ensure-deps.sh run
	scripts/load.sh --users 1000 --minutes 5

## fuzz: schemathesis against /api/openapi.json for 20 minutes, signed in (test-output/fuzz/)
fuzz:
	@scripts/ensure-deps.sh run
	scripts/fuzz.sh

lint:
	cargo clippy --locked --workspace --all-targets -- -D warnings

fmt:
	cargo fmt
