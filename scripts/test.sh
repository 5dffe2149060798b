#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs, builds
# every crate, SDK and example from source, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# A clean CI build gains nothing from incremental state (~0.5 GB on disk).
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
scripts/install-deps.sh
scripts/build-guests.sh
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast -- --test-threads=2

# The SDK READMEs' five-minute quick starts, run literally against a real
# server (write, build, load with redis-cli, call).
QS_DIR=$(mktemp -d)
QS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/debug/ferrite --port "$QS_PORT" --dir "$QS_DIR" > "$QS_DIR/ferrite.log" 2>&1 &
QS_PID=$!
trap 'kill "$QS_PID" 2>/dev/null || true; rm -rf "$QS_DIR"' EXIT
for _ in $(seq 100); do redis-cli -p "$QS_PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done
sdk/quickstart-test.sh --port "$QS_PORT"
