#!/usr/bin/env bash
# The local lab: two CVM-like systemd containers (the guide's HAVIP-01 172.16.16.5 and HAVIP-02
# 172.16.16.6) and a probe container (172.16.16.100) on a Docker bridge that plays the VPC subnet
# 172.16.16.0/24 (HAVIP 172.16.16.12), and the VPC API emulator on 127.0.0.1:8780 (lab/emulator.sh),
# which learns the HAVIP's binding from the nodes' gratuitous ARP on the lab bridge. Everything
# Docker runs carries the label havip-lab=1.
#   lab/lab.sh up      create what is missing (reuses what is up) and install the lab services
#   lab/lab.sh down    remove the containers and the network
#   lab/lab.sh status  list what runs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
network=havip-lab
subnet=172.16.16.0/24
gateway=172.16.16.1
label=havip-lab=1
declare -A addresses=([havip-node1]=172.16.16.5 [havip-node2]=172.16.16.6 [havip-probe]=172.16.16.100)

up() {
    "$here/engine.sh"
    local image
    image=${HAVIP_LAB_IMAGE:-$("$here/image/build.sh")}
    if ! docker network inspect "$network" >/dev/null 2>&1; then
        docker network create --label "$label" --subnet "$subnet" --gateway "$gateway" "$network" >/dev/null
    fi
    for name in havip-node1 havip-node2 havip-probe; do
        if docker container inspect "$name" >/dev/null 2>&1; then
            docker start "$name" >/dev/null
            continue
        fi
        # systemd as PID 1 without --privileged (docs/lab.md): only the capabilities VRRP needs.
        docker run -d --name "$name" --hostname "$name" --label "$label" \
            --network "$network" --ip "${addresses[$name]}" \
            --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add NET_RAW \
            --security-opt seccomp=unconfined --cgroupns=host \
            -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
            "$image" /sbin/init >/dev/null
    done
    for name in havip-node1 havip-node2 havip-probe; do
        for _ in $(seq 1 60); do
            state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
            case "$state" in running|degraded) break ;; esac
            sleep 0.5
        done
    done
    ansible-playbook -i "$here/inventory.yml" "$here/playbooks/prepare.yml" >/dev/null
    "$here/emulator.sh" start
    status
}

down() {
    "$here/emulator.sh" stop
    rm -f "$here/../build/lab/emulator.db"
    docker ps -aq --filter "label=$label" | xargs -r docker rm -f >/dev/null
    docker network ls -q --filter "label=$label" | xargs -r docker network rm >/dev/null
    echo "lab: down"
}

status() {
    docker ps --filter "label=$label" --format 'lab: {{.Names}} {{.Status}}'
    "$here/emulator.sh" status
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
