#!/usr/bin/env bash
# cross/apk.sh [TARGET...]: .apk packages (apk-tools v3 "ADB" format) for OpenWrt 25.12 and
# later, from the same staged trees as cross/ipk.sh, laid out as OpenWrt's
# include/package-pack.mk lays them out for `apk mkpkg`:
#   lib/apk/packages/<name>.list          every file, sorted
#   lib/apk/packages/<name>.conffiles     /etc/config/acs-edge
#   lib/apk/packages/<name>.conffiles_static   path + sha256 of the shipped config
#   lib/apk/packages/<name>.rusers        the users to create (OpenWrt's USERID)
#   post-install / post-upgrade / pre-deinstall scripts calling default_postinst/default_prerm
# Output: dist/<name>-<version>_<arch>.apk.
#
# Needs apk-tools 3 (`apk mkpkg`). None of the package registries this project builds from
# (Debian 12, PyPI, npm, crates.io) ships it; without it this script says so and fails. See
# docs/OPERATIONS.md ("OpenWrt 25.12 and apk") for what 25.12 users do instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pkg-lib.sh"
cd "$PKG_ROOT"

APK=${APK:-apk}
if ! "$APK" --version 2>/dev/null | grep -q 'apk-tools 3\.'; then
    cat >&2 <<'EOF'
cross/apk.sh: apk-tools 3 (`apk mkpkg`) is not installed, so no .apk can be built here.
  It is not available from Debian 12 (no apk-tools package), PyPI, npm or crates.io; only
  Alpine Linux (apk-tools 3.x), Arch Linux (extra/apk-tools) and the OpenWrt 25.12 SDK ship it.
  On such a machine: APK=/path/to/apk make apk. OpenWrt 25.12 users: build with the SDK
  (openwrt/Makefile), or install the static binary from the .ipk by hand (docs/OPERATIONS.md).
EOF
    exit 1
fi

triples=()
for t in ${@:-mips mipsel armv7 aarch64}; do
    case "$t" in
        mips) t=mips-unknown-linux-musl ;;
        mipsel) t=mipsel-unknown-linux-musl ;;
        armv7 | arm) t=armv7-unknown-linux-musleabihf ;;
        aarch64 | arm64) t=aarch64-unknown-linux-musl ;;
        *_*) t=$(rust_triple "$t") ;;
    esac
    triples+=("$t")
done
missing=()
for t in "${triples[@]}"; do [ -x "dist/$t/acs-edge" ] || missing+=("$t"); done
[ ${#missing[@]} -eq 0 ] || make --no-print-directory cross TARGET="${missing[*]}"

version=$(pkg_version)
epoch=$(source_date_epoch)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 022

# apk_scripts DIR NAME [EXTRA_POSTINST_FILE]: the three scripts package-pack.mk generates.
apk_scripts() {
    local dir=$1 name=$2 extra=${3:-}
    {
        echo '#!/bin/sh'
        echo '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0'
        echo '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0'
        echo '. ${IPKG_INSTROOT}/lib/functions.sh'
        echo 'export root="${IPKG_INSTROOT}"'
        echo "export pkgname=\"$name\""
        echo 'add_group_and_user'
        echo 'default_postinst'
        [ -z "$extra" ] || sed '/^\s*#!/d' "$extra"
    } >"$dir/post-install"
    { echo '#!/bin/sh'; echo 'export PKG_UPGRADE=1'; sed '/^\s*#!/d' "$dir/post-install"; } >"$dir/post-upgrade"
    {
        echo '#!/bin/sh'
        echo '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0'
        echo '. ${IPKG_INSTROOT}/lib/functions.sh'
        echo 'export root="${IPKG_INSTROOT}"'
        echo "export pkgname=\"$name\""
        echo 'default_prerm'
    } >"$dir/pre-deinstall"
    chmod 0755 "$dir/post-install" "$dir/post-upgrade" "$dir/pre-deinstall"
}

# mkapk NAME ARCH DATA SCRIPTS DEPENDS DESCRIPTION
mkapk() {
    local name=$1 arch=$2 data=$3 scripts=$4 depends=$5 description=$6
    local meta="$data/lib/apk/packages"
    mkdir -p "$meta"
    (cd "$data" && find . -type f,l -printf '/%P\n' | LC_ALL=C sort >"$meta/$name.list.tmp")
    mv "$meta/$name.list.tmp" "$meta/$name.list"
    if [ -f "$data/etc/config/acs-edge" ] && [ "$name" = acs-edge ]; then
        echo /etc/config/acs-edge >"$meta/$name.conffiles"
        echo "/etc/config/acs-edge $(sha256sum <"$data/etc/config/acs-edge" | cut -d' ' -f1)" >"$meta/$name.conffiles_static"
        echo "$ACS_EDGE_USERID" >"$meta/$name.rusers"
    fi
    find "$data" -type d -exec chmod 0755 {} +
    find "$data" -exec touch -h -d "@$epoch" {} +
    local apk_arch=$arch
    [ "$arch" = all ] && apk_arch=noarch
    SOURCE_DATE_EPOCH=$epoch "$APK" mkpkg \
        --info "name:$name" --info "version:$version" \
        --info "description:$(echo "$description" | tr '\n' ' ' | tr -s ' ')" \
        --info "arch:$apk_arch" --info "license:$PKG_LICENSE" --info "origin:$name" \
        --info "depends:$(echo "$depends" | tr -d ',')" \
        --script "post-install:$scripts/post-install" --script "post-upgrade:$scripts/post-upgrade" \
        --script "pre-deinstall:$scripts/pre-deinstall" \
        --files "$data" --output "dist/${name}-${version}_${arch}.apk"
    echo "dist/${name}-${version}_${arch}.apk"
}

for t in "${triples[@]}"; do
    arch=$(openwrt_arch "$t")
    mkdir -p "$work/$arch/scripts"
    stage_acs_edge "$work/$arch/data" "dist/$t/acs-edge"
    apk_scripts "$work/$arch/scripts" acs-edge
    mkapk acs-edge "$arch" "$work/$arch/data" "$work/$arch/scripts" "$ACS_EDGE_DEPENDS" "$ACS_EDGE_DESCRIPTION"
done

mkdir -p "$work/luci/scripts"
stage_luci "$work/luci/data"
cat >"$work/luci/postinst-pkg" <<'EOF'
[ -n "${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache /tmp/luci-indexcache.*
	rm -rf /tmp/luci-modulecache/
	/etc/init.d/rpcd reload 2>/dev/null
}
EOF
apk_scripts "$work/luci/scripts" luci-app-acs-edge "$work/luci/postinst-pkg"
mkapk luci-app-acs-edge all "$work/luci/data" "$work/luci/scripts" "$LUCI_DEPENDS" "$LUCI_DESCRIPTION"
