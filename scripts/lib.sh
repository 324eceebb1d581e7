# Shared helpers for the scripts (source it; it runs nothing by itself).

# Cargo's target directory, honouring CARGO_TARGET_DIR and cargo config.
target_dir() {
    cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# reelforge_bin debug|release: prints the server binary's path, building it
# first unless REELFORGE_BIN names one already built.
reelforge_bin() {
    if [ -n "${REELFORGE_BIN:-}" ]; then
        echo "$REELFORGE_BIN"
        return
    fi
    if [ "$1" = release ]; then
        cargo build --release --locked --bin reelforge >&2
    else
        cargo build --locked --bin reelforge >&2
    fi
    echo "$(target_dir)/$1/reelforge"
}

# A TCP port that is free on loopback right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
