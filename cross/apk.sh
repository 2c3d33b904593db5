#!/usr/bin/env bash
# cross/apk.sh [TARGET...]: .apk packages (apk-tools 3, the v3 "ADB" format) for OpenWrt 25.12
# and later, from the same staged trees as cross/ipk.sh. TARGET: Rust triple, short name as for
# make cross, or OpenWrt architecture; default: all four. VARIANTS as for cross/ipk.sh
# (default "default full"; "ml" adds acs-edge-ml).
#
# Laid out as OpenWrt's include/package-pack.mk lays a package out for `apk mkpkg`:
#   lib/apk/packages/<name>.rusers        the users to create (USERID), read by add_group_and_user
#   lib/apk/packages/<name>.list          every file, sorted, written after .rusers (so it lists
#                                         it) and before the conffiles metadata (as OpenWrt does)
#   lib/apk/packages/<name>.conffiles     /etc/config/acs-edge (sysupgrade keeps what is listed)
#   lib/apk/packages/<name>.conffiles_static   path + sha256 of the shipped config
#   post-install, post-upgrade (the same with PKG_UPGRADE=1), pre-deinstall: OpenWrt's
#   default_postinst/default_prerm from /lib/functions.sh, which read .list and .rusers
# and named as OpenWrt names them: <APK_OUT>/<arch>/<name>-<version>.apk, and the LuCI app
# (arch noarch) <APK_OUT>/noarch/luci-app-acs-edge-<version>.apk; APK_OUT defaults to dist/apk.
# Reproducible: every mtime is SOURCE_DATE_EPOCH (HEAD's commit time unless set), which
# `apk mkpkg` also reads, and the packages carry no build time.
#
# APK: apk-tools 3 (default: ../shared/tools/apk beside the checkout if present, else `apk`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pkg-lib.sh"
cd "$PKG_ROOT"

APK=$(find_apk) || exit 1

triples=()
for t in ${@:-mips mipsel armv7 aarch64}; do
    t=$(triple_of "$t") || exit 2
    triples+=("$t")
done

read -r -a variants <<<"${VARIANTS:-default full}"
build_missing_binaries apk.sh "${variants[@]}"

version=$(pkg_version)
epoch=$(source_date_epoch)
rev=$(git_short_rev)
out_dir=${APK_OUT:-$PKG_ROOT/dist/apk}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 022

# apk_scripts DIR NAME [POSTINST_PKG]: the three scripts package-pack.mk generates; the
# package's own post-install steps (POSTINST_PKG) follow default_postinst in the same script.
apk_scripts() {
    local dir=$1 name=$2 extra=${3:-}
    mkdir -p "$dir"
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

# mkapk NAME ARCH DATA SCRIPTS ORIGIN DEPENDS PROVIDES DESCRIPTION [USERID CONFFILE RECOMMENDS]
mkapk() {
    local name=$1 arch=$2 data=$3 scripts=$4 origin=$5 depends=$6 provides=$7 description=$8
    local userid=${9:-} conffile=${10:-} recommends=${11:-}
    local meta="$data/lib/apk/packages"
    mkdir -p "$meta"
    [ -z "$userid" ] || echo "$userid" >"$meta/$name.rusers"
    (cd "$data" && find . -type f,l -printf '/%P\n' | LC_ALL=C sort) >"$work/$name.list"
    mv "$work/$name.list" "$meta/$name.list"
    if [ -n "$conffile" ]; then
        echo "$conffile" >"$meta/$name.conffiles"
        echo "$conffile $(sha256sum <"$data$conffile" | cut -d' ' -f1)" >"$meta/$name.conffiles_static"
    fi
    chmod 0644 "$meta"/*
    find "$data" -type d -exec chmod 0755 {} +
    find "$data" -exec touch -h -d "@$epoch" {} +
    local apk_arch=$arch dir=$arch
    [ "$arch" != all ] || apk_arch=noarch dir=noarch
    mkdir -p "$out_dir/$dir"
    local file="$out_dir/$dir/$name-$version.apk"
    local info=(--info "name:$name" --info "version:$version"
        --info "description:$(echo "$description" | tr "\n" " " | tr -s " " | sed "s/ *$//")"
        --info "arch:$apk_arch" --info "license:$PKG_LICENSE" --info "origin:$origin"
        --info "url:$PKG_URL" --info "maintainer:$PKG_MAINTAINER"
        --info "depends:$(echo "$depends" | tr -d ',')")
    [ -z "$provides" ] || info+=(--info "provides:$provides")
    [ -z "$recommends" ] || info+=(--info "recommends:$recommends")
    SOURCE_DATE_EPOCH=$epoch "$APK" mkpkg "${info[@]}" \
        --script "post-install:$scripts/post-install" --script "post-upgrade:$scripts/post-upgrade" \
        --script "pre-deinstall:$scripts/pre-deinstall" \
        --files "$data" --output "$file.tmp"
    mv -f "$file.tmp" "$file"
    printf '%-58s %9s bytes\n' "${file#"$PKG_ROOT"/}" "$(stat -c %s "$file")"
}

for t in "${triples[@]}"; do
    arch=$(openwrt_arch "$t")
    for v in "${variants[@]}"; do
        name=$(variant_package "$v")
        bin="dist/$t/$name"
        grep -aqF "$rev" "$bin" ||
            echo "cross/apk.sh: warning: $bin was not built from HEAD ($rev); run make cross to refresh it" >&2
        data="$work/$name-$arch/data" scripts="$work/$name-$arch/scripts"
        case "$v" in ml) stage_acs_edge_ml "$data" "$bin" ;; *) stage_acs_edge "$data" "$bin" ;; esac
        apk_scripts "$scripts" "$name"
        # A variant stands in for acs-edge (what the LuCI app depends on). A versioned provide
        # makes apk treat it as the single owner of that name, so no two variants install together.
        provides=""
        [ "$v" = default ] || provides="acs-edge=$version"
        # One origin for every variant: apk lets packages of one origin take over each other's
        # files (/usr/bin/acs-edge) when one variant replaces another.
        description=$ACS_EDGE_DESCRIPTION
        case "$v" in full) description=$ACS_EDGE_FULL_DESCRIPTION ;; ml) description=$ACS_EDGE_ML_DESCRIPTION ;; esac
        mkapk "$name" "$arch" "$data" "$scripts" acs-edge "$ACS_EDGE_DEPENDS" "$provides" "$description" \
            "$ACS_EDGE_USERID" /etc/config/acs-edge "$ACS_EDGE_RECOMMENDS_APK"
    done
done

stage_luci "$work/luci/data"
# Run after default_postinst on a live system: drop LuCI's caches so the new menu entry shows,
# and make rpcd load the new ACL and plugin.
cat >"$work/luci/postinst-pkg" <<'EOF'
[ -n "${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache /tmp/luci-indexcache.*
	rm -rf /tmp/luci-modulecache/
	/etc/init.d/rpcd reload 2>/dev/null
	exit 0
}
EOF
apk_scripts "$work/luci/scripts" luci-app-acs-edge "$work/luci/postinst-pkg"
mkapk luci-app-acs-edge all "$work/luci/data" "$work/luci/scripts" luci-app-acs-edge "$LUCI_DEPENDS" "" \
    "$LUCI_DESCRIPTION"
