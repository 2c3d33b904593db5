#!/usr/bin/env bash
# cross/size.sh            size table of the built targets (builds what is missing/stale via
#                          cross/build.sh) and the cost of each optional Cargo feature
# cross/size.sh --tuning   release-profile tuning matrix on mipsel (slow: one full build,
#                          std included, per row; own target dir target/cross-size)
# Env: SIZE_TARGETS (default: all four), FEATURE_TARGET (default mipsel-unknown-linux-musl).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

# Optional Cargo features to cost, one build each (on FEATURE_TARGET) with only that feature
# added to the default ones (`full` is every part but ml, the acs-edge-full package).
FEATURES=${FEATURES:-"ble lora full"}
# Default features to cost, one build each without that feature (and one without them all).
DEFAULT_PARTS=${DEFAULT_PARTS-"sources influxdb hass"}
FEATURE_TARGET=$(full_triple "${FEATURE_TARGET:-mipsel}")

mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }

if [ "${1:-}" != "--tuning" ]; then
    read -r -a targets <<<"${SIZE_TARGETS:-$ALL_TARGETS}"
    "$CROSS_DIR/build.sh" "${targets[@]}" >/dev/null
    printf '| %-32s | %10s | %6s |\n' target "bytes" MB
    printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..34})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..8})"
    for t in "${targets[@]}"; do
        t=$(full_triple "$t"); b=$(stat -c %s "$CROSS_TARGET_DIR/$t/release/acs-edge")
        printf '| %-32s | %10s | %6s |\n' "$t" "$b" "$(mb "$b")"
    done
    if [ -n "$FEATURES" ]; then
        base=$(stat -c %s "$CROSS_TARGET_DIR/$FEATURE_TARGET/release/acs-edge")
        echo; echo "feature cost on $FEATURE_TARGET (baseline: default features, $base bytes)"
        printf '| %-10s | %10s | %10s |\n' feature bytes delta
        # Same target dir: std and the shared dependencies are built once; only the daemon and
        # the feature's own crates are rebuilt and linked.
        for f in $FEATURES; do
            CROSS_NO_DIST=1 CROSS_CARGO_ARGS="--features $f" "$CROSS_DIR/build.sh" "$FEATURE_TARGET" >/dev/null
            b=$(stat -c %s "$CROSS_TARGET_DIR/$FEATURE_TARGET/release/acs-edge")
            printf '| %-10s | %10s | %+10d |\n' "$f" "$b" $((b - base))
        done
    fi
    if [ -n "$DEFAULT_PARTS" ]; then
        echo; echo "default features on $FEATURE_TARGET: the bytes each adds (the default build without it)"
        printf '| %-10s | %10s | %10s |\n' feature "bytes w/o" cost
        for f in $DEFAULT_PARTS "(all)"; do
            rest=$(for g in $DEFAULT_PARTS; do [ "$g" = "$f" ] || [ "$f" = "(all)" ] || printf '%s,' "$g"; done)
            CROSS_NO_DIST=1 CROSS_CARGO_ARGS="--no-default-features --features=${rest%,}" \
                "$CROSS_DIR/build.sh" "$FEATURE_TARGET" >/dev/null
            b=$(stat -c %s "$CROSS_TARGET_DIR/$FEATURE_TARGET/release/acs-edge")
            printf '| %-10s | %10s | %+10d |\n' "$f" "$b" $((base - b))
        done
    fi
    exit 0
fi

# ---- tuning matrix -----------------------------------------------------------------------
T=mipsel-unknown-linux-musl
D=$ROOT/target/cross-size
# name | env assignments (CARGO_PROFILE_RELEASE_*, CROSS_*) ; baseline = root Cargo.toml
# (opt-level z, lto fat, codegen-units 1, strip) + cross/build.sh's panic immediate-abort
VARIANTS=(
  "baseline (z, fat LTO, cgu 1, immediate-abort, std optimize_for_size)|"
  "panic abort (panic messages kept)|CROSS_PANIC=abort"
  "lto thin|CARGO_PROFILE_RELEASE_LTO=thin"
  "lto off|CARGO_PROFILE_RELEASE_LTO=off"
  "codegen-units 16|CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16"
  "panic unwind|CROSS_PANIC=abort CARGO_PROFILE_RELEASE_PANIC=unwind CROSS_BUILD_STD=std,panic_unwind"
  "opt-level s|CARGO_PROFILE_RELEASE_OPT_LEVEL=s"
  "std without optimize_for_size|CROSS_STD_FEATURES="
)
# SKIP=N skips the first N rows (e.g. SKIP=1: baseline already known from cross/build.sh mipsel)
VARIANTS=("${VARIANTS[@]:${SKIP:-0}}")
[ -n "${ONLY:-}" ] && VARIANTS=("${VARIANTS[@]:0:$ONLY}")
printf '| %-40s | %10s | %6s | %8s | %s\n' "mipsel variant" bytes MB "build s" result
echo "|---|---:|---:|---:|---|"
for v in "${VARIANTS[@]}"; do
    name=${v%%|*}; assigns=${v#*|}
    s0=$(date +%s)
    log=$D/log-$(echo "$name" | tr -c 'a-zA-Z0-9\n' _).txt; mkdir -p "$D"
    if eval "env CROSS_NO_DIST=1 CROSS_TARGET_DIR=$D $assigns \"\$CROSS_DIR/build.sh\" $T" >"$log" 2>&1; then
        b=$(stat -c %s "$D/$T/release/acs-edge")
        ok=ok; qemu-mipsel-static "$D/$T/release/acs-edge" --version >/dev/null 2>&1 || ok="builds, does not run"
        printf '| %-40s | %10s | %6s | %8s | %s\n' "$name" "$b" "$(mb "$b")" $(( $(date +%s) - s0 )) "$ok"
    else
        printf '| %-40s | %10s | %6s | %8s | %s\n' "$name" - - $(( $(date +%s) - s0 )) "FAILED: $(grep -m1 -E '^error' "$log" | cut -c1-100)"
    fi
done
