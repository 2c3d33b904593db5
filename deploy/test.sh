#!/usr/bin/env bash
# deploy/test.sh [--container]: checks of deploy/ (make test-deploy, part of make test;
# --container: only the image's, which then must run: make test-container).
#   systemd  `systemd-analyze verify` of the unit (ExecStart pointed at the built binary; works
#            without systemd as PID 1), a proof that verify fails on a broken copy, the
#            hardening lines docs/SELFHOST.md explains, and its `systemd-analyze security`
#            figure (printed, not asserted)
#   configs  the starter configs through the binary's own check-config; the compose one may
#            only warn about its `config influxdb` section in a build without that section
#   stack    compose.yaml, Grafana's provisioning and dashboard (deploy/check_stack.py);
#            `docker-compose config` when installed; the stack's mosquitto.conf in a real
#            mosquitto; the dashboard's InfluxQL against a real influxd 1.x holding readings
#            in acs-edge's line protocol
#   image    (when a static x86_64 binary exists, or only this with --container) the image built
#            FROM scratch with podman, `--version` in it, then the daemon in it with a
#            mounted config and store: /health from the host, the image's HEALTHCHECK command,
#            a clean stop on SIGTERM
# The binary: $ACS_EDGE_BIN, else target/debug/acs-edge (CARGO_TARGET_DIR). The image's
# binary: $ACS_EDGE_STATIC_BIN, else dist/x86_64-unknown-linux-musl/acs-edge (make cross
# TARGET=x86_64).
# Closing line: "test-deploy: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPLOY=$ROOT/deploy
cd "$ROOT" || exit 1
want_container=0
[ "${1:-}" = --container ] && want_container=1

BIN=${ACS_EDGE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/acs-edge}
STATIC_BIN=${ACS_EDGE_STATIC_BIN:-$ROOT/dist/x86_64-unknown-linux-musl/acs-edge}
[ -x "$BIN" ] || { echo "test-deploy: no binary at $BIN (cargo build --all-features)" >&2; exit 1; }

# shellcheck source=dev/checks.sh
source "$ROOT/dev/checks.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    [ -n "${container:-}" ] && podman rm -f "$container" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

# A broker on a free port with the stack's mosquitto.conf: $port, or an error.
start_broker() {
    local mosquitto
    mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    if [ ! -x "$mosquitto" ] || ! command -v mosquitto_pub >/dev/null; then
        echo "mosquitto is missing (apt-get install mosquitto mosquitto-clients)"
        return 1
    fi
    port=$(free_port)
    mkdir -p "$tmp/mosquitto"
    sed "s#^listener 1883#listener $port 127.0.0.1#; s#^persistence_location .*#persistence_location $tmp/mosquitto/#" \
        "$DEPLOY/compose/mosquitto/mosquitto.conf" >"$tmp/mosquitto.conf"
    "$mosquitto" -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
    pids+=($!)
    wait_for 10 mosquitto_pub -h 127.0.0.1 -p "$port" -t acs/probe/telemetry -m '{"temperature": 1}' ||
        { cat "$tmp/mosquitto.log"; return 1; }
}

broker_check() { # in this shell, not run's subshell: $port and the pid must stay
    if start_broker >"$tmp/broker.out" 2>&1; then ok "$1"; return 0; fi
    bad "$1"; sed 's/^/     /' "$tmp/broker.out"; return 1
}

if [ $want_container = 0 ]; then
# --- systemd ---------------------------------------------------------------------------------
unit=$DEPLOY/systemd/acs-edge.service
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$tmp/unit" "$tmp/broken"
    sed "s#^ExecStart=/usr/local/bin/acs-edge #ExecStart=$BIN #" "$unit" >"$tmp/unit/acs-edge.service"
    verify() { # verify UNIT: exit 0 and not a line of output (a warning is a failure too)
        local out
        out=$(cd "$(dirname "$1")" && systemd-analyze verify "./$(basename "$1")" 2>&1) || { echo "$out"; return 1; }
        [ -z "$out" ] || { echo "$out"; return 1; }
    }
    run "systemd: systemd-analyze verify acs-edge.service" verify "$tmp/unit/acs-edge.service"
    sed 's#^ExecStart=[^ ]*#ExecStart=/nonexistent/acs-edge#; s#^ProtectSystem=strict#ProtectSystem=stricter#' \
        "$unit" >"$tmp/broken/acs-edge.service"
    run "systemd: verify refuses a copy with a missing binary and a bad value" \
        bash -c '! (cd "$1" && systemd-analyze verify ./acs-edge.service) >/dev/null 2>&1' _ "$tmp/broken"
    security=$(cd "$tmp/unit" && systemd-analyze security --offline=yes ./acs-edge.service 2>&1 | tail -1)
    echo "     systemd-analyze security: ${security#→ }"
