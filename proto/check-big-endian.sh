#!/bin/sh
# Runs acs-proto's unit and property tests on big-endian MIPS32 (ath79 routers' CPU) under
# qemu-user, so any byte-order bug in the wire format fails. Needs what the shared CROSS.md build notes
# lists: Debian rustc-web/cargo-web/rust-web-src, qemu-user-static, PyPI ziglang +
# cargo-zigbuild. The first run builds std for the target (several minutes on 2 cores).
set -eu

TARGET=mips-unknown-linux-musl
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export PATH=/usr/bin:$PATH CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_MIPS_UNKNOWN_LINUX_MUSL_RUNNER=qemu-mips-static

cd "$ROOT"
cargo-zigbuild test -p acs-proto --target "$TARGET" -Zbuild-std=std,panic_unwind --lib --tests
