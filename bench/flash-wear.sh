#!/usr/bin/env bash
# bench/flash-wear.sh: bytes the daemon writes per stored reading, for several
# store.commit_interval_ms values. Prints figures only (docs/OPERATIONS.md turns them into
# years of flash life); never part of `make test`.
#
# For each interval: a fresh store on this machine's disk, a real mosquitto on a free loopback
# port, the release daemon, and a paced publisher (mosquitto_pub -l) sending RATE readings/s
# (10 metrics per message, QoS 0 so the daemon sends nothing back) for RUN_SECONDS, after a
# fast prefill that fills the ring. Measured over
# the steady part of the run, from /proc/<pid>/io and GET /api/v1/health:
#   wchar        bytes passed to write()/pwrite() (SQLite's WAL frames, checkpoints, fsync'd),
#                independent of the host file system: what a flash file system receives
#   write_bytes  bytes the kernel sent to the block layer for the daemon (ext4 here)
# divided by the readings committed in the same window.
#
# The ring is measured full (every insert also evicts), as on a router after its first hours:
# max_rows is small so that it fills during the warm-up, while max_mb keeps the package default
# (8), which sizes the WAL and so the checkpoints as on a router.
#
# Usage: bench/flash-wear.sh [INTERVAL_MS...]      (default: 100 250 1000 5000 10000)
# Env: ACS_EDGE_BIN (default target/release/acs-edge), RATE (1000), RUN_SECONDS (25),
#      MAX_ROWS (20000), MAX_MB (8), FLUSH_S (store.flush_interval_s, default 0: every commit
#      to the file; with a RAM head, make RUN_SECONDS a multiple of it), WORK (a directory on disk; not tmpfs, whose writes the block
#      layer never sees)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"

BIN=${ACS_EDGE_BIN:-target/release/acs-edge}
RATE=${RATE:-1000}
SECONDS_PER_RUN=${RUN_SECONDS:-25}
MAX_MB=${MAX_MB:-8}
MAX_ROWS=${MAX_ROWS:-20000}
FLUSH_S=${FLUSH_S:-0}
INTERVALS=("${@:-100 250 1000 5000 10000}")
read -r -a INTERVALS <<<"${INTERVALS[*]}"
[ -x "$BIN" ] || { echo "flash-wear: $BIN missing (cargo build --release)" >&2; exit 1; }
command -v mosquitto >/dev/null && command -v mosquitto_pub >/dev/null || {
    echo "flash-wear: needs mosquitto and mosquitto_pub (apt-get install mosquitto mosquitto-clients)" >&2
    exit 1
}

