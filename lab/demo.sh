#!/usr/bin/env bash
# `make demo`: the whole guide (site.yml: HAVIP, Keepalived on both nodes, HAVIP bound to the
# master, EIP) against the lab brought up by lab/lab.sh (two CVM containers, a probe, the VPC API
# emulator), then a failover drill (graceful stop of the master's Keepalived, R8). Prints the
# master and the HAVIP binding before and after, the EIP, and the measured outage.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
inventory=lab/inventory.yml
reports=build/drills/lab
mkdir -p "$reports"
# The emulator's credentials for this lab (lab/emulator.sh): what TENCENTCLOUD_* would be on AWX.
set -a
# shellcheck source=/dev/null
. build/lab/credentials.env
set +a
# Asynchronous tasks (DeleteHaVip, EIP bind/unbind, AllocateAddresses...) as slow as on Tencent Cloud
# (a few seconds), so that the demo shows the modules waiting for them.
curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"task_delay\": ${HAVIP_TASK_DELAY:-3}}" \
    "http://$TENCENTCLOUD_ENDPOINT/_lab/config" >/dev/null

echo "== site.yml against the lab (log: build/demo-site.log)"
ansible-playbook -i "$inventory" site.yml >build/demo-site.log 2>&1 \
    || { tail -30 build/demo-site.log >&2; echo "site.yml failed: see build/demo-site.log" >&2; exit 1; }
grep -A3 "PLAY RECAP" build/demo-site.log
# The summary lines: debug messages, alone ("cluster X: master Y") or in a list (HAVIP, EIP).
grep -E '"(msg": ")?(cluster |EIP: )' build/demo-site.log | sed 's/^ *"\(msg": "\)\?/  /; s/",\?$//' || true

echo "== failover drill: graceful stop of Keepalived on the master (log: build/demo-drill.log)"
ansible-playbook -i "$inventory" playbooks/failover_drill.yml \
    -e drill_cluster_group=cluster -e drill_probe_host=havip-probe -e drill_vip=172.16.16.12 \
    -e drill_kind=stop -e "drill_report_dir=$top/$reports" >build/demo-drill.log 2>&1 \
    || { tail -30 build/demo-drill.log >&2; echo "drill failed: see build/demo-drill.log" >&2; exit 1; }

python3 - "$reports/stop.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
before, after = r.get("havip_before") or {}, r.get("havip_after") or {}
print(f"master before the drill: {r['master_before']}   HAVIP {before.get('id', '-')} bound to "
      f"{before.get('instance_id', '-')} ({before.get('network_interface_id', '-')}), EIP {before.get('address_ip') or '-'}")
print(f"master after the drill:  {', '.join(r['holders_after'])}   HAVIP bound to {after.get('instance_id', '-')} "
      f"({after.get('network_interface_id', '-')}), EIP {after.get('address_ip') or '-'}")
print(f"measured outage: {r['outage_s']} s (probe every 20 ms inside the subnet; VRRP bound {r['bound_s']} s "
      f"at advert_int {r['advert_int']})")
print(f"full report: {sys.argv[1]}")
PY
