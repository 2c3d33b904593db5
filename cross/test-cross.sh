#!/usr/bin/env bash
# cross/test-cross.sh [--proto] TARGET [TARGET...]   (mips mipsel armv7 aarch64 or full triples)
#  --proto: only (a)
#  (a) acs-proto unit tests (and cross/selftest's endianness check) built by Debian's cargo for
#      TARGET and run under qemu-<arch>-static (panic=abort tests: -Zpanic-abort-tests)
#  (b) smoke: `qemu-<arch>-static dist/<triple>/acs-edge --version`
#  (c) the daemon's black-box tests with the HOST toolchain (rustup's cargo):
#      ACS_EDGE_BIN=dist/<triple>/acs-edge ACS_EDGE_WRAPPER=qemu-<arch>-static cargo test --test it
#      (its black-box modules only, selected by module path: cli:: durability:: ...)
#  (d) when dist/<triple>/acs-edge-full exists: its --version lists ble and lora, and the BLE
#      replay and LoRa packet-forwarder suites pass against it
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
proto_only=; [ "${1:-}" = --proto ] && { proto_only=1; shift; }
[ $# -gt 0 ] || { echo "usage: cross/test-cross.sh [--proto] TARGET..." >&2; exit 2; }

for short in "$@"; do
    T=$(full_triple "$short"); Q=$(qemu_for "$T"); TE=$(triple_env "$T")
    command -v "$Q" >/dev/null || { echo "cross/test-cross.sh: $Q missing: run cross/setup.sh" >&2; exit 1; }
    case "$T" in mips-*) endian=big ;; *) endian=little ;; esac
    case "$T" in aarch64-*) width=64 ;; *) width=32 ;; esac
    echo "== $T: (a) unit tests under $Q (expect $endian-endian, $width-bit)"
    for manifest in cross/selftest/Cargo.toml Cargo.toml; do
        pkg=(); [ "$manifest" = Cargo.toml ] && pkg=(-p acs-proto --locked)
        env "CARGO_TARGET_${TE}_RUNNER=$Q" CROSS_EXPECT_ENDIAN=$endian CROSS_EXPECT_POINTER_WIDTH=$width \
            bash -c "source '$CROSS_DIR/env.sh'; deb_zigbuild test --manifest-path '$manifest' ${pkg[*]} \
                --lib --target '$T' -Zbuild-std=std,panic_abort -Zpanic-abort-tests"
    done
    [ -z "$proto_only" ] || continue

    echo "== $T: (b) smoke: $Q dist/$T/acs-edge --version"
    BIN=$ROOT/dist/$T/acs-edge
    [ -x "$BIN" ] || "$CROSS_DIR/build.sh" "$T"
    "$CROSS_DIR/build.sh" "$T" >/dev/null    # no-op when up to date
    out=$("$Q" "$BIN" --version) || { echo "FAILED: $Q $BIN --version exited $?" >&2; exit 1; }
    echo "$out"
    case "$out" in "acs-edge "*) ;; *) echo "FAILED: unexpected --version output" >&2; exit 1 ;; esac

    echo "== $T: (c) black-box tests, host toolchain, daemon under $Q"
    # rustup's cargo (not Debian's): clear everything env.sh set for the cross builds
    unset_args=(-u RUSTC -u RUSTDOC -u RUSTC_BOOTSTRAP -u CARGO -u CARGO_TARGET_DIR)
    for v in $(env | grep -o '^CARGO_TARGET_[A-Z0-9_]*_RUSTFLAGS'); do unset_args+=(-u "$v"); done
    hostenv=(env "${unset_args[@]}" ACS_EDGE_BIN="$BIN" ACS_EDGE_WRAPPER="$Q" ACS_EDGE_EXPECT_TARGET="$T")
    "${hostenv[@]}" CARGO_TARGET_DIR="$ROOT/target/cross-selftest-host" nice -n 10 \
        cargo test --manifest-path cross/selftest/Cargo.toml --test plumbing -q
    # Only the black-box suites (modules of the one test binary): they start the binary under
    # test; the rest test the host build.
    "${hostenv[@]}" nice -n 10 cargo test --locked --test it -- cli:: durability:: ingest_rest:: openapi:: auth::

    # The radio variant, when it was built (make cross VARIANT=full): its inputs end to end.
    FULL=$ROOT/dist/$T/acs-edge-full
    [ -x "$FULL" ] || continue
    VARIANT=full "$CROSS_DIR/build.sh" "$T" >/dev/null    # no-op when up to date
    echo "== $T: (d) acs-edge-full under $Q: BLE replay and LoRa packet forwarder"
    out=$("$Q" "$FULL" --version) || { echo "FAILED: $Q $FULL --version exited $?" >&2; exit 1; }
    echo "$out"
    features=" ${out##*features: }"; features=${features%)}" "
    case "$features" in *" ble "*" lora "*) ;; *) echo "FAILED: $FULL lacks ble and lora" >&2; exit 1 ;; esac
    env "${unset_args[@]}" ACS_EDGE_BIN="$FULL" ACS_EDGE_WRAPPER="$Q" ACS_EDGE_EXPECT_TARGET="$T" \
        nice -n 10 cargo test --locked --features full --test it -- ble_replay:: lora_gwmp::
done
