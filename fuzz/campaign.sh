#!/bin/sh
# The fuzz campaign: every target of fuzz/ and proto/fuzz/ until RUNS executions (default 10
# million) or MINUTES minutes (default 30), whichever comes first, JOBS targets at a time
# (default 2). Prints one line per target: executions, seconds, executions/s, corpus size and
# the result; exits non-zero if any target found a crash or broke a property (the input is left
# in <crate>/artifacts/<target>/). Longer than `make fuzz`; not part of `make test`.
#
#   fuzz/campaign.sh                      # SANITIZER=address by default, as run-all.sh
#   SANITIZER=none RUNS=10000000 MINUTES=30 JOBS=2 fuzz/campaign.sh
set -eu

RUNS=${RUNS:-10000000}
MINUTES=${MINUTES:-30}
JOBS=${JOBS:-2}
SANITIZER=${SANITIZER:-address}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${FUZZ_SCRATCH:-$(mktemp -d "${TMPDIR:-/tmp}/acs-campaign.XXXXXX")}
export PATH="$HOME/.cargo/bin:$PATH" RUSTC_BOOTSTRAP=1

if [ "${1:-}" != --one ]; then
    if ! cargo fuzz --version 2>/dev/null | grep -q '0\.13\.2'; then
        cargo install cargo-fuzz --version 0.13.2 --locked
    fi
    (cd "$ROOT/fuzz" && cargo fuzz build --sanitizer "$SANITIZER")
    (cd "$ROOT/proto/fuzz" && cargo fuzz build --sanitizer "$SANITIZER")
fi

targets="fuzz:telemetry fuzz:uci_config fuzz:mqtt_topic_status fuzz:rfc3339 fuzz:frame_decode
fuzz:http_query fuzz:http_head fuzz:ws_message fuzz:gwmp proto/fuzz:parse_frame
proto/fuzz:parse_lorawan proto/fuzz:decode_lpp proto/fuzz:ble_bthome proto/fuzz:ble_pvvx
proto/fuzz:ble_atc1441 proto/fuzz:ble_ruuvi proto/fuzz:ble_acs_frame proto/fuzz:chunk_decode
proto/fuzz:chunk_roundtrip"

one() { # <crate dir>:<target>
    crate=${1%%:*}; target=${1#*:}
    mkdir -p "$SCRATCH/$target"
    start=$(date +%s)
    if (cd "$ROOT/$crate" && cargo fuzz run --sanitizer "$SANITIZER" "$target" \
        "$SCRATCH/$target" "corpus/$target" -- -runs="$RUNS" \
        -max_total_time=$((MINUTES * 60)) -max_len=4096 -print_final_stats=1 \
        >"$SCRATCH/$target.log" 2>&1); then result=ok; else result=FAILED; fi
    secs=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$SCRATCH/$target.log" | tail -1)
    corpus=$(ls "$SCRATCH/$target" | wc -l)
    printf '%-16s %12s execs %6s s %9s/s corpus %6s %s\n' "$target" "${execs:-?}" "$secs" \
        "$(( ${execs:-0} / (secs > 0 ? secs : 1) ))" "$corpus" "$result"
    [ "$result" = ok ]
}

if [ "${1:-}" = --one ]; then
    one "$2"
    exit
fi
export RUNS MINUTES SANITIZER SCRATCH
status=0
printf '%s\n' $targets | xargs -P "$JOBS" -n 1 "$0" --one || status=1
echo "logs and new corpus entries: $SCRATCH"
exit $status
