#!/usr/bin/env bash
# cross/test-apk.sh [ARCH...]: installs the .apk packages that `make apk` wrote to dist/apk/
# with the real apk-tools 3 into scratch roots and checks them as OpenWrt 25.12 would use them;
# then rebuilds them and compares sha256. ARCH: OpenWrt architectures or Rust triples / short
# names; default: every dist/apk/<arch>/acs-edge-<version>.apk present (at least one). VARIANTS
# as for cross/apk.sh. Closing line: "test-apk: N passed, M failed".
#
# Maintainer scripts run for real: apk chroots into the scratch root and executes them there,
# as on a router (IPKG_INSTROOT empty). The root holds the host's /bin/sh (with its libraries),
# a stand-in /lib/functions.sh that logs each call of add_group_and_user, default_postinst and
# default_prerm with what OpenWrt's real ones read (the package's .rusers and the init scripts
# in its .list), and a stand-in /etc/init.d/rpcd that logs its arguments. Dependencies
# (procd, ca-bundle, luci-base, ...) are empty stand-in packages built here, so apk's solver
# resolves the real depends lines. Needs root (apk chroots) and apk-tools 3 (see find_apk).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pkg-lib.sh"
cd "$PKG_ROOT"

APK=$(find_apk) || { echo "test-apk: 0 passed, 1 failed"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "test-apk: needs root (apk chroots into the scratch roots to run the scripts)" >&2; echo "test-apk: 0 passed, 1 failed"; exit 1; }
version=$(pkg_version)
version2=${version%-r*}-r$((PKG_RELEASE + 1))
epoch=$(source_date_epoch)
dist=dist/apk

archs=()
for a in "$@"; do
    case "$a" in *_*) ;; *) a=$(openwrt_arch "$(triple_of "$a")") ;; esac
    archs+=("$a")
