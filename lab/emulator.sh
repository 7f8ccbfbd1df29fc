#!/usr/bin/env bash
# The lab's Tencent Cloud VPC API emulator (lab/emulator), started and stopped by lab/lab.sh.
#   lab/emulator.sh start   start it on 127.0.0.1:8780 (state in build/lab/emulator.db), watching the
#                           lab bridge for gratuitous ARP (HAVIP learning), with the lab CVMs' MACs;
#                           writes build/lab/credentials.env (a fresh SecretKey per lab)
#   lab/emulator.sh stop | status
# Set HAVIP_SWITCH_DELAY (seconds) to reproduce the guide's "about 4 s" HAVIP switch, HAVIP_TASK_DELAY
# (seconds, default 1) for how long asynchronous tasks run (lab/demo.sh sets 3 through /_lab/config).
# Other labs (the Molecule cloud scenario) set HAVIP_EMULATOR_{PORT,NETWORK,WORLD,STATE,NODES}, and
# may bring their own TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
state=${HAVIP_EMULATOR_STATE:-$top/build/lab}
pidfile="$state/emulator.pid"
port=${HAVIP_EMULATOR_PORT:-8780}
network=${HAVIP_EMULATOR_NETWORK:-havip-lab}
world=${HAVIP_EMULATOR_WORLD:-lab/emulator/world.json}
# instance id:container name of the world's CVMs
nodes=${HAVIP_EMULATOR_NODES:-ins-havip001:havip-node1 ins-havip002:havip-node2}

running() { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
    mkdir -p "$state"
    chmod 0700 "$state"
    if running; then
        echo "emulator: already running (pid $(cat "$pidfile"))"
        return
    fi
    if [ ! -s "$state/keys.json" ]; then
        id=${TENCENTCLOUD_SECRET_ID:-AKIDhavipLab00000001}
        key=${TENCENTCLOUD_SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')}
        (umask 077 && printf '{"%s": "%s"}\n' "$id" "$key" > "$state/keys.json")
        (umask 077 && cat > "$state/credentials.env" <<ENV
TENCENTCLOUD_SECRET_ID=$id
TENCENTCLOUD_SECRET_KEY=$key
TENCENTCLOUD_REGION=ap-guangzhou
TENCENTCLOUD_ENDPOINT=127.0.0.1:$port
TENCENTCLOUD_SCHEME=http
ENV
)
    fi
    bridge="br-$(docker network inspect -f '{{.Id}}' "$network" | cut -c1-12)"
    cd "$top"
    setsid python3 -m lab.emulator --listen "127.0.0.1:$port" --world "$world" \
        --keys "$state/keys.json" --db "$state/emulator.db" --arp-interface "$bridge" \
        --switch-delay "${HAVIP_SWITCH_DELAY:-0}" --task-delay "${HAVIP_TASK_DELAY:-1}" >"$state/emulator.log" 2>&1 </dev/null &
    echo $! > "$pidfile"
    for _ in $(seq 1 50); do
        curl -fsS "http://127.0.0.1:$port/_lab/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    running || { cat "$state/emulator.log" >&2; echo "emulator: failed to start" >&2; exit 1; }
    # The CVMs of the world file are the lab's node containers: give the emulator their MACs.
    # shellcheck disable=SC2086 # a list of words
    macs=$(for pair in $nodes; do
        mac=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$network\").MacAddress}}" "${pair#*:}")
        printf '{"InstanceId": "%s", "MacAddress": "%s"}\n' "${pair%%:*}" "$mac"
    done | python3 -c 'import json, sys; print(json.dumps([json.loads(l) for l in sys.stdin]))')
    curl -fsS -X POST -H 'Content-Type: application/json' -d "$macs" "http://127.0.0.1:$port/_lab/instances" >/dev/null
    echo "emulator: http://127.0.0.1:$port (pid $(cat "$pidfile")), watching $bridge; credentials in $state/credentials.env"
}

stop() {
    if running; then
        kill "$(cat "$pidfile")"
        rm -f "$pidfile"
        echo "emulator: stopped"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) if running; then echo "emulator: running (pid $(cat "$pidfile"))"; else echo "emulator: stopped"; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
