# shellcheck shell=bash
# Sourced by cross/ipk.sh, cross/apk.sh and their tests (cross/test-packages.sh,
# cross/test-apk.sh): what the OpenWrt packages contain and how their archives are made
# reproducible. One place for names, versions, architectures and file modes, so the packers and
# the tests cannot drift apart.

PKG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKG_ROOT=$(cd "$PKG_LIB_DIR/.." && pwd)

# OpenWrt's release counter: bump it when the package changes but the daemon does not.
PKG_RELEASE=${PKG_RELEASE:-1}
PKG_LICENSE=Apache-2.0
PKG_URL=$(sed -n 's/^repository *= *"\(.*\)"$/\1/p' "$PKG_ROOT/Cargo.toml")
# As openwrt/Makefile's PKG_MAINTAINER.
PKG_MAINTAINER="acs-edge maintainers"

# Rust target triple -> OpenWrt package architecture (the `opkg print-architecture` names).
openwrt_arch() {
    case "$1" in
        mips-unknown-linux-musl) echo mips_24kc ;;
        mipsel-unknown-linux-musl) echo mipsel_24kc ;;
        armv7-unknown-linux-musleabihf) echo arm_cortex-a7_neon-vfpv4 ;;
        aarch64-unknown-linux-musl) echo aarch64_cortex-a53 ;;
        *) echo "pkg-lib: no OpenWrt architecture for $1" >&2; return 1 ;;
    esac
}

# Short name (as for make cross), Rust triple or OpenWrt architecture -> Rust target triple.
triple_of() {
    case "$1" in
        mips) echo mips-unknown-linux-musl ;;
        mipsel) echo mipsel-unknown-linux-musl ;;
        armv7 | arm) echo armv7-unknown-linux-musleabihf ;;
        aarch64 | arm64) echo aarch64-unknown-linux-musl ;;
        *-linux-*) openwrt_arch "$1" >/dev/null && echo "$1" ;;
        *) rust_triple "$1" ;;
    esac
}

# build_missing_binaries CALLER VARIANT...: `make cross` for the binaries of each variant that
# dist/<triple>/ lacks, for the triples in the caller's `triples` array.
build_missing_binaries() {
    local caller=$1 v name t missing
    shift
    for v in "$@"; do
        name=$(variant_package "$v")
        missing=()
        for t in "${triples[@]}"; do [ -x "dist/$t/$name" ] || missing+=("$t"); done
        if [ ${#missing[@]} -gt 0 ]; then
            echo "cross/$caller: building the missing static binaries ($name): ${missing[*]}"
            make --no-print-directory cross VARIANT="$v" TARGET="${missing[*]}"
        fi
    done
}

# OpenWrt package architecture -> Rust target triple.
rust_triple() {
    case "$1" in
        mips_24kc) echo mips-unknown-linux-musl ;;
        mipsel_24kc) echo mipsel-unknown-linux-musl ;;
        arm_cortex-a7_neon-vfpv4) echo armv7-unknown-linux-musleabihf ;;
        aarch64_cortex-a53) echo aarch64-unknown-linux-musl ;;
        *) echo "pkg-lib: no Rust target for $1" >&2; return 1 ;;
    esac
}

# What `file` must say about the binary of each architecture.
expected_file_type() {
    case "$1" in
        mips_24kc) echo "ELF 32-bit MSB executable, MIPS, MIPS32 rel2" ;;
        mipsel_24kc) echo "ELF 32-bit LSB executable, MIPS, MIPS32 rel2" ;;
        arm_cortex-a7_neon-vfpv4) echo "ELF 32-bit LSB executable, ARM, EABI5" ;;
        aarch64_cortex-a53) echo "ELF 64-bit LSB executable, ARM aarch64" ;;
    esac
}

# The crate version from the [package] table of Cargo.toml, plus OpenWrt's "-r<release>"
# (the 24.10 form, which apk on 25.12 also accepts). The git revision is not part of the version
# (it does not sort); `acs-edge --version` prints it.
pkg_version() {
    local v
    v=$(awk '/^\[package\]/{p=1; next} /^\[/{p=0} p && /^version *=/{gsub(/[" ]/, "", $0); sub(/^version=/, ""); print; exit}' \
        "$PKG_ROOT/Cargo.toml")
    [ -n "$v" ] || { echo "pkg-lib: no version in Cargo.toml" >&2; return 1; }
    echo "$v-r$PKG_RELEASE"
}

