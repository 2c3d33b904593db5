#!/usr/bin/env bash
# cross/check-budget.sh: fails when the default mipsel build (the package acs-edge on the
# smallest routers) is over its budget, DESIGN.md's 3 MB read as 3 MiB (see README "Router
# builds"). Checks the binary `make cross TARGET=mipsel` left; builds it when missing.
# Closing line: "size budget: N B of 3145728 B (M B left)".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

BUDGET=3145728
triple=$(full_triple mipsel)
bin=dist/$triple/acs-edge
[ -f "$bin" ] || VARIANT=default "$CROSS_DIR/build.sh" mipsel >/dev/null
size=$(stat -c %s "$bin")
if [ "$size" -gt "$BUDGET" ]; then
    echo "size budget: $size B of $BUDGET B: over by $((size - BUDGET)) B (default mipsel build)" >&2
    exit 1
fi
echo "size budget: $size B of $BUDGET B ($((BUDGET - size)) B left)"
