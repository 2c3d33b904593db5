#!/usr/bin/env bash
# Install what the static cross-builds need, only what is missing.
#   Debian: rustc-web cargo-web rust-web-src (rustc/cargo 1.96 + std sources, in /usr/bin)
#           qemu-user-static (run mips/mipsel/arm/aarch64 binaries), file
#   PyPI:   ziglang (C cross compiler + musl for every target), cargo-zigbuild (cargo -> zig linker)
# rustup's toolchain is never touched. Prints what it installed; silent when all is there.
# Exits non-zero with a message when something fails.
set -euo pipefail

ZIGLANG_VERSION=${ZIGLANG_VERSION:-0.17.0}
ZIGBUILD_VERSION=${ZIGBUILD_VERSION:-0.24.0}
DEB_RUST_MIN=1.96            # rustc-web version the recipe is measured with

die() { echo "cross/setup.sh: error: $*" >&2; exit 1; }
say() { echo "cross/setup.sh: $*"; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo: cannot install packages"
    SUDO="sudo"
fi

# ---- Debian packages -------------------------------------------------------
deb_missing=()
deb_rust_ok() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ] || return 1
    local v; v=$(/usr/bin/rustc --version 2>/dev/null | awk '{print $2}') || return 1
    dpkg --compare-versions "$v" ge "$DEB_RUST_MIN"
}
deb_rust_ok || deb_missing+=(rustc-web cargo-web rust-web-src)
for a in mips mipsel arm aarch64; do
    command -v "qemu-$a-static" >/dev/null || { deb_missing+=(qemu-user-static); break; }
done
command -v file >/dev/null || deb_missing+=(file)

apt_get() {
    # other agents may hold the dpkg/apt locks: wait for them
    local i
    for i in 1 2 3 4 5; do
        if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@"; then
            return 0
        fi
        echo "cross/setup.sh: apt-get $1 failed (try $i), retrying in 20 s" >&2
        sleep 20
    done
    return 1
}

if [ ${#deb_missing[@]} -gt 0 ]; then
    # apt-get update only when the lists don't offer what we need
    cand=$(apt-cache policy rustc-web 2>/dev/null | awk '/Candidate:/{print $2}')
    if [ -z "$cand" ] || [ "$cand" = "(none)" ] || dpkg --compare-versions "${cand%%+*}" lt "$DEB_RUST_MIN" \
       || ! apt-cache show qemu-user-static >/dev/null 2>&1; then
        say "apt-get update"
        apt_get update >/dev/null || die "apt-get update failed"
    fi
    say "installing Debian packages: ${deb_missing[*]}"
    apt_get install -y --no-install-recommends "${deb_missing[@]}" >/tmp/cross-setup-apt.log 2>&1 \
        || { tail -20 /tmp/cross-setup-apt.log >&2; die "apt-get install ${deb_missing[*]} failed (log: /tmp/cross-setup-apt.log)"; }
    deb_rust_ok || die "Debian rustc >= $DEB_RUST_MIN with std sources not found after install (got: $(/usr/bin/rustc --version 2>&1))"
    say "installed: $(/usr/bin/rustc --version), $(/usr/bin/cargo --version), $(qemu-mips-static --version | head -1)"
fi

# ---- PyPI packages ---------------------------------------------------------
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || die "python3 not found (needed for pip install ziglang cargo-zigbuild)"
pip_ver() { "$PY" -m pip show "$1" 2>/dev/null | awk '/^Version:/{print $2}'; }
pip_want=()
[ "$(pip_ver ziglang)" = "$ZIGLANG_VERSION" ] || pip_want+=("ziglang==$ZIGLANG_VERSION")
[ "$(pip_ver cargo-zigbuild)" = "$ZIGBUILD_VERSION" ] || pip_want+=("cargo-zigbuild==$ZIGBUILD_VERSION")
if [ ${#pip_want[@]} -gt 0 ]; then
    say "pip install ${pip_want[*]}"
    "$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore "${pip_want[@]}" \
        || die "pip install ${pip_want[*]} failed"
fi
SCRIPTS=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
[ -x "$SCRIPTS/cargo-zigbuild" ] || command -v cargo-zigbuild >/dev/null \
    || die "cargo-zigbuild not found in $SCRIPTS nor on PATH after pip install"
"$PY" -m ziglang version >/dev/null 2>&1 || die "python3 -m ziglang does not run"
[ ${#pip_want[@]} -eq 0 ] || say "installed: zig $("$PY" -m ziglang version), $("$SCRIPTS/cargo-zigbuild" --version 2>/dev/null || cargo-zigbuild --version)"
exit 0