# Fixed timestamp for every archive member: SOURCE_DATE_EPOCH when set, else the commit time of
# HEAD, so two builds of one commit are byte-identical.
source_date_epoch() {
    if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
        echo "$SOURCE_DATE_EPOCH"
    else
        git -C "$PKG_ROOT" log -1 --format=%ct 2>/dev/null || echo 0
    fi
}

# apk-tools 3 for `apk mkpkg` and the install tests: $APK when set, else the build beside the
# checkout (../shared/tools/apk), else `apk` on PATH. Prints its path, or says what to install.
find_apk() {
    local apk=${APK:-}
    if [ -z "$apk" ]; then
        apk=apk
        [ ! -x "$PKG_ROOT/../shared/tools/apk" ] || apk=$(cd "$PKG_ROOT/../shared/tools" && pwd)/apk
    fi
    if "$apk" --version 2>/dev/null | grep -q '^apk-tools 3\.'; then
        command -v "$apk"
        return 0
    fi
    cat >&2 <<EOF
apk-tools 3 not found (tried: $apk). Building and testing .apk packages needs apk-tools 3
(apk mkpkg); apk-tools 2 (Alpine before 3.23) cannot write them. Install it, then run again
with APK=/path/to/apk:
  - Alpine Linux 3.23 or later: apk-tools; Arch Linux: pacman -S apk-tools (extra/apk-tools);
  - the OpenWrt 25.12 SDK: staging_dir/host/bin/apk;
  - or build it from https://gitlab.alpinelinux.org/alpine/apk-tools (tag v3.0.5 or later):
    meson setup build -Ddefault_library=static -Dprefer_static=true && ninja -C build src/apk
Debian 12 has no apk-tools 3 package.
EOF
    return 1
}

git_short_rev() { git -C "$PKG_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown; }

# The files of the acs-edge package, with their modes: stage_acs_edge DIR BINARY
stage_acs_edge() {
    local data=$1 bin=$2
    mkdir -p "$data/usr/bin" "$data/etc/init.d" "$data/etc/config" "$data/etc/uci-defaults"
    install -m 0755 "$bin" "$data/usr/bin/acs-edge"
    install -m 0755 "$PKG_ROOT/openwrt/files/acs-edge.init" "$data/etc/init.d/acs-edge"
    # Run once by default_postinst (or at the first boot of an image): the store to the overlay
    # when it is flash with room (docs/OPERATIONS.md).
    install -m 0755 "$PKG_ROOT/openwrt/files/acs-edge.defaults" "$data/etc/uci-defaults/90-acs-edge-store"
    # Holds broker and cloud passwords and password hashes: not world-readable. The init script
    # gives the daemon's group read access.
    install -m 0600 "$PKG_ROOT/openwrt/files/acs-edge.config" "$data/etc/config/acs-edge"
}

# A build variant's package name, which is also its binary's name in dist/<triple>/ (the names
# cross/build.sh gives them): variant_package default|full|ml
variant_package() {
    case "$1" in
        default) echo acs-edge ;;
        full) echo acs-edge-full ;;
        ml) echo acs-edge-ml ;;
        *) echo "unknown package variant $1 (default, full or ml)" >&2; return 1 ;;
    esac
}

# The models the acs-edge-ml package ships (under /usr/share/acs-edge/models/, where the default
# config's commented `config model` example points).
ML_MODELS="temperature-ae.onnx"
ML_MODELS_DIR=/usr/share/acs-edge/models

# The acs-edge package's files plus the shipped models: stage_acs_edge_ml DIR BINARY
stage_acs_edge_ml() {
    local data=$1 bin=$2 m
    stage_acs_edge "$data" "$bin"
    mkdir -p "$data$ML_MODELS_DIR"
    for m in $ML_MODELS; do install -m 0644 "$PKG_ROOT/models/$m" "$data$ML_MODELS_DIR/$m"; done
}

# The files of the LuCI app: htdocs/ goes to /www, root/ to / (as OpenWrt's luci.mk installs
# them). stage_luci DIR
stage_luci() {
    local data=$1
    mkdir -p "$data/www"
    cp -R "$PKG_ROOT/luci-app/htdocs/." "$data/www/"
    cp -R "$PKG_ROOT/luci-app/root/." "$data/"
    find "$data" -type f -exec chmod 0644 {} +
    chmod 0755 "$data/usr/libexec/rpcd/luci.acs-edge"
}

