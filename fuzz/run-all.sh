#!/bin/sh
# Runs every fuzz target of the repository for SECONDS each (default 20): the daemon's parsers
# in fuzz/ and the acs-proto frame parser, BLE advertisement decoders and chunk codec in proto/fuzz/. Exits
# non-zero if any target fails (a crash or a broken property); the failing input is left in
# <crate>/artifacts/<target>/.
#
#   fuzz/run-all.sh 20          # from anywhere; CARGO_TARGET_DIR is honoured
#   SANITIZER=none fuzz/run-all.sh 20   # skip AddressSanitizer: much faster cold build
#                                       # (the C SQLite of rusqlite is built without ASan)
#
# New inputs go to a scratch corpus, never into the committed seeds fuzz/corpus/<target>/.
set -eu

SECONDS_EACH=${1:-20}
SANITIZER=${SANITIZER:-address}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${FUZZ_SCRATCH:-$(mktemp -d "${TMPDIR:-/tmp}/acs-fuzz.XXXXXX")}

export PATH="$HOME/.cargo/bin:$PATH"
# cargo-fuzz passes -Z flags; this lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version 2>/dev/null | grep -q '0\.13\.2'; then
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

failed=""
run() { # <crate dir> <target>
    mkdir -p "$SCRATCH/$2"
    echo "== $2 ($1) for ${SECONDS_EACH}s"
    if ! (cd "$ROOT/$1" && cargo fuzz run --sanitizer "$SANITIZER" "$2" "$SCRATCH/$2" \
        "corpus/$2" -- -max_total_time="$SECONDS_EACH" -max_len=4096 -print_final_stats=1 \
        >"$SCRATCH/$2.log" 2>&1); then
        failed="$failed $2"
        tail -n 40 "$SCRATCH/$2.log"
    fi
    grep -E '^(Done [0-9]+ runs|#[0-9]+ +DONE)' "$SCRATCH/$2.log" || true
}

# Build everything first, so a compile error is not mistaken for a crash.
(cd "$ROOT/fuzz" && cargo fuzz build --sanitizer "$SANITIZER")
(cd "$ROOT/proto/fuzz" && cargo fuzz build --sanitizer "$SANITIZER")

for target in telemetry uci_config mqtt_topic_status rfc3339 frame_decode http_query http_head \
    ws_message gwmp; do
    run fuzz "$target"
done
run proto/fuzz parse_frame
run proto/fuzz parse_lorawan
run proto/fuzz decode_lpp
for target in ble_bthome ble_pvvx ble_atc1441 ble_ruuvi ble_acs_frame chunk_decode \
    chunk_roundtrip; do
    run proto/fuzz "$target"
done

echo "logs and new corpus entries: $SCRATCH"
if [ -n "$failed" ]; then
    echo "FAILED:$failed" >&2
    exit 1
fi
echo "all targets ran ${SECONDS_EACH}s without a failure"
