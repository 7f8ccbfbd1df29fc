#!/usr/bin/env bash
# Build the lab's base image (Debian bookworm + systemd + python3) offline from Debian's packages:
# debootstrap into a folder, then `docker import`. The tag is a hash of this recipe, so the image is
# built once and reused by every later run (docs/lab.md: no registry is reachable).
# Prints the image reference on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
repo=${LAB_IMAGE_REPO:-havip-lab/node}
hash=$(cat "$here/build.sh" "$here/packages.txt" | sha256sum | cut -c1-12)
image="$repo:$hash"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
fi

# The mirror this machine already uses (debian.sources or sources.list), else Debian's default.
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

if ! command -v debootstrap >/dev/null; then
    echo "lab/image: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2
fi

root=$(mktemp -d /var/tmp/havip-lab-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
include=$(grep -v '^#' "$here/packages.txt" | grep -v '^$' | paste -sd, -)
echo "lab/image: debootstrap $suite from $mirror (packages: $include)" >&2
debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"

# Container tweaks: no consoles or hardware units under systemd-in-docker; apt sources with updates.
cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
SRC
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-modules-load.service sys-kernel-debug.mount sys-kernel-tracing.mount \
    systemd-remount-fs.service systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
: >"$root/etc/machine-id"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

tar -C "$root" -c . | docker import \
    -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' \
    -m "havip lab base image, recipe $hash" - "$image" >&2
docker tag "$image" "$repo:latest" >&2
echo "$image"
