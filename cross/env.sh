# Sourced by the cross/*.sh scripts: environment for Debian's rustc/cargo 1.96 + zig.
# Never touches rustup: Debian's tools are named explicitly; rustup's stay the default
# for `make test` (the host test harness in cross/test-cross.sh uses them on purpose).

CROSS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$CROSS_DIR/.." && pwd)
ALL_TARGETS="mips-unknown-linux-musl mipsel-unknown-linux-musl armv7-unknown-linux-musleabihf aarch64-unknown-linux-musl"
# Not a router: the static binary of the container image and of plain Linux hosts
# (deploy/); built only when named (`make cross TARGET=x86_64 VARIANT=full`).
HOST_TARGETS="x86_64-unknown-linux-musl"

# Separate target dir: Debian's cargo must not share fingerprints/host artifacts
# (build scripts, proc macros in target/release) with rustup's cargo.
export CROSS_TARGET_DIR=${CROSS_TARGET_DIR:-$ROOT/target/cross}

PY=${PYTHON:-python3}
PY_SCRIPTS=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
ZIGBUILD=$PY_SCRIPTS/cargo-zigbuild
[ -x "$ZIGBUILD" ] || ZIGBUILD=$(command -v cargo-zigbuild)
# zig binary shipped inside the ziglang wheel (PATH=/usr/bin first would otherwise
# make cargo-zigbuild run Debian's python3, which has no ziglang module)
ZIG_BIN=$("$PY" -c 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')

# short triple -> full triple ("mips" -> mips-unknown-linux-musl)
full_triple() {
    case "$1" in
        mips|mips-unknown-linux-musl) echo mips-unknown-linux-musl ;;
        mipsel|mipsel-unknown-linux-musl) echo mipsel-unknown-linux-musl ;;
        armv7|arm|armv7-unknown-linux-musleabihf) echo armv7-unknown-linux-musleabihf ;;
        aarch64|arm64|aarch64-unknown-linux-musl) echo aarch64-unknown-linux-musl ;;
        x86_64|amd64|x86_64-unknown-linux-musl) echo x86_64-unknown-linux-musl ;;
        *) echo "unknown target: $1 (one of: $ALL_TARGETS $HOST_TARGETS, or mips mipsel armv7 aarch64 x86_64)" >&2; return 1 ;;
    esac
}
qemu_for() {
    case "$1" in
        mips-*) echo qemu-mips-static ;;
        mipsel-*) echo qemu-mipsel-static ;;
        armv7-*) echo qemu-arm-static ;;
        aarch64-*) echo qemu-aarch64-static ;;
    esac
}
triple_env() { echo "$1" | tr 'a-z-' 'A-Z_'; }   # for CARGO_TARGET_<TRIPLE>_*

# Run Debian's cargo through cargo-zigbuild, niced (2 shared cores): `deb_zigbuild build|test ...`
deb_zigbuild() {
    nice -n "${CROSS_NICE:-10}" env PATH=/usr/bin:$PATH CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
        RUSTUP_TOOLCHAIN= CARGO_ZIGBUILD_ZIG_PATH="$ZIG_BIN" \
        RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$CROSS_TARGET_DIR" \
        "$ZIGBUILD" "$@"
}

# RUSTFLAGS per target (cargo applies CARGO_TARGET_<T>_RUSTFLAGS only to that target's
# crates, std included with -Zbuild-std, never to build scripts):
#  +crt-static            mips*-musl default to dynamic linking (OpenWrt style); we ship static
#  link-self-contained=no let zig supply crt1.o and libc (Debian's sysroot has no musl objects)
#  relocation-model=static (mips/mipsel only): zig 0.17 fails to link a static-pie MIPS binary
#                         with --strip-all (undefined heap.SmpAllocator.alloc in libzigc.a);
#                         a non-PIE static binary links, and MIPS non-PIC code is smaller.
#  -T mips-no-pdr.ld      (mips/mipsel only): drop the `.pdr` section, per-function debugger
#                         records that LLVM always writes on MIPS and lld keeps when stripping
#                         (about 240 KB of the default mipsel build; see cross/README.md).
target_rustflags() {
    local f="-C target-feature=+crt-static -C link-self-contained=no"
    case "$1" in mips*) f="$f -C relocation-model=static -C link-arg=-Wl,-T,$CROSS_DIR/mips-no-pdr.ld" ;; esac
    echo "$f ${CROSS_RUSTFLAGS:-}"
}
for _t in $ALL_TARGETS $HOST_TARGETS; do
    export "CARGO_TARGET_$(triple_env "$_t")_RUSTFLAGS=$(target_rustflags "$_t")"
done
unset _t
