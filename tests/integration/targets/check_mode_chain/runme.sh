#!/usr/bin/env bash
# Issue 14: `--check --diff` chains on a fresh VPC. cloud_havip.yml then cloud_bind.yml (the cloud
# plays of site.yml) in check mode against the emulator: havip plans a HAVIP (placeholder id),
# eip plans an EIP (placeholder address), havip_eip accepts both as planned; the run passes, prints
# every planned change, makes zero mutating calls (the emulator's request log) and never looks a
# placeholder up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
config="$root/tests/integration/integration_config.yml"
lab=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["tencentcloud_lab_url"])' "$config")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/inventory.yml" <<YAML
cluster:
  hosts:
    node1: {havip_instance_id: ins-havip001}
    node2: {havip_instance_id: ins-havip002}
  vars:
    ansible_connection: local
    ansible_python_interpreter: "$(command -v python3)"
    ansible_become: false
    havip_vpc_id: vpc-lab00001
    havip_subnet_id: subnet-lab00001
    havip_name: integ-check-chain
    havip_eip_allocate: true
    havip_eip_name: integ-check-chain-eip
    keepalived_instances: [{name: VI_1, virtual_router_id: 77, advert_int: 1}]
YAML

mark=$(python3 -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/_lab/log"))["last_seq"])' "$lab")
# The credentials reach the modules through the environment, as AWX's credential type injects them.
eval "$(python3 - "$config" <<'PY'
import shlex, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
for var, key in (("TENCENTCLOUD_SECRET_ID", "tencentcloud_secret_id"), ("TENCENTCLOUD_SECRET_KEY", "tencentcloud_secret_key"),
                 ("TENCENTCLOUD_REGION", "tencentcloud_region"), ("TENCENTCLOUD_ENDPOINT", "tencentcloud_endpoint"),
                 ("TENCENTCLOUD_SCHEME", "tencentcloud_scheme")):
    print(f"export {var}={shlex.quote(str(c[key]))}")
PY
)"
ansible-playbook -i "$work/inventory.yml" havip.tencentcloud.cloud_havip havip.tencentcloud.cloud_bind \
    --check --diff | tee "$work/out.log"

python3 - "$lab" "$mark" "$work/out.log" <<'PY'
import json, re, sys, urllib.request
lab, mark, out = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
entries = json.load(urllib.request.urlopen(f"{lab}/_lab/log?since={mark}"))["entries"]
mutating = [e["action"] for e in entries if e["mutating"]]
assert entries, "the check run read nothing from the emulator"
assert mutating == [], f"mutating calls in check mode: {mutating}"
looked_up = [e["action"] for e in entries if "planned-" in json.dumps(e["params"])]
assert looked_up == [], f"placeholders looked up: {looked_up}"
for task in ("Ensure the HAVIP, floating only between the cluster's CVMs (R1)", "Allocate the EIP when none by its name exists (R6)",
             "Bind the EIP to the HAVIP (R6)"):
    block = out.split(f"TASK [{task}]", 1)[1].split("TASK [", 1)[0]
    assert re.search(r"^changed: \[node1", block, re.M), f"{task}: not reported as a planned change:\n{block}"
assert "planned-havip-integ-check-chain" in out and "planned-eip-integ-check-chain-eip" in out
print(f"check mode chained: {len(entries)} read calls, 0 mutating")
PY
