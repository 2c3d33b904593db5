#!/usr/bin/env bash
# cross/build.sh [TARGET...]: static, stripped release builds of acs-edge.
# TARGET: full triple or short name (mips mipsel armv7 aarch64); default: all four.
# Output: target/cross/<triple>/release/acs-edge (CARGO_TARGET_DIR=target/cross, kept apart
# from rustup's target/), copied to dist/<triple>/acs-edge.
# VARIANT=full builds the package variant with every radio (`--features full`) and copies it to
# dist/<triple>/acs-edge-full; both variants share the target dir, so std and the common
# dependencies are built once.
# VARIANT=ml builds local inference with tract (`--features ml`) into dist/<triple>/acs-edge-ml,
# in the same target dir.
# Knobs (env): CROSS_CARGO_ARGS="--features ble" extra cargo args; CROSS_RUSTFLAGS extra rustc
# flags; CROSS_PANIC (default immediate-abort: a panic traps at once, without formatting a
# message and without unwind tables, which keeps the default mipsel build inside its 3 MiB
# budget; `abort` prints the panic message to syslog first, at about 190 KB more, and keeps the
# unwind tables; see cross/README.md "Binary size budget");
# CROSS_BUILD_STD (default std, plus panic_abort with CROSS_PANIC=abort); CROSS_STD_FEATURES (default optimize_for_size:
# std's size-over-speed code paths, and no backtrace support, which a stripped panic=abort
# binary cannot use anyway; set it empty for std's defaults); CROSS_TARGET_DIR;
# CROSS_NO_DIST=1 skips dist/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

targets=()
for t in "${@:-$ALL_TARGETS}"; do for u in $t; do targets+=("$(full_triple "$u")"); done; done

case "${VARIANT:-default}" in
    default) variant_args=() dist_name=acs-edge ;;
    full) variant_args=(--features full) dist_name=acs-edge-full ;;
    ml) variant_args=(--features ml) dist_name=acs-edge-ml ;;
    *) echo "cross/build.sh: unknown VARIANT=$VARIANT (default, full or ml)" >&2; exit 2 ;;
esac

case "${CROSS_PANIC:-immediate-abort}" in
    immediate-abort)
        export CARGO_PROFILE_RELEASE_PANIC=immediate-abort
        panic_args=(-Zpanic-immediate-abort) build_std=std no_unwind_tables=1 ;;
    abort) panic_args=() build_std=std,panic_abort no_unwind_tables= ;;
    *) echo "cross/build.sh: unknown CROSS_PANIC=$CROSS_PANIC (immediate-abort or abort)" >&2; exit 2 ;;
esac

# With immediate-abort nothing unwinds and nothing prints a backtrace, so the unwind tables
# (.eh_frame, .eh_frame_hdr: about 210 KB of the default mipsel build) are dead weight: rustc
# (std included) and the C compiler (SQLite, ring, through cc-rs) leave them out. With
# CROSS_PANIC=abort (the variant for chasing a panic) they stay.
if [ -n "$no_unwind_tables" ]; then
    for t in "${targets[@]}"; do
        rf=CARGO_TARGET_$(triple_env "$t")_RUSTFLAGS cf=CFLAGS_$(echo "$t" | tr - _)
        export "$rf=${!rf} -C force-unwind-tables=no"
        export "$cf=${!cf:-} -fno-unwind-tables -fno-asynchronous-unwind-tables"
    done
fi

# one cargo invocation for all targets: cargo pipelines them on both cores
targs=()
for t in "${targets[@]}"; do targs+=(--target "$t"); done
start=$(date +%s)
# shellcheck disable=SC2086
deb_zigbuild build --release --locked -p acs-edge --bin acs-edge "${targs[@]}" "${variant_args[@]}" \
    "${panic_args[@]}" -Zbuild-std="${CROSS_BUILD_STD:-$build_std}" \
    -Zbuild-std-features="${CROSS_STD_FEATURES-optimize_for_size}" ${CROSS_CARGO_ARGS:-}
echo "cross/build.sh: cargo took $(( $(date +%s) - start )) s for ${targets[*]} (${VARIANT:-default})"

fail=0
printf '%-34s %10s  %s\n' target bytes linkage
for t in "${targets[@]}"; do
    bin=$CROSS_TARGET_DIR/$t/release/acs-edge
    if [ -z "${CROSS_NO_DIST:-}" ]; then mkdir -p "dist/$t"; cp -f "$bin" "dist/$t/$dist_name"; fi
    desc=$(file -b "$bin")
    case "$desc" in
        *"statically linked"*|*"static-pie linked"*) link=static ;;
        *) link="NOT STATIC: $desc"; fail=1 ;;
    esac
    case "$desc" in *"not stripped"*) link="$link, NOT STRIPPED"; fail=1 ;; esac
    printf '%-34s %10s  %s\n' "$t" "$(stat -c %s "$bin")" "$link"
done
[ $fail = 0 ] || { echo "cross/build.sh: error: a binary is not static and stripped" >&2; exit 1; }
