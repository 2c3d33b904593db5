#!/usr/bin/env bash
# `make bench`: builds the release daemon and runs the benchmark harness (examples/bench.rs).
# Needs mosquitto (apt-get install mosquitto). Figures go to stdout and bench/results.json.
# ACS_BENCH_ONLY=store or ACS_BENCH_ONLY=rules runs one part only (no results file).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null
}
export PATH="$PATH:/usr/sbin"
cargo build --release --bin acs-edge
cargo run --release --example bench
cargo run --release --example bench_upstream
