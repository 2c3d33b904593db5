# Counters and checks shared by the shell test scripts (cross/test-luci.sh, deploy/test.sh);
# each ends with "<name>: $passed passed, $failed failed", the line .ci/run sums up.
# shellcheck shell=bash
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
run() { # run DESCRIPTION COMMAND...: passes when COMMAND succeeds; a failure shows its output
    local what=$1 out; shift
    if out=$("$@" 2>&1); then ok "$what"; else bad "$what"; echo "$out" | sed 's/^/     /'; fi
}
