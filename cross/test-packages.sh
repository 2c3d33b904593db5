#!/usr/bin/env bash
# cross/test-packages.sh [ARCH...]: unpacks the .ipk files that `make ipk` wrote to dist/ and
# checks them as opkg on OpenWrt 24.10 would see them, then rebuilds them and compares sha256
# (reproducible builds). ARCH: OpenWrt architectures or Rust triples / short names; default:
# every acs-edge_<version>_<arch>.ipk present (at least one is required) plus the LuCI app.
# Closing line: "test-packages: N passed, M failed".
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pkg-lib.sh"
cd "$PKG_ROOT"

version=$(pkg_version)
epoch=$(source_date_epoch)

archs=()
for a in "$@"; do
    case "$a" in
        mips | mipsel | armv7 | arm | aarch64 | arm64 | *-linux-*)
            case "$a" in mips) a=mips-unknown-linux-musl ;; mipsel) a=mipsel-unknown-linux-musl ;;
                armv7 | arm) a=armv7-unknown-linux-musleabihf ;; aarch64 | arm64) a=aarch64-unknown-linux-musl ;; esac
            a=$(openwrt_arch "$a") ;;
    esac
    archs+=("$a")
done
if [ ${#archs[@]} -eq 0 ]; then
    for f in dist/acs-edge_"${version}"_*.ipk; do
        [ -e "$f" ] || continue
        a=${f#dist/acs-edge_"${version}"_}
        archs+=("${a%.ipk}")
    done
fi
[ ${#archs[@]} -gt 0 ] || { echo "test-packages: no dist/acs-edge_${version}_*.ipk: run make ipk first" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Checks common to every package; leaves the unpacked trees in $work/<name>/{control,data}.
check_archive() {
    local ipk=$1 name=$2 arch=$3 dir="$work/$2-$3"
    mkdir -p "$dir/outer" "$dir/control" "$dir/data"
    expect "$name/$arch: file exists ($ipk)" test -s "$ipk" || return 1
    same "$name/$arch: outer archive is gzip" "$(file -b "$ipk" | cut -d, -f1)" "gzip compressed data"
    same "$name/$arch: outer members in ipkg-build order" "$(tar -tzf "$ipk" | tr '\n' ' ')" \
        "./debian-binary ./data.tar.gz ./control.tar.gz "
    tar -xzf "$ipk" -C "$dir/outer"
    same "$name/$arch: debian-binary" "$(cat "$dir/outer/debian-binary")" "2.0"
    tar -xzf "$dir/outer/control.tar.gz" -C "$dir/control"
    tar -xzf "$dir/outer/data.tar.gz" -C "$dir/data"
    local t bad_owner bad_time
    for t in "$ipk" "$dir/outer/control.tar.gz" "$dir/outer/data.tar.gz"; do
        bad_owner=$(tar --numeric-owner -tvzf "$t" | awk '$2 != "0/0"' | head -3)
        same "$name/$arch: owners 0/0 in $(basename "$t")" "$bad_owner" ""
        bad_time=$(tar --full-time --utc -tvzf "$t" | awk -v d="$(date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S')" \
            '($4 " " $5) != d' | head -3)
        same "$name/$arch: every mtime is SOURCE_DATE_EPOCH in $(basename "$t")" "$bad_time" ""
        # the outer archive keeps ipkg-build's member order (checked above)
        [ "$t" = "$ipk" ] || same "$name/$arch: names sorted in $(basename "$t")" \
            "$(tar -tzf "$t" | LC_ALL=C sort -c 2>&1 && echo sorted)" "sorted"
    done 2>/dev/null
    local c="$dir/control/control" field
    for field in Package Version Depends Source License Section Architecture Installed-Size Description; do
        expect "$name/$arch: control has $field" grep -q "^$field: ." "$c"
    done
    same "$name/$arch: Package" "$(sed -n 's/^Package: //p' "$c")" "$name"
    same "$name/$arch: Version" "$(sed -n 's/^Version: //p' "$c")" "$version"
    same "$name/$arch: Architecture" "$(sed -n 's/^Architecture: //p' "$c")" "$arch"
    same "$name/$arch: License" "$(sed -n 's/^License: //p' "$c")" "$PKG_LICENSE"
    same "$name/$arch: Installed-Size = uncompressed data tar" "$(sed -n 's/^Installed-Size: //p' "$c")" \
        "$(gzip -dc "$dir/outer/data.tar.gz" | wc -c)"
    same "$name/$arch: file name" "$(basename "$ipk")" "${name}_${version}_${arch}.ipk"
    local s
    for s in postinst prerm; do
        same "$name/$arch: $s mode" "$(stat -c %a "$dir/control/$s")" 755
        expect "$name/$arch: sh -n $s" sh -n "$dir/control/$s"
        expect "$name/$arch: $s calls default_$s" grep -q "^default_$s \$0 \$@$" "$dir/control/$s"
    done
    expect "$name/$arch: postinst honours IPKG_NO_SCRIPT" grep -q 'IPKG_NO_SCRIPT' "$dir/control/postinst"
    return 0
}

# The daemon package or its variant: check_daemon_package NAME ARCH
check_daemon_package() {
    local name=$1 arch=$2 d desc init pattern m models=""
    local ipk="dist/${name}_${version}_${arch}.ipk"
    check_archive "$ipk" "$name" "$arch" || return 0
    d="$work/$name-$arch"
    [ "$name" != acs-edge-ml ] || for m in $ML_MODELS; do models="$models .$ML_MODELS_DIR/$m"; done
    same "$name/$arch: data files" "$(cd "$d/data" && find . -type f | sort | tr '\n' ' ')" \
        "./etc/config/acs-edge ./etc/init.d/acs-edge ./etc/uci-defaults/90-acs-edge-store ./usr/bin/acs-edge$models "
    same "$name/$arch: conffiles" "$(cat "$d/control/conffiles")" "/etc/config/acs-edge"
    same "$name/$arch: Require-User" "$(sed -n 's/^Require-User: //p' "$d/control/control")" "$ACS_EDGE_USERID"
    same "$name/$arch: Section" "$(sed -n 's/^Section: //p' "$d/control/control")" utils
    same "$name/$arch: mode of /usr/bin/acs-edge" "$(stat -c %a "$d/data/usr/bin/acs-edge")" 755
    same "$name/$arch: mode of /etc/init.d/acs-edge" "$(stat -c %a "$d/data/etc/init.d/acs-edge")" 755
    same "$name/$arch: mode of /etc/config/acs-edge" "$(stat -c %a "$d/data/etc/config/acs-edge")" 600
    same "$name/$arch: mode of /etc/uci-defaults/90-acs-edge-store" \
        "$(stat -c %a "$d/data/etc/uci-defaults/90-acs-edge-store")" 755
    expect "$name/$arch: packaged uci-defaults = openwrt/files/acs-edge.defaults" \
        cmp "$d/data/etc/uci-defaults/90-acs-edge-store" openwrt/files/acs-edge.defaults
    expect "$name/$arch: packaged config = openwrt/files/acs-edge.config" \
        cmp "$d/data/etc/config/acs-edge" openwrt/files/acs-edge.config
    expect "$name/$arch: packaged init script = openwrt/files/acs-edge.init" \
        cmp "$d/data/etc/init.d/acs-edge" openwrt/files/acs-edge.init
    desc=$(file -b "$d/data/usr/bin/acs-edge")
    case "$desc" in "$(expected_file_type "$arch")"*) ok "$name/$arch: binary is $(expected_file_type "$arch")" ;;
        *) bad "$name/$arch: binary is '$desc', expected $(expected_file_type "$arch")" ;; esac
    case "$desc" in *"statically linked"* | *"static-pie linked"*) ok "$name/$arch: binary is static" ;;
        *) bad "$name/$arch: binary is not static: $desc" ;; esac
    init="$d/data/etc/init.d/acs-edge"
    expect "$name/$arch: sh -n init script" sh -n "$init"
    same "$name/$arch: init script runs under rc.common" "$(head -1 "$init")" "#!/bin/sh /etc/rc.common"
    for pattern in '^USE_PROCD=1$' '^START=[0-9]' '^STOP=[0-9]' 'procd_set_param respawn' \
        'procd_set_param stdout 1' 'procd_set_param stderr 1' 'procd_set_param file "\$CONFIG" "\$PROG"' \
        'procd_set_param user "\$user"' 'procd_add_reload_trigger "acs-edge"' '^reload_service()' \
        "procd_send_signal acs-edge '\*' HUP"; do
        expect "$name/$arch: init script has $pattern" grep -q "$pattern" "$init"
    done
    local conflicts
    case "$name" in
        acs-edge) conflicts="acs-edge-full, acs-edge-ml" ;;
        acs-edge-full) conflicts=acs-edge-ml ;;
        acs-edge-ml) conflicts=acs-edge-full ;;
    esac
    same "$name/$arch: Conflicts" "$(sed -n 's/^Conflicts: //p' "$d/control/control")" "$conflicts"
    same "$name/$arch: Recommends a local broker" "$(sed -n 's/^Recommends: //p' "$d/control/control")" \
        "$ACS_EDGE_RECOMMENDS_IPK"
    [ "$name" = acs-edge ] ||
        same "$name/$arch: Provides" "$(sed -n 's/^Provides: //p' "$d/control/control")" acs-edge
    for m in $models; do
        same "$name/$arch: mode of ${m#.}" "$(stat -c %a "$d/data${m#.}")" 644
        expect "$name/$arch: packaged ${m#.} = models/$(basename "$m")" cmp "$d/data${m#.}" "models/$(basename "$m")"
    done
    # The default config's commented model example names a model the package installs.
    [ -z "$models" ] || expect "$name/$arch: the config's model example points to a shipped model" \
        grep -qF "option path '$ML_MODELS_DIR/${ML_MODELS%% *}'" "$d/data/etc/config/acs-edge"
}

