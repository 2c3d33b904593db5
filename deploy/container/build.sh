#!/usr/bin/env bash
# deploy/container/build.sh [BINARY]: builds the image `acs-edge` from the static binary
# BINARY (default: dist/x86_64-unknown-linux-musl/acs-edge, from
# `make cross TARGET=x86_64`). Tags: acs-edge:<version> and acs-edge:latest.
# Env: CONTAINER_TOOL (default: podman, else docker), IMAGE (default acs-edge), ARCH (the
# image's architecture, default the binary's: amd64 or arm64).
# Stages a small context (the binary, the starter config, an empty store directory) instead
# of sending the repository, and refuses a binary that is not static.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:-$root/dist/x86_64-unknown-linux-musl/acs-edge}
image=${IMAGE:-acs-edge}
tool=${CONTAINER_TOOL:-$(command -v podman || command -v docker || true)}
[ -n "$tool" ] || { echo "build.sh: no podman or docker (apt-get install podman)" >&2; exit 1; }
[ -x "$binary" ] || {
    echo "build.sh: no binary at $binary (make cross TARGET=x86_64)" >&2
    exit 1
}
desc=$(file -b "$binary")
case "$desc" in
    *"statically linked"* | *"static-pie linked"*) ;;
    *) echo "build.sh: $binary is not static ($desc): an empty image has no libc" >&2; exit 1 ;;
esac
case "$desc" in
    *x86-64*) arch=amd64 ;;
    *aarch64*) arch=arm64 ;;
    *) arch=${ARCH:?build.sh: set ARCH for $desc} ;;
esac
arch=${ARCH:-$arch}

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/etc/acs-edge" "$context/var/lib/acs-edge"
install -m 0755 "$binary" "$context/acs-edge"
install -m 0640 "$here/acs-edge.conf" "$context/etc/acs-edge/acs-edge.conf"
chmod 0750 "$context/etc/acs-edge" "$context/var/lib/acs-edge"
version=$("$binary" --version 2>/dev/null | awk '{print $2}') || version=
case "$(basename "$tool")" in
    podman | buildah) platform=(--format docker --arch "$arch") ;;
    *) platform=(--platform "linux/$arch") ;;
esac
"$tool" build "${platform[@]}" -f "$here/Containerfile" \
    -t "$image:latest" ${version:+-t "$image:$version"} "$context"
echo "build.sh: built $image:latest${version:+ ($image:$version)} for $arch from $binary"
