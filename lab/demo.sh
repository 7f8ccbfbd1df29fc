#!/usr/bin/env bash
# `make demo`: run the guide (site.yml) against the lab brought up by lab/lab.sh, then a failover
# drill (graceful stop of the master's Keepalived, R8), and print who is master and the outage.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
inventory=lab/inventory.yml
reports=build/drills/lab
mkdir -p "$reports"

echo "== site.yml against the lab (log: build/demo-site.log)"
ansible-playbook -i "$inventory" site.yml >build/demo-site.log 2>&1 \
    || { tail -30 build/demo-site.log >&2; echo "site.yml failed: see build/demo-site.log" >&2; exit 1; }
grep -A3 "PLAY RECAP" build/demo-site.log
master_line=$(grep -Eo "master: [a-z0-9-]+" build/demo-site.log | tail -1)

echo "== failover drill: graceful stop of Keepalived on the master (log: build/demo-drill.log)"
ansible-playbook -i "$inventory" playbooks/failover_drill.yml \
    -e drill_cluster_group=cluster -e drill_probe_host=havip-probe -e drill_vip=172.16.16.12 \
    -e drill_kind=stop -e "drill_report_dir=$top/$reports" >build/demo-drill.log 2>&1 \
    || { tail -30 build/demo-drill.log >&2; echo "drill failed: see build/demo-drill.log" >&2; exit 1; }

python3 - "$reports/stop.json" "$master_line" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"before the drill: {sys.argv[2]}")
print(f"after the drill:  master: {', '.join(report['holders_after'])} (VIP {report['vip']})")
print(f"measured outage:  {report['outage_s']} s (probe every 20 ms; VRRP bound {report['bound_s']} s"
      f" at advert_int {report['advert_int']})")
print(f"full report:      {sys.argv[1]}")
PY
