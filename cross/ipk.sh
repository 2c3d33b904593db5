#!/usr/bin/env bash
# cross/ipk.sh [TARGET...]: OpenWrt .ipk packages in dist/ (TARGET: Rust triple, short name as
# for make cross, or OpenWrt architecture):
#   acs-edge_<version>_<arch>.ipk for each TARGET (default: all four; short names or triples)
#   acs-edge-full_<version>_<arch>.ipk, the variant with BLE and LoRa (VARIANTS="default full",
#     the default; VARIANTS=default packs only the base package)
#   acs-edge-ml_<version>_<arch>.ipk, the variant with local inference and the shipped model
#     (only when VARIANTS names ml, for example VARIANTS="default full ml": tract is a slow
#     build)
#   luci-app-acs-edge_<version>_all.ipk
# The format opkg reads (the layout of OpenWrt's scripts/ipkg-build): a gzip tar holding
# ./debian-binary ("2.0"), ./data.tar.gz and ./control.tar.gz. Reproducible: GNU tar with
# sorted names, owners 0:0, every mtime = SOURCE_DATE_EPOCH (default: HEAD's commit time),
# gzip -n. A static binary missing from dist/<triple>/ is built first with `make cross`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pkg-lib.sh"
cd "$PKG_ROOT"

ALL="mips-unknown-linux-musl mipsel-unknown-linux-musl armv7-unknown-linux-musleabihf aarch64-unknown-linux-musl"
triples=()
for t in ${@:-$ALL}; do
    t=$(triple_of "$t") || exit 2
    triples+=("$t")
done

version=$(pkg_version)
epoch=$(source_date_epoch)
rev=$(git_short_rev)
out_dir=${IPK_OUT:-$PKG_ROOT/dist}
mkdir -p "$out_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Modes are set explicitly below; the umask must not leak into group/other bits of new dirs.
umask 022

read -r -a variants <<<"${VARIANTS:-default full}"
build_missing_binaries ipk.sh "${variants[@]}"

# control.tar.gz + data.tar.gz + debian-binary -> <name>_<version>_<arch>.ipk
# Usage: pack NAME ARCH STAGE_DIR CONTROL_DIR
pack() {
    local name=$1 arch=$2 data=$3 control=$4 tmp
    tmp=$(mktemp -d "$work/pack.XXXX")
    # Directories get 0755 whatever the checkout's modes; files keep the mode set when staged.
    find "$data" "$control" -type d -exec chmod 0755 {} +
    (cd "$data" && repro_tar_gz "$epoch" "$tmp/data.tar.gz")
    # Installed-Size as ipkg-build computes it: the size of the uncompressed data tar.
    local size
    size=$(gzip -dc "$tmp/data.tar.gz" | wc -c)
    sed -i "s/^Installed-Size: .*/Installed-Size: $size/" "$control/control"
    (cd "$control" && repro_tar_gz "$epoch" "$tmp/control.tar.gz")
    echo "2.0" >"$tmp/debian-binary"
    touch -d "@$epoch" "$tmp/debian-binary" "$tmp/data.tar.gz" "$tmp/control.tar.gz"
    chmod 0644 "$tmp/debian-binary" "$tmp/data.tar.gz" "$tmp/control.tar.gz"
    local file="$out_dir/${name}_${version}_${arch}.ipk"
    (cd "$tmp" && repro_tar_gz "$epoch" "$file.tmp" ./debian-binary ./data.tar.gz ./control.tar.gz)
    mv -f "$file.tmp" "$file"
    printf '%-58s %9s bytes\n' "${file#"$PKG_ROOT"/}" "$(stat -c %s "$file")"
}

# control file fields in the order OpenWrt's package-pack.mk writes them.
write_control() {
    local file=$1 name=$2 arch=$3 depends=$4 source=$5 section=$6 description=$7 user=${8:-}
    local provides=${9:-} conflicts=${10:-} recommends=${11:-}
    {
        echo "Package: $name"
        echo "Version: $version"
        echo "Depends: $depends"
        [ -z "$recommends" ] || echo "Recommends: $recommends"
        [ -z "$conflicts" ] || echo "Conflicts: $conflicts"
        [ -z "$provides" ] || echo "Provides: $provides"
        echo "Source: $source"
        echo "SourceName: $name"
        echo "License: $PKG_LICENSE"
        echo "Section: $section"
        [ -z "$user" ] || echo "Require-User: $user"
        echo "SourceDateEpoch: $epoch"
        echo "Architecture: $arch"
        echo "Installed-Size: 0"
        echo "Description: $description"
    } >"$file"
    chmod 0644 "$file"
}

for t in "${triples[@]}"; do
    arch=$(openwrt_arch "$t")
    for v in "${variants[@]}"; do
        name=$(variant_package "$v")
        bin="dist/$t/$name"
        if ! grep -aqF "$rev" "$bin"; then
            echo "cross/ipk.sh: warning: $bin was not built from HEAD ($rev); run make cross to refresh it" >&2
        fi
        data="$work/$name-$arch/data" control="$work/$name-$arch/control"
        mkdir -p "$control"
        case "$v" in ml) stage_acs_edge_ml "$data" "$bin" ;; *) stage_acs_edge "$data" "$bin" ;; esac
        # The variants stand in for the base package (the LuCI app depends on `acs-edge`); all
        # install /usr/bin/acs-edge, so one replaces another: opkg remove, then install.
        case "$v" in
            default) write_control "$control/control" "$name" "$arch" "$ACS_EDGE_DEPENDS" openwrt utils \
                "$ACS_EDGE_DESCRIPTION" "$ACS_EDGE_USERID" "" "acs-edge-full, acs-edge-ml" \
                "$ACS_EDGE_RECOMMENDS_IPK" ;;
            full) write_control "$control/control" "$name" "$arch" "$ACS_EDGE_DEPENDS" openwrt utils \
                "$ACS_EDGE_FULL_DESCRIPTION" "$ACS_EDGE_USERID" acs-edge acs-edge-ml "$ACS_EDGE_RECOMMENDS_IPK" ;;
            ml) write_control "$control/control" "$name" "$arch" "$ACS_EDGE_DEPENDS" openwrt utils \
                "$ACS_EDGE_ML_DESCRIPTION" "$ACS_EDGE_USERID" acs-edge acs-edge-full "$ACS_EDGE_RECOMMENDS_IPK" ;;
        esac
        echo /etc/config/acs-edge >"$control/conffiles"
        chmod 0644 "$control/conffiles"
        write_default_postinst "$control/postinst"
        write_default_prerm "$control/prerm"
        pack "$name" "$arch" "$data" "$control"
    done
done

# The LuCI app: htdocs/ goes to /www, root/ to / (as OpenWrt's luci.mk installs them).
data="$work/luci/data" control="$work/luci/control"
mkdir -p "$control"
stage_luci "$data"
write_control "$control/control" luci-app-acs-edge all "$LUCI_DEPENDS" luci-app luci "$LUCI_DESCRIPTION"
write_default_postinst "$control/postinst"
write_default_prerm "$control/prerm"
# Run by default_postinst on a live system: drop LuCI's caches so the new menu entry shows,
# and make rpcd load the new ACL and plugin.
cat >"$control/postinst-pkg" <<'EOF'
#!/bin/sh
[ -n "${IPKG_INSTROOT}" ] || {
	rm -f /tmp/luci-indexcache /tmp/luci-indexcache.*
	rm -rf /tmp/luci-modulecache/
	/etc/init.d/rpcd reload 2>/dev/null
	exit 0
}
EOF
chmod 0755 "$control/postinst-pkg"
pack luci-app-acs-edge all "$data" "$control"
