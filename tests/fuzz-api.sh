#!/usr/bin/env bash
# tests/fuzz-api.sh: schemathesis (from PyPI) fuzzes the real daemon against docs/openapi.yaml.
#
# Starts a mosquitto and the daemon on free loopback ports with a user made by
# `acs-edge passwd`, publishes a few readings, logs in, and runs every schemathesis check
# (no 5xx, status codes, headers and bodies as the spec documents them, negative data refused,
# missing auth refused) with a bounded number of examples per operation. Exits non-zero on
# any finding. Everything it starts is stopped on exit.
#
# Knobs (env): ACS_FUZZ_EXAMPLES (per operation, default 60), ACS_FUZZ_SEED,
# ACS_EDGE_BIN (binary under test; default: cargo build's), ACS_FUZZ_VENV (default
# target/fuzz-api/venv, created when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCHEMATHESIS_VERSION=4.32.5
VENV=${ACS_FUZZ_VENV:-$ROOT/target/fuzz-api/venv}
EXAMPLES=${ACS_FUZZ_EXAMPLES:-60}

if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "fuzz-api: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -z "${ACS_EDGE_BIN:-}" ]; then
    cargo build -q --bin acs-edge
    ACS_EDGE_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/acs-edge
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$MOSQUITTO" ] || { echo "fuzz-api: mosquitto is not installed" >&2; exit 1; }

WORK=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BROKER_PORT=$(free_port)
API_PORT=$(free_port)

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$BROKER_PORT" >"$WORK/mosquitto.conf"
"$MOSQUITTO" -c "$WORK/mosquitto.conf" >/dev/null 2>&1 &
pids+=($!)

cat >"$WORK/acs-edge" <<CONF
config main 'main'
	option gateway_id 'fuzz-gw'

config store 'store'
	option path '$WORK/data/store.db'
	option commit_interval_ms '50'

config mqtt 'mqtt'
	option host '127.0.0.1'
	option port '$BROKER_PORT'
	option reconnect_max_s '1'

config api 'api'
	option listen '127.0.0.1:$API_PORT'
	option max_connections '64'
CONF
PASSWORD="fuzz-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
echo "$PASSWORD" | ${ACS_EDGE_WRAPPER:-} "$ACS_EDGE_BIN" passwd fuzzer --config "$WORK/acs-edge" 2>/dev/null
${ACS_EDGE_WRAPPER:-} "$ACS_EDGE_BIN" --config "$WORK/acs-edge" 2>"$WORK/daemon.log" &
pids+=($!)

for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$API_PORT/api/v1/health" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "http://127.0.0.1:$API_PORT/api/v1/health" >/dev/null || {
    echo "fuzz-api: the daemon did not start; log:" >&2; cat "$WORK/daemon.log" >&2; exit 1; }

# Some data, so that lists, devices and telemetry pages are not all empty.
for dev in dev-a dev-b sensor.1; do
    mosquitto_pub -p "$BROKER_PORT" -q 1 -t "acs/$dev/telemetry" \
        -m '[{"ts": 1767225600000, "temperature": 21.5, "humidity": 40}, {"ts": 1767225660000, "temperature": 21.75}]'
done
mosquitto_pub -p "$BROKER_PORT" -q 1 -t acs/dev-a/status -m online

TOKEN=$(curl -fs -X POST "http://127.0.0.1:$API_PORT/api/v1/auth/login" \
    -H 'Content-Type: application/json' \
    -d "{\"username\": \"fuzzer\", \"password\": \"$PASSWORD\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

seed=()
[ -z "${ACS_FUZZ_SEED:-}" ] || seed=(--seed "$ACS_FUZZ_SEED")
echo "fuzz-api: schemathesis $SCHEMATHESIS_VERSION, $EXAMPLES examples per operation, daemon on port $API_PORT"
status=0
# tests/schemathesis.toml: telemetry's interdependent parameters (see there).
# /api/v1/ws answers every plain HTTP request with 400 by design (it speaks WebSocket only);
# its upgrade and messages are held to the spec by tests/it/openapi.rs and tests/it/websocket.rs.
"$VENV/bin/st" --config-file tests/schemathesis.toml run docs/openapi.yaml \
    --url "http://127.0.0.1:$API_PORT" \
    --exclude-path /api/v1/ws \
    --header "Authorization: Bearer $TOKEN" \
    --checks all \
    --max-examples "$EXAMPLES" \
    --workers 2 \
    --request-timeout 20 \
    --no-color \
    --report json --report-json-path "$WORK/report.json" \
    "${seed[@]}" || status=$?
# A run whose only problems are schemathesis-internal errors of one known kind (hypothesis
# parsing its own lambdas trips a CPython 3.11 ast bug, "AST constructor recursion depth
# mismatch") is not a finding about the daemon: say so and pass. Any check failure, or any
# other error, fails.
if [ "$status" != 0 ] && [ -s "$WORK/report.json" ]; then
    python3 - "$WORK/report.json" <<'PY' && status=0
import json, sys
report = json.load(open(sys.argv[1]))
known = "AST constructor recursion depth mismatch"
others = [e for e in report["errors"] if known not in json.dumps(e)]
if report["failures"] or others or not report["errors"]:
    sys.exit(1)
print(f"fuzz-api: {len(report['errors'])} schemathesis-internal error(s) ignored: {known} "
      "(CPython 3.11 ast bug hit by hypothesis); no check failed")
PY
fi
if grep -q "panicked" "$WORK/daemon.log"; then
    echo "fuzz-api: the daemon panicked:" >&2; grep -A5 panicked "$WORK/daemon.log" >&2; status=1
fi
kill -0 "${pids[1]}" 2>/dev/null || { echo "fuzz-api: the daemon died" >&2; status=1; }
if [ "$status" = 0 ]; then echo "fuzz-api: 1 passed, 0 failed"; else echo "fuzz-api: 0 passed, 1 failed"; fi
exit "$status"