else
    bad "systemd: systemd-analyze is missing (apt-get install systemd)"
fi
for line in 'DynamicUser=yes' 'StateDirectory=acs-edge' 'ConfigurationDirectory=acs-edge' \
    'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'CapabilityBoundingSet=' \
    'SystemCallFilter=@system-service' 'Restart=on-failure' 'KillSignal=SIGTERM' \
    'ExecStart=/usr/local/bin/acs-edge --config /etc/acs-edge/acs-edge.conf'; do
    run "systemd: the unit has $line" grep -qxF "$line" "$unit"
done
run "systemd: ExecReload sends SIGHUP" grep -qx 'ExecReload=/bin/kill -HUP \$MAINPID' "$unit"
run "systemd: MemoryMax is set" grep -qE '^MemoryMax=[0-9]+M$' "$unit"
run "systemd: TimeoutStopSec covers the clean stop (5 s by design)" grep -qE '^TimeoutStopSec=(1[0-9]|[2-5][0-9])$' "$unit"
run "systemd: the default store lies in StateDirectory=acs-edge" \
    bash -c '"$1" print-config | grep -qxF "$(printf "\toption path '"'"'/var/lib/acs-edge/store.db'"'"'")"' _ "$BIN"

# --- the starter configs ---------------------------------------------------------------------
check_config() { # check_config FILE ALLOWED_WARNING_REGEX
    local out
    out=$("$BIN" check-config "$1" 2>&1) || { echo "$out"; return 1; }
    if echo "$out" | grep '^warning:' | grep -vqE "$2"; then echo "$out"; return 1; fi
}
run "configs: the image's starter config passes check-config without warnings" \
    check_config "$DEPLOY/container/acs-edge.conf" '^$'
run "configs: the stack's config passes check-config (warning only: no influxdb in this build)" \
    check_config "$DEPLOY/compose/acs-edge/acs-edge.conf" "^warning: line [0-9]+: unknown section type 'influxdb' \(ignored\)$"

# --- the compose stack -----------------------------------------------------------------------
out=$(python3 "$DEPLOY/check_stack.py" static 2>&1)
n_fail=$?
echo "$out"
passed=$((passed + $(grep -c '^ok ' <<<"$out"))) failed=$((failed + n_fail))
if command -v docker-compose >/dev/null; then
    run "compose: docker-compose config accepts compose.yaml" \
        env GRAFANA_ADMIN_PASSWORD=test docker-compose -p acs-edge -f "$DEPLOY/compose/compose.yaml" config -q
    run "compose: docker-compose refuses to start Grafana without a password" \
        bash -c '! env -u GRAFANA_ADMIN_PASSWORD docker-compose -p acs-edge -f "$1" config -q >/dev/null 2>&1' _ "$DEPLOY/compose/compose.yaml"
else
    echo "     docker-compose not installed: compose.yaml checked by check_stack.py only"
fi

broker_check "stack: mosquitto.conf starts a broker that takes an anonymous publish"

# Readings as acs-edge's InfluxDB upstream writes them (measurement = metric, tags device and
# gateway, field value, ms timestamps), over the last 30 minutes.
influx_fixture() {
    local now i ts
    now=$(date +%s%3N)
    for i in $(seq 0 29); do
        ts=$((now - i * 60000))
        echo "temperature,device=kitchen,gateway=gw-1 value=2$((i % 10)).5 $ts"
        echo "humidity,device=kitchen,gateway=gw-1 value=4$((i % 10)) $ts"
        echo "temperature,device=garden.hut,gateway=gw-1 value=1$((i % 10)).25 $ts"
        echo "battery,device=garden.hut,gateway=gw-1 value=97 $ts"
    done
}
if command -v influxd >/dev/null; then
    http=$(free_port) rpc=$(free_port)
    cat >"$tmp/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$tmp/influx/meta"
