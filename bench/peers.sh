#!/usr/bin/env bash
# bench/peers.sh: installs the peers `make bench` measures next to acs-edge, when missing:
# mosquitto (apt) and Node-RED with node-red-node-sqlite (npm, into bench/.peers/node-red,
# which git ignores). The `sqlite3` npm module under node-red-node-sqlite normally downloads a
# prebuilt binary from GitHub; that download is not possible everywhere, so it is built from its
# bundled SQLite source with node-gyp against the local node headers (/usr/include/node, from
# Debian's nodejs package). A peer that cannot be installed is reported as "not measured" by the
# benchmark, with the reason; this script never fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"

if ! command -v mosquitto >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients; } >/dev/null 2>&1 \
        || echo "peers: mosquitto could not be installed" >&2
fi

DIR=bench/.peers/node-red
if [ -f "$DIR/node_modules/node-red/red.js" ] && [ -d "$DIR/node_modules/node-red-node-sqlite" ] &&
    [ -n "$(find "$DIR/node_modules/sqlite3" -name node_sqlite3.node 2>/dev/null)" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "peers: npm not found; Node-RED is not measured (apt-get install nodejs npm)" >&2
    exit 0
fi
nodedir=
if [ -f /usr/include/node/common.gypi ]; then
    nodedir=/usr
else
    echo "peers: no node headers in /usr/include/node; sqlite3 needs them to build" >&2
fi
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "acs-edge-bench-peers", "private": true}' >"$DIR/package.json"
echo "peers: installing node-red and node-red-node-sqlite into $DIR (builds sqlite3 from source, a few minutes)"
(cd "$DIR" && npm_config_nodedir=$nodedir npm_config_build_from_source=true \
    npm install --no-audit --no-fund node-red node-red-node-sqlite >npm-install.log 2>&1) ||
    echo "peers: npm install failed, see $DIR/npm-install.log" >&2
exit 0
