#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs, builds
# every crate, SDK and example from source, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
scripts/install-deps.sh
if [ -x scripts/build-guests.sh ]; then scripts/build-guests.sh; fi
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast -- --test-threads=2
