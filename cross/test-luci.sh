#!/usr/bin/env bash
# cross/test-luci.sh: checks of luci-app-acs-edge that need only node (part of `make test`):
#   the JSON files parse; each view compiles the way LuCI's loader compiles it; sh -n on the
#   rpcd plugin; ESLint (pinned in luci-app/tests/package.json, `npm ci` on first use) with
#   LuCI's globals; the form/schema contract test (luci-app/tests/contract.js) against
#   `acs-edge print-config`, and a proof that the contract test fails on a schema option the
#   form lacks; then the views in real LuCI (luci-app/tests/browser/run.js): LuCI's own
#   framework files from $LUCI_JS (default ../shared/luci-js beside the repository) in headless
#   Chromium against a fake router that runs the real rpcd plugin and the built acs-edge. It
#   says that it skipped when the LuCI files, chromium or the binary are missing.
# Schema source: $ACS_EDGE_BIN, else the debug binary of CARGO_TARGET_DIR (or target/), else
# openwrt/files/acs-edge.config (which tests/it/cli.rs keeps identical to print-config).
# Closing line: "test-luci: N passed, M failed".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APP=$ROOT/luci-app
cd "$APP"
command -v node >/dev/null || { echo "test-luci: node is missing (apt-get install nodejs)" >&2; exit 1; }

# shellcheck source=dev/checks.sh
source "$ROOT/dev/checks.sh"

while IFS= read -r f; do
    run "valid JSON: ${f#./}" node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$f"
done < <(find . -path ./tests -prune -o -name '*.json' -print | sort)

while IFS= read -r f; do
    run "compiles as a LuCI view: ${f#./}" node -e '
        const src = require("fs").readFileSync(process.argv[1], "utf8");
        const req = [...src.matchAll(/^.require ([\w.]+).;$/gm)].map((m) => m[1]);
        new Function(...req, "_", "N_", "E", "L", src);' "$f"
done < <(find htdocs -name '*.js' | sort)

run "sh -n root/usr/libexec/rpcd/luci.acs-edge" sh -n root/usr/libexec/rpcd/luci.acs-edge
run "rpcd plugin is executable in the tree" test -x root/usr/libexec/rpcd/luci.acs-edge

if [ ! -x tests/node_modules/.bin/eslint ]; then
    (cd tests && npm ci --no-audit --no-fund --loglevel=error) >/dev/null 2>&1 ||
        bad "npm ci in luci-app/tests (ESLint)"
fi
run "eslint (LuCI globals) htdocs/" tests/node_modules/.bin/eslint --max-warnings 0 -c tests/eslint.config.mjs htdocs

schema=$(mktemp)
trap 'rm -f "$schema" "$schema.more"' EXIT
bin=${ACS_EDGE_BIN:-}
[ -n "$bin" ] || for b in "${CARGO_TARGET_DIR:-$ROOT/target}/debug/acs-edge" "$ROOT/target/debug/acs-edge"; do
    [ -x "$b" ] && { bin=$b; break; }
done
if [ -n "$bin" ] && "$bin" print-config >"$schema"; then
    echo "     schema: $bin print-config"
else
    cp "$ROOT/openwrt/files/acs-edge.config" "$schema"
    echo "     schema: openwrt/files/acs-edge.config (no built binary)"
fi
run "contract: the settings form covers exactly the daemon's schema" node tests/contract.js "$schema"

# The contract test must fail when the schema has an option the form does not edit.
{ cat "$schema"; printf "\nconfig store 'store'\n\toption not_in_form '1'\n"; } >"$schema.more"
if out=$(node tests/contract.js "$schema.more" 2>&1); then
    bad "contract test fails on an option missing from the form (it passed)"
elif echo "$out" | grep -q "store.not_in_form, which the form does not edit"; then
    ok "contract test fails on an option missing from the form"
else
    bad "contract test fails on an option missing from the form (wrong reason)"; echo "$out" | sed 's/^/     /'
fi

LUCI_JS=${LUCI_JS:-$ROOT/../shared/luci-js}
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ ! -f "$LUCI_JS/luci-static/resources/luci.js" ]; then
    echo "skip real-LuCI browser test: no LuCI framework files in $LUCI_JS (set LUCI_JS; see luci-app/README.md)"
elif [ -z "$chromium" ]; then
    echo "skip real-LuCI browser test: chromium is missing (apt-get install chromium)"
elif [ -z "$bin" ]; then
    echo "skip real-LuCI browser test: no built acs-edge (cargo build, or ACS_EDGE_BIN)"
else
    # Its own checks count one by one.
    out=$(node tests/browser/run.js "$LUCI_JS" "$chromium" "$bin" "$ROOT/openwrt/files/acs-edge.config" 2>&1)
    echo "$out" | grep -v '^luci-browser: '
    counts=$(echo "$out" | sed -n 's/^luci-browser: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
    if [ -n "$counts" ]; then
        passed=$((passed + ${counts% *})) failed=$((failed + ${counts#* }))
    else
        bad "real-LuCI browser test ended without its summary"
    fi
fi

echo "test-luci: $passed passed, $failed failed"
[ "$failed" = 0 ]