# Reproducible tar.gz of the current directory's entries (or of the named members, in the
# order given): GNU format, names sorted, owners 0:0, fixed mtimes, gzip without name or time.
# Usage: repro_tar_gz EPOCH OUTPUT [MEMBER...]
repro_tar_gz() {
    local epoch=$1 out=$2; shift 2
    local members=("$@")
    [ ${#members[@]} -gt 0 ] || members=(.)
    tar --format=gnu --sort=name --numeric-owner --owner=0 --group=0 \
        --mtime="@$epoch" -cf - "${members[@]}" | gzip -9n >"$out"
}

# Control-file scripts, as OpenWrt's include/package-pack.mk writes them for .ipk: the
# package's own steps live in <script>-pkg files, which default_postinst/default_prerm
# (from /lib/functions.sh) run, and which also enable/start/stop the init script and create
# the users named in Require-User.
write_default_postinst() {
    cat >"$1" <<'EOF'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
EOF
    chmod 0755 "$1"
}

write_default_prerm() {
    cat >"$1" <<'EOF'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
EOF
    chmod 0755 "$1"
}

# The package descriptions (control `Description:`; continuation lines start with a space).
ACS_EDGE_DESCRIPTION="Edge daemon for sensor networks: MQTT ingest (also zigbee2mqtt, Tasmota,
 Shelly and ESPHome messages) into a bounded crash-safe SQLite ring buffer, REST API and
 WebSocket events, automation rules, store-and-forward sync to the cloud and to InfluxDB, Home
 Assistant discovery. Static binary; configured in /etc/config/acs-edge. Bluetooth LE and LoRa
 inputs are in the variant acs-edge-full."
ACS_EDGE_FULL_DESCRIPTION="Edge daemon for sensor networks, with every radio: MQTT, Bluetooth LE
 advertisements (BTHome, pvvx, ATC, Ruuvi) and LoRa (Semtech packet forwarder, SX126x/SX127x
 radio, LoRaWAN ABP) ingest into a bounded crash-safe SQLite ring buffer, REST API and WebSocket
 events, automation rules, store-and-forward sync to the cloud and to InfluxDB, Home Assistant
 discovery. Replaces acs-edge."
ACS_EDGE_ML_DESCRIPTION="Edge daemon for sensor networks, with local inference: MQTT ingest into a
 bounded crash-safe SQLite ring buffer, REST API and WebSocket events, automation rules,
 store-and-forward sync, and ONNX models (tract) that score telemetry windows on the router and
 write their outputs as readings. Ships a temperature anomaly model. Replaces acs-edge."
LUCI_DESCRIPTION="LuCI support for acs-edge: a status page (health, ingest rate, store fill,
 upstream state, the devices' last values, a history chart), the settings of every section, and
 an Access page for users and API tokens, so no ssh is needed."

# Users the acs-edge package asks for (OpenWrt's USERID / control `Require-User`): created by
# default_postinst (add_group_and_user) with the next free uid/gid.
ACS_EDGE_USERID="acs-edge:acs-edge"

# Depends: the init script needs procd's rc.common; upstream TLS verifies the cloud broker
# against the system CA bundle (/etc/ssl/certs/ca-certificates.crt, from ca-bundle, which the
# default image has); the binary is static (no libc dependency).
ACS_EDGE_DEPENDS="procd, ca-bundle"
# Recommends: a local broker to ingest from (mqtt.host is 127.0.0.1 by default). Not a Depends,
# because a gateway may ingest from a broker elsewhere. opkg installs a recommended package that
# a configured feed has (and only notes it when none has). apk-tools 3 keeps `recommends` in the
# package and in repository indexes (`apk adbdump`, `apk query --fields recommends`) but installs
# nothing for it; it has no alternatives, so the .apk names the small variant (mosquitto-ssl
# serves as well).
ACS_EDGE_RECOMMENDS_IPK="mosquitto-nossl | mosquitto-ssl"
ACS_EDGE_RECOMMENDS_APK="mosquitto-nossl"
# The rpcd plugin of the LuCI app fetches the daemon's API with uclient-fetch.
LUCI_DEPENDS="luci-base, rpcd, uclient-fetch, acs-edge"

# The package tests' counters and checks; each test script ends with
# "<name>: $passed passed, $failed failed" (the line .ci/run sums up).
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
# expect DESCRIPTION COMMAND...: passes when COMMAND succeeds; a failure shows its last lines.
expect() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$what"; else
        bad "$what"
        [ -z "$out" ] || tail -5 <<<"$out" | sed 's/^/     /'
        return 1
    fi
}
same() { # same DESCRIPTION ACTUAL EXPECTED
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', expected '$3'"; fi
}
