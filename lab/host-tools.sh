#!/usr/bin/env bash
# Tools the controller-side tests need from Debian's packages:
#   keepalived  its config test checks the rendered guide configuration in the unit tests, and the
#               VRRP agent's interop tests run it in network namespaces
#   ShellCheck  ansible-test sanity's shellcheck test (skipped with a warning when it is missing)
#   curl, xz    fetching upstream's Keepalived tarballs from Debian's source archive
#   nftables    the agent's hostile-conditions test lowers the TTL of unicast adverts on a path
# Installed without starting any service: a temporary policy-rc.d forbids service starts.
set -euo pipefail
# shellcheck source=lab/apt-get.sh
. "$(dirname "$0")/apt-get.sh"
missing=()
[ -x /usr/sbin/keepalived ] || missing+=(keepalived)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "lab/host-tools: ${missing[*]} missing and cannot be installed here (need root and apt-get)" >&2
    exit 1
fi
policy=/usr/sbin/policy-rc.d
created=
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    created=1
fi
trap '[ -n "$created" ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt_get update -q
apt_get install -y -q --no-install-recommends "${missing[@]}"
echo "lab/host-tools: installed ${missing[*]}" >&2
