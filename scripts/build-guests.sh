#!/usr/bin/env bash
# Builds every guest SDK and example from source into target/guests/*.wasm:
#   Rust   sdk/rust (Debian rustc 1.63 + libstd-rust-dev-wasm32; crates from
#          Debian's registry /usr/share/cargo/registry, no network), examples
#          for wasm32-unknown-unknown and wasm32-wasi
#   C      sdk/c/ferrite.h with clang 14 (--target=wasm32 and wasm32-wasi)
#   Go     sdk/go with the machine's Go (GOOS=wasip1 -buildmode=c-shared), offline
#   AS     sdk/assemblyscript with asc from npm (npm ci against the lockfiles)
# Also runs the SDKs' own unit tests (host side). Fails loudly on any error,
# prints timings, is idempotent (incremental builds). Usage:
#   scripts/build-guests.sh            # everything
#   FERRITE_GUESTS_SKIP=go,as scripts/build-guests.sh   # skip languages (local use)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/guests
mkdir -p "$OUT"
SKIP=",${FERRITE_GUESTS_SKIP:-},"
T0=$(date +%s)

step() { STEP_NAME=$1; STEP_T0=$(date +%s); echo "build-guests: == $1"; }
done_step() { echo "build-guests: == $STEP_NAME done in $(( $(date +%s) - STEP_T0 ))s"; }
die() { echo "build-guests: ERROR: $*" >&2; exit 1; }
trap 'echo "build-guests: FAILED in step: ${STEP_NAME:-setup}" >&2' ERR
skipped() { [[ $SKIP == *",$1,"* ]]; }
# install_wasm <file> <name>: checks the wasm magic and copies into target/guests.
install_wasm() {
  [ -s "$1" ] || die "$1 was not produced"
  [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = "0061736d" ] || die "$1 is not a wasm module"
  cp "$1" "$OUT/$2.wasm"
  echo "build-guests:    target/guests/$2.wasm ($(wc -c <"$OUT/$2.wasm") bytes)"
}

# ---- toolchains (installed by scripts/install-deps.sh on a fresh machine) ----
need_apt=()
[ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/wasm32-unknown-unknown ] || need_apt+=(rustc cargo libstd-rust-dev-wasm32)
[ -d /usr/share/cargo/registry/serde_json-1.0.87 ] || [ -n "$(ls -d /usr/share/cargo/registry/serde_json-* 2>/dev/null)" ] || need_apt+=(librust-serde-json-dev)
[ -n "$(ls -d /usr/share/cargo/registry/regex-1* 2>/dev/null)" ] || need_apt+=(librust-regex-dev)
command -v clang >/dev/null && command -v wasm-ld >/dev/null || need_apt+=(clang lld)
[ -d /usr/include/wasm32-wasi ] || need_apt+=(wasi-libc libclang-rt-14-dev-wasm32)
if ! skipped as && ! command -v npm >/dev/null; then need_apt+=(nodejs npm); fi
if ((${#need_apt[@]})); then
  echo "build-guests: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

# ---- Rust (1.63, Debian) ----
if ! skipped rust; then
  step "Rust SDK: unit tests (rustc $(/usr/bin/rustc --version | cut -d' ' -f2))"
  # Debian's cargo/rustc, never rustup's proxies; crates from Debian's registry.
  export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO_TERM_COLOR=never
  DEBIAN_SRC=(--config 'source.crates-io.replace-with="debian"' --config 'source.debian.directory="/usr/share/cargo/registry"')
  (cd sdk/rust && /usr/bin/cargo "${DEBIAN_SRC[@]}" test --offline --quiet)
  done_step
  for target in wasm32-unknown-unknown wasm32-wasi; do
    step "Rust examples: $target"
    (cd examples && /usr/bin/cargo "${DEBIAN_SRC[@]}" build --offline --release --target "$target")
    suffix=rust; [ "$target" = wasm32-wasi ] && suffix=rust-wasi
    for lib in rate_limit sliding_window_rate_limit transform_user validate_email aggregate_stats process_order validate sdk_checks; do
      install_wasm "examples/target/$target/release/$lib.wasm" "$lib-$suffix"
    done
    done_step
  done
  unset RUSTC RUSTDOC
  if command -v rustup >/dev/null && rustup run stable cargo --version >/dev/null 2>&1; then
    step "Rust SDK: unit tests with current stable ($(rustup run stable rustc --version | cut -d' ' -f2))"
    (cd sdk/rust && CARGO_TARGET_DIR=target/stable rustup run stable cargo test --quiet)
    done_step
  fi
fi

# ---- C (clang) ----
if ! skipped c; then
  step "C examples (clang $(clang --version | head -1 | grep -o '[0-9][0-9.]*' | head -1))"
  CFLAGS=(-O2 -Wall -Wextra -Werror -I"$ROOT/sdk/c")
  for ex in rate_limit checksum; do
    src=examples/$ex/c/$ex.c
    clang --target=wasm32 -nostdlib "${CFLAGS[@]}" -Wl,--no-entry -Wl,--strip-debug -o "$OUT/$ex-c.wasm.tmp" "$src"
    install_wasm "$OUT/$ex-c.wasm.tmp" "$ex-c"; rm -f "$OUT/$ex-c.wasm.tmp"
    clang --target=wasm32-wasi -mexec-model=reactor "${CFLAGS[@]}" -Wl,--strip-debug -o "$OUT/$ex-c-wasi.wasm.tmp" "$src"
    install_wasm "$OUT/$ex-c-wasi.wasm.tmp" "$ex-c-wasi"; rm -f "$OUT/$ex-c-wasi.wasm.tmp"
  done
  # The header must also compile as C++.
  echo '#include "ferrite.h"' | clang++ --target=wasm32 -x c++ -fsyntax-only -Wall -Wextra -Werror -I"$ROOT/sdk/c" -
  done_step
fi

# ---- Go ----
if ! skipped go; then
  command -v go >/dev/null || die "Go is required (the machine's Go toolchain, 1.24 or newer)"
  step "Go SDK and examples ($(go version | cut -d' ' -f3))"
  export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false
  (cd sdk/go && go vet ./... && go test ./... && GOOS=wasip1 GOARCH=wasm go vet ./...)
  for ex in rate_limit validate; do
    (cd examples/$ex/go && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-s -o "$OUT/$ex-go.wasm.tmp" .)
    install_wasm "$OUT/$ex-go.wasm.tmp" "$ex-go"; rm -f "$OUT/$ex-go.wasm.tmp"
  done
  done_step
fi

# ---- AssemblyScript ----
if ! skipped as; then
  step "AssemblyScript SDK and examples (node $(node --version))"
  (cd sdk/assemblyscript && npm ci --no-audit --no-fund --loglevel=error && npm test --silent)
  for ex in rate_limit transform; do
    (cd examples/$ex/assemblyscript && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
    install_wasm "examples/$ex/assemblyscript/build/$ex.wasm" "$ex-as"
  done
  done_step
fi

echo "build-guests: all guests built in $(( $(date +%s) - T0 ))s:"
ls -1 "$OUT"
