#!/usr/bin/env bash
# Make sure a Docker engine answers (docs/lab.md: only the client is preinstalled). When none runs:
# install docker.io from Debian's packages if dockerd is missing, start dockerd in the background,
# and wait until `docker info` answers. Says clearly what is missing when it cannot.
set -euo pipefail
# shellcheck source=lab/apt-get.sh
. "$(dirname "$0")/apt-get.sh"

if docker info >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "lab/engine: no Docker engine answers and this is not root: start one (dockerd) or run as root" >&2
    exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "lab/engine: no dockerd and no apt-get: install a Docker engine by hand" >&2
        exit 1
    fi
    echo "lab/engine: installing docker.io (Debian package)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt_get update -q
    apt_get install -y -q docker.io
fi
if ! command -v docker >/dev/null 2>&1; then
    echo "lab/engine: docker client missing after install" >&2
    exit 1
fi
mkdir -p /var/log
echo "lab/engine: starting dockerd (log: /var/log/havip-dockerd.log)" >&2
# The engine outlives this run: it must not keep the caller's other descriptors open (a lock file
# held by `flock make test` would stay locked for as long as dockerd runs).
(
    for fd in "/proc/$BASHPID/fd"/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ]; then
            eval "exec $fd>&-"
        fi
    done
    exec setsid dockerd >/var/log/havip-dockerd.log 2>&1 < /dev/null
) &
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 0.5
done
echo "lab/engine: dockerd did not answer within 30 s; see /var/log/havip-dockerd.log:" >&2
tail -20 /var/log/havip-dockerd.log >&2
exit 1