read -r -a variants <<<"${VARIANTS:-default full}"
for arch in "${archs[@]}"; do
    for v in "${variants[@]}"; do
        check_daemon_package "$(variant_package "$v")" "$arch"
    done
done

luci="dist/luci-app-acs-edge_${version}_all.ipk"
if check_archive "$luci" luci-app-acs-edge all; then
    d="$work/luci-app-acs-edge-all"
    same "luci-app-acs-edge: data files" "$(cd "$d/data" && find . -type f | sort | tr '\n' ' ')" \
        "./usr/libexec/rpcd/luci.acs-edge ./usr/share/luci/menu.d/luci-app-acs-edge.json ./usr/share/rpcd/acl.d/luci-app-acs-edge.json ./www/luci-static/resources/view/acs-edge/access.js ./www/luci-static/resources/view/acs-edge/settings.js ./www/luci-static/resources/view/acs-edge/status.js "
    same "luci-app-acs-edge: Section" "$(sed -n 's/^Section: //p' "$d/control/control")" luci
    expect "luci-app-acs-edge: depends on acs-edge and luci-base" \
        grep -q '^Depends: .*luci-base.*acs-edge' "$d/control/control"
    same "luci-app-acs-edge: rpcd plugin mode" "$(stat -c %a "$d/data/usr/libexec/rpcd/luci.acs-edge")" 755
    expect "luci-app-acs-edge: sh -n rpcd plugin" sh -n "$d/data/usr/libexec/rpcd/luci.acs-edge"
    expect "luci-app-acs-edge: sh -n postinst-pkg" sh -n "$d/control/postinst-pkg"
    for j in "$d"/data/usr/share/luci/menu.d/*.json "$d"/data/usr/share/rpcd/acl.d/*.json; do
        expect "luci-app-acs-edge: valid JSON $(basename "$j")" python3 -m json.tool "$j"
    done
    for f in $(cd "$d/data" && find www usr/share -type f); do
        same "luci-app-acs-edge: mode of /$f" "$(stat -c %a "$d/data/$f")" 644
    done
fi

# The SDK Makefile's version follows Cargo.toml.
same "openwrt/Makefile PKG_VERSION = Cargo.toml version" \
    "$(sed -n 's/^PKG_VERSION:=//p' openwrt/Makefile)-r$(sed -n 's/^PKG_RELEASE:=//p' openwrt/Makefile)" "$version"

# Reproducible: a second build of the same commit is byte-identical.
rebuild="$work/rebuild"
mkdir -p "$rebuild"
if IPK_OUT="$rebuild" cross/ipk.sh "${archs[@]}" >/dev/null 2>"$work/rebuild.err"; then
    for f in "$rebuild"/*.ipk; do
        same "reproducible: sha256 of $(basename "$f")" "$(sha256sum <"$f")" "$(sha256sum <"dist/$(basename "$f")")"
    done
else
    bad "rebuild for the reproducibility check: $(cat "$work/rebuild.err")"
fi

echo "test-packages: $passed passed, $failed failed"
[ "$failed" = 0 ]