[data]
  dir = "$tmp/influx/data"
  wal-dir = "$tmp/influx/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$http"
  log-enabled = false
EOF
    influxd run -config "$tmp/influxdb.conf" >"$tmp/influxd.log" 2>&1 &
    pids+=($!)
    url=http://127.0.0.1:$http
    if wait_for 60 curl -fsS "$url/ping" &&
        curl -fsS -XPOST "$url/query" --data-urlencode 'q=CREATE DATABASE acs' >/dev/null &&
        influx_fixture | curl -fsS -XPOST "$url/write?db=acs&precision=ms" --data-binary @- >/dev/null; then
        out=$(python3 "$DEPLOY/check_stack.py" queries "$url" acs 2>&1)
        n_fail=$?
        echo "$out"
        passed=$((passed + $(grep -c '^ok ' <<<"$out"))) failed=$((failed + n_fail))
    else
        bad "stack: influxd started and took the fixture"
        sed 's/^/     /' "$tmp/influxd.log" | tail -20
    fi
else
    bad "stack: influxd is missing (apt-get install influxdb)"
fi
fi # not --container

# --- the container image ---------------------------------------------------------------------
# Flags for `podman run` on this machine, found by trying: some hosts need runc (crun refuses
# cgroup v1/v2 hybrid mounts) and explicit limits (podman asks for more open files and
# processes than root may set without CAP_SYS_RESOURCE). 4096 of each is plenty for the
# daemon (api.max_connections is at most 1024). Empty where the defaults work.
podman_run_flags() {
    local image=$1 out
    if out=$(podman run --rm "$image" --version 2>&1); then echo; return 0; fi
    local flags="--ulimit nofile=4096:4096 --ulimit nproc=4096:4096"
    command -v runc >/dev/null && flags="--runtime runc $flags"
    # shellcheck disable=SC2086
    if podman run --rm $flags "$image" --version >/dev/null 2>&1; then
        echo "$flags"
        echo "     podman run needs '$flags' here; with the defaults: $(grep -m1 "^Error" <<<"$out")" >&2
        return 0
    fi
    echo "$out" >&2
    return 1
}