done
if [ ${#archs[@]} -eq 0 ]; then
    for f in "$dist"/*/acs-edge-"$version".apk; do
        [ -e "$f" ] || continue
        a=${f#"$dist"/}
        archs+=("${a%%/*}")
    done
fi
[ ${#archs[@]} -gt 0 ] || { echo "test-apk: no $dist/*/acs-edge-$version.apk: run make apk first" >&2; exit 1; }
read -r -a variants <<<"${VARIANTS:-default full}"
luci="$dist/noarch/luci-app-acs-edge-$version.apk"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Empty packages standing in for OpenWrt's, so the solver sees every depends satisfied.
mkdir -p "$work/stand-in/files" "$work/stand-in/pkgs"
for n in procd ca-bundle luci-base rpcd uclient-fetch; do
    "$APK" mkpkg --info "name:$n" --info version:1-r1 --info arch:noarch --info description:stand-in \
        --files "$work/stand-in/files" --output "$work/stand-in/pkgs/$n.apk" || bad "stand-in package $n"
done
standins() { for n in "$@"; do echo "$work/stand-in/pkgs/$n.apk"; done; }

# A scratch root where apk can run the packages' scripts: new_root DIR ARCH
new_root() {
    local r=$1 arch=$2 lib
    mkdir -p "$r/bin" "$r/lib" "$r/etc/init.d" "$r/tmp" "$r/var/log"
    cp /bin/sh "$r/bin/sh"
    for lib in $(ldd /bin/sh | grep -o '/[^ ]*'); do mkdir -p "$r$(dirname "$lib")"; cp -L "$lib" "$r$lib"; done
    cat >"$r/lib/functions.sh" <<'EOF'
# Stand-in for OpenWrt's /lib/functions.sh: logs the calls (shell builtins only).
log() { echo "$APK_SCRIPT $pkgname upgrade=${PKG_UPGRADE:-0} root=$root $*" >>/var/log/pkg-scripts.log; }
init_scripts() {
	local f out=
	while read -r f; do case "$f" in /etc/init.d/*) out="$out $f" ;; esac; done <"$root/lib/apk/packages/$pkgname.list"
	echo "init=${out# }"
}
add_group_and_user() {
	local rusers=
	[ ! -f "$root/lib/apk/packages/$pkgname.rusers" ] || read -r rusers <"$root/lib/apk/packages/$pkgname.rusers"
	log "add_group_and_user rusers=$rusers"
}
default_postinst() { log "default_postinst $(init_scripts)"; }
default_prerm() { log "default_prerm $(init_scripts)"; }
EOF
    printf '#!/bin/sh\necho "rpcd $*" >>/var/log/pkg-scripts.log\n' >"$r/etc/init.d/rpcd"
    chmod 0755 "$r/etc/init.d/rpcd"
    "$APK" add --root "$r" --initdb --arch "$arch" --no-network --quiet >/dev/null 2>&1
}
apk_in() { local r=$1; shift; "$APK" --root "$r" --no-network --allow-untrusted "$@"; }
# query ROOT PACKAGE FIELD: one field of an installed package, as apk query prints it
query() { apk_in "$1" query --fields "$3" "$2" 2>/dev/null | sed -n "s/^[A-Za-z-]*: //p"; }
scripts_log() { cat "$1/var/log/pkg-scripts.log" 2>/dev/null; }
mode() { stat -c %a "$1" 2>/dev/null; }

# Metadata written into the package file: check_metadata FILE NAME ARCH DEPENDS PROVIDES [RECOMMENDS]
check_metadata() {
    local f=$1 name=$2 arch=$3 depends=$4 provides=$5 recommends=${6:-} dump field value
    dump=$("$APK" adbdump "$f" 2>&1) || { bad "$name/$arch: apk adbdump $f: $dump"; return 1; }
    for field in "name:$name" "version:$version" "arch:$arch" "license:$PKG_LICENSE" \
        "url:$PKG_URL" "maintainer:$PKG_MAINTAINER"; do
        value=$(echo "$dump" | sed -n "s/^  ${field%%:*}: //p")
        same "$name/$arch: info ${field%%:*}" "$value" "${field#*:}"
    done
    expect "$name/$arch: info description" grep -q '^  description: .' <<<"$dump"
    same "$name/$arch: info depends" "$(echo "$dump" | sed -n '/^  depends:/,/^[^ ]\|^  [a-z]/s/^    - //p' | sort | tr '\n' ' ')" \
        "$(echo "$depends" | tr -d ',' | tr ' ' '\n' | sort | tr '\n' ' ')"
    same "$name/$arch: info provides" "$(echo "$dump" | sed -n '/^  provides:/,/^[^ ]\|^  [a-z]/s/^    - //p')" "$provides"
    same "$name/$arch: info recommends" "$(echo "$dump" | sed -n '/^  recommends:/,/^[^ ]\|^  [a-z]/s/^    - //p')" "$recommends"
    same "$name/$arch: no build time (reproducible)" "$(echo "$dump" | grep -c '^  build-time:')" 0
    same "$name/$arch: every owner root" "$(echo "$dump" | grep -E '^ *(user|group): ' | grep -vc ': root$')" 0
    same "$name/$arch: every mtime SOURCE_DATE_EPOCH" "$(echo "$dump" | grep '^ *mtime: ' | grep -vc ": $epoch$")" 0
    same "$name/$arch: scripts" "$(echo "$dump" | sed -n '/^scripts:/,/^[a-z]/s/^  \([a-z-]*\): |$/\1/p' | sort | tr '\n' ' ')" \
        "post-install post-upgrade pre-deinstall "
    local s
    for s in post-install post-upgrade pre-deinstall; do
        echo "$dump" | sed -n "/^  $s: |$/,/^  [a-z-]*: |$\|^[#a-z]/{/^    /s/^    //p}" >"$work/$s"
        expect "$name/$arch: sh -n $s" sh -n "$work/$s"
    done
    expect "$name/$arch: post-install calls add_group_and_user, default_postinst" \
        grep -qF "export pkgname=\"$name\"|add_group_and_user|default_postinst|" <(tr '\n' '|' <"$work/post-install")
    expect "$name/$arch: post-upgrade sets PKG_UPGRADE=1" grep -qx 'export PKG_UPGRADE=1' "$work/post-upgrade"
    expect "$name/$arch: pre-deinstall calls default_prerm" grep -qx default_prerm "$work/pre-deinstall"
}

# The daemon package: metadata, install, edited-config upgrade, LuCI app beside it, removal;
# then the same without an edit. check_daemon NAME ARCH
check_daemon() {
    local name=$1 arch=$2 f="$dist/$2/$1-$version.apk" r="$work/root-$1-$2" provides="" p
    expect "$name/$arch: file exists ($f)" test -s "$f" || return 0
    [ "$name" = acs-edge ] || provides="acs-edge=$version"
    check_metadata "$f" "$name" "$arch" "$ACS_EDGE_DEPENDS" "$provides" "$ACS_EDGE_RECOMMENDS_APK"
    new_root "$r" "$arch"
    # shellcheck disable=SC2046
    expect "$name/$arch: apk add installs it" apk_in "$r" add $(standins procd ca-bundle) "$f"
    same "$name/$arch: installed version" "$(query "$r" "$name" version)" "$version"
    same "$name/$arch: installed origin" "$(query "$r" "$name" origin)" acs-edge
    # apk installs nothing for a recommendation (and its installed database does not keep it).
    same "$name/$arch: the recommended broker is not installed with it" \
        "$(query "$r" "$ACS_EDGE_RECOMMENDS_APK" name)" ""
    for p in "usr/bin/acs-edge 755" "etc/init.d/acs-edge 755" "etc/config/acs-edge 600" \
        "etc/uci-defaults/90-acs-edge-store 755" \
        "lib/apk/packages/$name.list 644" "lib/apk/packages/$name.rusers 644" \
        "lib/apk/packages/$name.conffiles 644" "lib/apk/packages/$name.conffiles_static 644"; do
        same "$name/$arch: /${p% *} mode" "$(mode "$r/${p% *}")" "${p#* }"
    done
    expect "$name/$arch: /usr/bin/acs-edge = dist binary" cmp "$r/usr/bin/acs-edge" "dist/$(triple_of "$arch")/$name"
    expect "$name/$arch: /etc/config/acs-edge = openwrt/files/acs-edge.config" \
        cmp "$r/etc/config/acs-edge" openwrt/files/acs-edge.config
    expect "$name/$arch: /etc/init.d/acs-edge = openwrt/files/acs-edge.init" \
        cmp "$r/etc/init.d/acs-edge" openwrt/files/acs-edge.init
    expect "$name/$arch: /etc/uci-defaults/90-acs-edge-store = openwrt/files/acs-edge.defaults" \
        cmp "$r/etc/uci-defaults/90-acs-edge-store" openwrt/files/acs-edge.defaults
    case "$(file -b "$r/usr/bin/acs-edge")" in "$(expected_file_type "$arch")"*) ok "$name/$arch: binary is $(expected_file_type "$arch")" ;;
        *) bad "$name/$arch: binary is $(file -b "$r/usr/bin/acs-edge")" ;; esac
    local models="" m
    [ "$name" != acs-edge-ml ] || for m in $ML_MODELS; do models="$models$ML_MODELS_DIR/$m "; done
    same "$name/$arch: .list" "$(tr '\n' ' ' <"$r/lib/apk/packages/$name.list")" \
        "/etc/config/acs-edge /etc/init.d/acs-edge /etc/uci-defaults/90-acs-edge-store /lib/apk/packages/$name.rusers /usr/bin/acs-edge $models"
    same "$name/$arch: .conffiles" "$(cat "$r/lib/apk/packages/$name.conffiles")" /etc/config/acs-edge
    same "$name/$arch: .conffiles_static" "$(cat "$r/lib/apk/packages/$name.conffiles_static")" \
        "/etc/config/acs-edge $(sha256sum <openwrt/files/acs-edge.config | cut -d' ' -f1)"
    same "$name/$arch: post-install ran default_postinst" "$(scripts_log "$r")" \
        "post-install $name upgrade=0 root= add_group_and_user rusers=$ACS_EDGE_USERID
post-install $name upgrade=0 root= default_postinst init=/etc/init.d/acs-edge"

    # An edited conffile survives an upgrade; apk writes the new default beside it.
    echo "# edited by test-apk" >>"$r/etc/config/acs-edge"
    cp "$r/etc/config/acs-edge" "$work/edited"
    : >"$r/var/log/pkg-scripts.log"
    expect "$name/$arch: apk add upgrades to $version2" apk_in "$r" add "$work/r2/$arch/$name-$version2.apk"
    same "$name/$arch: upgraded version" "$(query "$r" "$name" version)" "$version2"
    expect "$name/$arch: edited /etc/config/acs-edge kept" cmp "$r/etc/config/acs-edge" "$work/edited"
    same "$name/$arch: edited config keeps mode 600" "$(mode "$r/etc/config/acs-edge")" 600
    expect "$name/$arch: new default written as acs-edge.apk-new" \
        cmp "$r/etc/config/acs-edge.apk-new" openwrt/files/acs-edge.config
    same "$name/$arch: post-upgrade ran with PKG_UPGRADE=1" "$(scripts_log "$r")" \
        "post-upgrade $name upgrade=1 root= add_group_and_user rusers=$ACS_EDGE_USERID
post-upgrade $name upgrade=1 root= default_postinst init=/etc/init.d/acs-edge"

    # The LuCI app installs beside it (its acs-edge dependency met by this package).
    : >"$r/var/log/pkg-scripts.log"
    # shellcheck disable=SC2046
    expect "$name/$arch: apk add luci-app-acs-edge beside it" apk_in "$r" add $(standins luci-base rpcd uclient-fetch) "$luci"
    check_luci_files "$r" "$name/$arch"
    same "$name/$arch: luci post-install ran default_postinst, then reloaded rpcd" "$(scripts_log "$r")" \
        "post-install luci-app-acs-edge upgrade=0 root= add_group_and_user rusers=
post-install luci-app-acs-edge upgrade=0 root= default_postinst init=
rpcd reload"

    # Removal: the files go, apk keeps the edited conffile (removed only with --purge).
    : >"$r/var/log/pkg-scripts.log"
    expect "$name/$arch: apk del removes both" apk_in "$r" del luci-app-acs-edge "$name"
    same "$name/$arch: pre-deinstall ran default_prerm" "$(scripts_log "$r")" \
        "pre-deinstall luci-app-acs-edge upgrade=0 root= default_prerm init=
pre-deinstall $name upgrade=0 root= default_prerm init=/etc/init.d/acs-edge"
    same "$name/$arch: files left after apk del" \
        "$(cd "$r" && ls -d usr/bin/acs-edge etc/init.d/acs-edge lib/apk/packages/* www/luci-static/resources/view/acs-edge \
            usr/libexec/rpcd/luci.acs-edge etc/config/acs-edge* 2>/dev/null | tr '\n' ' ')" "etc/config/acs-edge "
    expect "$name/$arch: edited config kept by apk del" cmp "$r/etc/config/acs-edge" "$work/edited"
    # shellcheck disable=SC2046
    apk_in "$r" add --quiet $(standins procd ca-bundle) "$f" >/dev/null 2>&1
    expect "$name/$arch: apk del --purge removes the edited config too" apk_in "$r" del --purge "$name"
    expect "$name/$arch: no /etc/config/acs-edge after --purge" test ! -e "$r/etc/config/acs-edge"

    # Unedited: an upgrade replaces the config silently, apk del removes it.
    rm -rf "$r" && new_root "$r" "$arch"
    # shellcheck disable=SC2046
    apk_in "$r" add --quiet $(standins procd ca-bundle) "$f" >/dev/null 2>&1
    expect "$name/$arch: unedited: apk add upgrades" apk_in "$r" add "$work/r2/$arch/$name-$version2.apk"
    expect "$name/$arch: unedited: no .apk-new" test ! -e "$r/etc/config/acs-edge.apk-new"
    expect "$name/$arch: unedited: apk del" apk_in "$r" del "$name"
    expect "$name/$arch: unedited: apk del removes /etc/config/acs-edge" test ! -e "$r/etc/config/acs-edge"
    rm -rf "$r"
}

# check_luci_files ROOT LABEL
check_luci_files() {
    local r=$1 label=$2 f
    for f in www/luci-static/resources/view/acs-edge/settings.js www/luci-static/resources/view/acs-edge/status.js \
        usr/share/luci/menu.d/luci-app-acs-edge.json usr/share/rpcd/acl.d/luci-app-acs-edge.json; do
        same "$label: luci /$f mode" "$(mode "$r/$f")" 644
        expect "$label: luci /$f = luci-app/" cmp "$r/$f" "$(luci_source "$f")"
    done
    same "$label: luci rpcd plugin mode" "$(mode "$r/usr/libexec/rpcd/luci.acs-edge")" 755
}
luci_source() { case "$1" in www/*) echo "luci-app/htdocs/${1#www/}" ;; *) echo "luci-app/root/$1" ;; esac; }

# A variant replaces the base package only when asked to (docs/OPERATIONS.md): apk refuses
# both at once; after `apk del acs-edge` (kept while the LuCI app needs it) the variant takes
# its place and meets the LuCI app's dependency. check_variant_switch NAME ARCH
check_variant_switch() {
    local name=$1 arch=$2 r="$work/root-switch-$1-$2"
    new_root "$r" "$arch"
    # shellcheck disable=SC2046
    apk_in "$r" add --quiet $(standins procd ca-bundle luci-base rpcd uclient-fetch) \
        "$dist/$arch/acs-edge-$version.apk" "$luci" >/dev/null 2>&1
    expect "$name/$arch: apk refuses $name beside acs-edge" \
        sh -c '! "$@"' _ "$APK" --root "$r" --no-network --allow-untrusted add "$dist/$arch/$name-$version.apk"
    apk_in "$r" del --quiet acs-edge >/dev/null 2>&1
    expect "$name/$arch: after apk del acs-edge, $name replaces it" apk_in "$r" add "$dist/$arch/$name-$version.apk"
    same "$name/$arch: installed after the switch" \
        "$(apk_in "$r" query --installed --fields name '*acs-edge*' 2>/dev/null | sed -n 's/^Name: //p' | sort | tr '\n' ' ')" \
        "$name luci-app-acs-edge "
    expect "$name/$arch: /usr/bin/acs-edge is $name's" cmp "$r/usr/bin/acs-edge" "dist/$(triple_of "$arch")/$name"
    rm -rf "$r"
}

# The upgrade target: the same packages one release later.
if ! PKG_RELEASE=$((PKG_RELEASE + 1)) APK_OUT="$work/r2" cross/apk.sh "${archs[@]}" >/dev/null 2>"$work/r2.err"; then
    bad "build of the $version2 packages: $(cat "$work/r2.err")"
fi

expect "luci-app-acs-edge: file exists ($luci)" test -s "$luci" &&
    check_metadata "$luci" luci-app-acs-edge noarch "$LUCI_DEPENDS" ""
for arch in "${archs[@]}"; do
    for v in "${variants[@]}"; do
        name=$(variant_package "$v")
        check_daemon "$name" "$arch"
        [ "$v" = default ] || [ ! -e "$dist/$arch/acs-edge-$version.apk" ] || check_variant_switch "$name" "$arch"
    done
done

# Reproducible: a second build of the same commit is byte-identical.
if APK_OUT="$work/rebuild" cross/apk.sh "${archs[@]}" >/dev/null 2>"$work/rebuild.err"; then
    for f in "$work"/rebuild/*/*.apk; do
        rel=${f#"$work"/rebuild/}
        same "reproducible: sha256 of $rel" "$(sha256sum <"$f")" "$(sha256sum <"$dist/$rel")"
    done
else
    bad "rebuild for the reproducibility check: $(cat "$work/rebuild.err")"
fi

echo "test-apk: $passed passed, $failed failed"
[ "$failed" = 0 ]
