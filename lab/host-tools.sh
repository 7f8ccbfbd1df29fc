#!/usr/bin/env bash
# Tools the controller-side tests need from Debian's packages: keepalived (its config test checks
# the rendered guide configuration in the unit tests). Installed without starting any service:
# a temporary policy-rc.d forbids service starts during the install.
set -euo pipefail
if command -v keepalived >/dev/null 2>&1 || [ -x /usr/sbin/keepalived ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "lab/host-tools: keepalived is missing and cannot be installed here (need root and apt-get)" >&2
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
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends keepalived >/dev/null
echo "lab/host-tools: installed $(/usr/sbin/keepalived --version 2>&1 | head -1)" >&2