container_checks() {
    local image=localhost/acs-edge:test flags version api broker cfg data token
    run "image: deploy/container/build.sh builds FROM scratch" \
        env IMAGE=localhost/acs-edge CONTAINER_TOOL=podman "$DEPLOY/container/build.sh" "$STATIC_BIN"
    podman tag localhost/acs-edge:latest "$image" 2>/dev/null || return 0
    run "image: holds only the binary, the starter config and the store's directory" bash -c '
        layers=$(podman image inspect --format "{{len .RootFS.Layers}}" "$1")
        user=$(podman image inspect --format "{{.Config.User}}" "$1")
        health=$(podman image inspect --format "{{json .Config.Healthcheck}}" "$1")
        [ "$user" = 65532:65532 ] && [ "$layers" = 3 ] && grep -q "\"status\"" <<<"$health" ||
            { echo "user=$user layers=$layers healthcheck=$health"; exit 1; }' _ "$image"
    if ! flags=$(podman_run_flags "$image"); then
        bad "image: podman can run a container on this machine"
        return 0
    fi
    # shellcheck disable=SC2086
    version=$(podman run --rm $flags "$image" --version 2>/dev/null)
    run "image: --version in the container names the static x86_64 build" \
        bash -c '[[ $1 == "acs-edge "*x86_64-unknown-linux-musl*influxdb* ]] || { echo "$1"; exit 1; }' _ "$version"

    # The daemon in the container, on the host's network (no port mapping to depend on), with
    # the config and the store as bind mounts owned by the image's user.
    if [ -z "${port:-}" ]; then broker_check "image: a broker for the daemon" || return 0; fi
    api=$(free_port) broker=$port
    cfg=$tmp/container/etc data=$tmp/container/data
    mkdir -p "$cfg" "$data"
    sed "s#option host 'mosquitto'#option host '127.0.0.1'#; s#option port '1883'#option port '$broker'#; s#option listen '0.0.0.0:8080'#option listen '0.0.0.0:$api'#" \
        "$DEPLOY/container/acs-edge.conf" >"$cfg/acs-edge.conf"
    chown -R 65532:65532 "$tmp/container"
    chmod 0640 "$cfg/acs-edge.conf"
    # An API token, made by the image's binary as its own user in the mounted config.
    # shellcheck disable=SC2086
    token=$(podman run --rm $flags -v "$cfg:/etc/acs-edge" "$image" \
        token create deploy_test --config /etc/acs-edge/acs-edge.conf 2>/dev/null)
    run "image: acs-edge token create writes the mounted config as uid 65532" \
        bash -c '[[ $1 =~ ^[0-9a-f]{64}$ ]] && [ "$(stat -c %u "$2")" = 65532 ] || { echo "token=$1"; ls -ln "$(dirname "$2")"; exit 1; }' _ "$token" "$cfg/acs-edge.conf"
    container=acs-edge-test-$$
    # shellcheck disable=SC2086
    if ! podman run -d --name "$container" $flags --network host \
        -v "$cfg:/etc/acs-edge" -v "$data:/var/lib/acs-edge" "$image" >"$tmp/podman-run.log" 2>&1; then
        bad "image: the daemon starts in a container"
        sed 's/^/     /' "$tmp/podman-run.log"
        return 0
    fi
    run "image: GET /api/v1/health from the host answers ok" \
        wait_for 30 bash -c 'curl -fsS "http://127.0.0.1:$1/api/v1/health" | grep -q "\"status\":\"ok\""' _ "$api"
    run "image: the HEALTHCHECK command (acs-edge status) passes in the container" \
        podman exec "$container" /usr/bin/acs-edge status --config /etc/acs-edge/acs-edge.conf
    if out=$(podman healthcheck run "$container" 2>&1); then
        ok "image: podman healthcheck run reports healthy"
    else
        bad "image: podman healthcheck run reports healthy"
        echo "$out" | sed 's/^/     /'
    fi
    mosquitto_pub -h 127.0.0.1 -p "$broker" -t acs/box1/telemetry -m '{"temperature": 21.5}' 2>/dev/null
    run "image: a published reading is stored and served by the API" \
        wait_for 15 bash -c 'curl -fsS -H "Authorization: Bearer $2" "http://127.0.0.1:$1/api/v1/telemetry?device=box1" |
            grep -q "\"value\":21.5"' _ "$api" "$token"
    run "image: the store is in the mounted directory" test -s "$data/store.db"
    local stop_start stop_code
    stop_start=$(date +%s%N)
    podman stop -t 15 "$container" >/dev/null 2>&1
    stop_code=$(podman inspect --format '{{.State.ExitCode}}' "$container" 2>/dev/null)
    if [ "$stop_code" = 0 ]; then
        ok "image: podman stop (SIGTERM) ends the daemon cleanly: exit 0 after $((($(date +%s%N) - stop_start) / 1000000)) ms"
    else
        bad "image: podman stop (SIGTERM) ends the daemon cleanly: exit code ${stop_code:-?}"
        podman logs "$container" 2>&1 | tail -20 | sed 's/^/     /'
    fi
    run "image: acs-edge status fails once the daemon is gone" \
        bash -c '! podman run --rm $2 --network host -v "$1:/etc/acs-edge" localhost/acs-edge:test status --config /etc/acs-edge/acs-edge.conf >/dev/null 2>&1' _ "$cfg" "$flags"
}

if [ -x "$STATIC_BIN" ] || [ $want_container = 1 ]; then
    if ! command -v podman >/dev/null; then
        bad "image: podman is missing (apt-get install podman)"
    elif [ ! -x "$STATIC_BIN" ]; then
        bad "image: no static binary at $STATIC_BIN (make cross TARGET=x86_64)"
    else
        container_checks
    fi
else
    echo "     image: skipped, no static binary at $STATIC_BIN (make test-container builds it)"
fi

echo "test-deploy: $passed passed, $failed failed"
[ "$failed" = 0 ]
