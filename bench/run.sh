#!/usr/bin/env bash
# `make bench` (`make bench QUICK=1` or `bench/run.sh --quick` for the short run): installs the
# peers when missing (bench/peers.sh, beside the release build: an install mostly waits on the
# registry and on one C compile), builds the release daemon and runs the benchmark harness
# (examples/bench/). Prints one table; the full run writes bench/results.json, a quick or
# partial run (ACS_BENCH_ONLY=store,daemon,mixed,flash,upstream,router,peers) bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
bench/peers.sh &
peers=$!
cargo build --release --bin acs-edge --example bench
wait "$peers" || true
cargo run --release --example bench -- "$@"
