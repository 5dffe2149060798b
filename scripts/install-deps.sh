#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine.
# Idempotent: skips what is already present.
set -euo pipefail
APT_PACKAGES=(
  redis-server redis-tools              # reference server, redis-cli, redis-benchmark
  clang lld wasi-libc libclang-rt-14-dev-wasm32   # C guests
  rustc cargo libstd-rust-dev-wasm32    # Rust 1.63 with the wasm32 targets, for Rust guests
  librust-serde-json-dev librust-regex-dev   # crates of the Rust examples (Debian registry, offline)
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's redis-server package starts a service on 6379; tests use their own ports.
command -v redis-server >/dev/null
command -v cargo >/dev/null || { echo "install-deps: cargo (rustup) is required" >&2; exit 1; }
