#!/bin/sh
# Builds acs-proto for a bare-metal Cortex-M4F target (thumbv7em-none-eabihf), which has no
# std and no allocator, proving the crate needs neither. rustup here cannot download that
# target, so this uses Debian's rustc/cargo with the std sources and -Zbuild-std=core
# (see the shared CROSS.md build notes). Installs what it needs; safe to run repeatedly.
#
# Usage: proto/check-no-std.sh     (from anywhere; exit status 0 = pass)
set -eu

TARGET=thumbv7em-none-eabihf
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# 1. Debian's toolchain with the std sources. apt may be locked by a parallel install: wait.
if [ ! -x /usr/bin/cargo ] || [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
    echo "check-no-std: installing rustc-web cargo-web rust-web-src" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -o DPkg::Lock::Timeout=600 \
        rustc-web cargo-web rust-web-src >&2
fi

# 2. No dependency compiled for the target may turn on a std or alloc feature
#    (proc macros run on the host and are left out).
features=$(/usr/bin/cargo tree --manifest-path "$ROOT/Cargo.toml" -p acs-proto -e normal,features,no-proc-macro \
    --target "$TARGET" --prefix none)
if echo "$features" | grep -E 'feature "(std|alloc|use_std|use-std)"'; then
    echo "check-no-std: FAIL: a dependency of acs-proto enables std/alloc (above)" >&2
    exit 1
fi

# 3. Build core only for the target; any use of std or alloc fails to compile.
cd "$ROOT"
PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    /usr/bin/cargo build -p acs-proto --release --target "$TARGET" -Zbuild-std=core

lib="$CARGO_TARGET_DIR/$TARGET/release/libacs_proto.rlib"
test -f "$lib"
echo "check-no-std: OK: $lib ($(/usr/bin/rustc --version))"