WORK=${WORK:-$(mktemp -d "${TMPDIR:-/var/tmp}/flash-wear.XXXXXX")}
mkdir -p "$WORK"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
io_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/io"; }
health() { curl -fsS "http://127.0.0.1:$API/api/v1/health" 2>/dev/null || python3 -c "
import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$API/api/v1/health', timeout=2).read().decode())"; }
# "<committed readings> <committed batches>" from a health body on stdin
ingest_counts() { python3 -c 'import json,sys; i=json.load(sys.stdin)["ingest"]; print(i["committed"], i["batches"])'; }

# Emits JSON lines of 10 readings each: first MAX_ROWS readings at about 2000/s (fills the
# ring fast), then RATE readings/s, paced, for $1 seconds in all.
publisher() {
    python3 - "$1" "$RATE" "$MAX_ROWS" 2>/dev/null <<'EOF'
import sys, time
seconds, rate, prefill = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
out = sys.stdout
n = 0
def message():
    global n
    n += 1
    out.write('{' + ','.join('"m%d":%d.%d' % (k, (n + k) % 400, k) for k in range(10)) + '}\n')
start = time.monotonic()
for i in range(prefill // 10 + 10):
    message()
    if i % 20 == 19:
        out.flush()
        time.sleep(0.1)
out.flush()
paced = time.monotonic()
interval = 10.0 / rate  # seconds per 10-reading message
k = 0
while time.monotonic() - start < seconds:
    message()
    out.flush()
    k += 1
    delay = paced + k * interval - time.monotonic()
    if delay > 0:
        time.sleep(delay)
EOF
}

printf 'flash-wear: %s, %d readings/s for %d s per interval, full ring of %d rows, max_mb %d, flush_interval_s %d, store on %s (%s)\n' \
    "$("$BIN" --version)" "$RATE" "$SECONDS_PER_RUN" "$MAX_ROWS" "$MAX_MB" "$FLUSH_S" "$WORK" "$(df -T "$WORK" | awk 'NR==2 {print $2}')"
printf '%-12s %10s %12s %14s %14s %12s %12s\n' interval_ms readings commits wchar_B/rd write_bytes_B/rd db_B/row wal_B
for interval in "${INTERVALS[@]}"; do
    run="$WORK/run-$interval"
    mkdir -p "$run"
    BROKER=$(free_port)
    API=$(free_port)
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n' "$BROKER" >"$run/mosquitto.conf"
    mosquitto -c "$run/mosquitto.conf" 2>/dev/null &
    broker_pid=$!
    pids+=("$broker_pid")
    cat >"$run/acs-edge" <<EOF
config main 'main'
	option log_level 'warn'
config store 'store'
	option path '$run/store.db'
	option max_mb '$MAX_MB'
	option max_rows '$MAX_ROWS'
	option commit_interval_ms '$interval'
	option flush_interval_s '$FLUSH_S'
config mqtt 'mqtt'
	option port '$BROKER'
	option client_id 'flash-wear'
	option clean_session '1'
config api 'api'
	option listen '127.0.0.1:$API'
EOF
    "$BIN" --config "$run/acs-edge" 2>"$run/daemon.log" &
    daemon_pid=$!
    pids+=("$daemon_pid")
    for _ in $(seq 100); do
        health 2>/dev/null | grep -q '"subscribed":true' && break
        sleep 0.1
    done
    publisher "$((SECONDS_PER_RUN + MAX_ROWS / 2000 + 30))" | mosquitto_pub -p "$BROKER" -t acs/sensor-1/telemetry -q 0 -l &
    pub_pid=$!
    pids+=("$pub_pid")
    # warm-up: until the ring is full and evicting, then 2 s more
    for _ in $(seq 600); do
        health | grep -q '"evicted_total":0,' || break
        sleep 0.2
    done
    sleep 2
    read -r c0 k0 < <(health | ingest_counts); w0=$(io_field "$daemon_pid" wchar); b0=$(io_field "$daemon_pid" write_bytes)
    sleep "$SECONDS_PER_RUN"
    w1=$(io_field "$daemon_pid" wchar); b1=$(io_field "$daemon_pid" write_bytes)
    h=$(health)
    read -r c1 k1 < <(echo "$h" | ingest_counts)
    commits=$((k1 - k0))
    per_row=$(echo "$h" | python3 -c 'import json,sys; s=json.load(sys.stdin)["store"]; print(s["used_bytes"]//max(1,s["rows"]))')
    wal=$(echo "$h" | python3 -c 'import json,sys; print(json.load(sys.stdin)["store"]["wal_bytes"])')
    n=$((c1 - c0))
    awk -v i="$interval" -v n="$n" -v c="$commits" -v w=$((w1 - w0)) -v b=$((b1 - b0)) -v r="$per_row" -v wal="$wal" \
        'BEGIN { printf "%-12s %10d %12d %14.1f %14.1f %12d %12d\n", i, n, c, (n ? w / n : 0), (n ? b / n : 0), r, wal }'
    kill "$pub_pid" "$daemon_pid" "$broker_pid" 2>/dev/null || true
    wait "$daemon_pid" "$broker_pid" 2>/dev/null || true
done
