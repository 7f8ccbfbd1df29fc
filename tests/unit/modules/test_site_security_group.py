"""site.yml's optional security-group step (playbooks/cloud_security_group.yml, R4g), run by
ansible-playbook against the emulator (the real SDK over HTTP on loopback), with two clusters.

Clusters that set havip_security_group_id get one rule per node (ALL / ACCEPT / the node's /32) under
their own description; the group's other rules stay as they are; a rerun makes no mutating call; a
cluster without the variable makes no security-group call; a node without a private address stops
every cluster before the first call. site.yml runs the step between the HAVIP and the nodes.
"""


import test_site_clusters
import yaml
from modules_support import REGION, ROOT, SECRET_ID, SECRET_KEY
from test_site_clusters import INSTANCES, client, inventory

from tests.unit.playbook_runner import ansible_playbook

SG = "sg-lab00001"
vpc = test_site_clusters.vpc  # the fixture: the emulator with two clusters' CVMs


def security_step(lab, tmp_path, group_vars, host_vars=None):
    """cloud_security_group.yml for clusters web and db; group_vars/host_vars: {name: {var: value}}."""
    path = inventory(tmp_path, lab.port, {"web": 51, "db": 52})
    data = yaml.safe_load(path.read_text())
    for name, extra in group_vars.items():
        data["all"]["children"][name]["vars"].update(extra)
    for cluster in data["all"]["children"].values():
        for host, hvars in cluster["hosts"].items():
            hvars["havip_private_ip"] = INSTANCES[host][1]
            hvars.update((host_vars or {}).get(host, {}))
    path.write_text(yaml.safe_dump(data))
    return ansible_playbook(
        "--diff", "-i", path, ROOT / "playbooks" / "cloud_security_group.yml", "-e", "havip_clusters=web:db",
        env={"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
             "TENCENTCLOUD_REGION": REGION},
        secrets=(SECRET_KEY,), timeout=300,
    )


def ingress(lab):
    answer = client(lab).call_json("DescribeSecurityGroupPolicies", {"SecurityGroupId": SG})["Response"]
    return answer["SecurityGroupPolicySet"]["Ingress"]


def rules_of(lab, description):
    return sorted(r["CidrBlock"] for r in ingress(lab) if r["PolicyDescription"] == description)


def unrelated(lab):
    return [{k: v for k, v in r.items() if k != "PolicyIndex"} for r in ingress(lab)
            if not r["PolicyDescription"].startswith("havip-vrrp")]


def test_each_cluster_gets_its_nodes_rules_then_nothing_changes(vpc, tmp_path):
    before = unrelated(vpc)
    shared = {"havip_security_group_id": SG}
    proc = security_step(vpc, tmp_path, {"web": shared, "db": shared})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert rules_of(vpc, "havip-vrrp-web") == ["172.16.16.21/32", "172.16.16.22/32"]
    assert rules_of(vpc, "havip-vrrp-db") == ["172.16.16.31/32", "172.16.16.32/32"]
    assert {(r["Protocol"], r["Action"]) for r in ingress(vpc) if r["PolicyDescription"].startswith("havip-vrrp")} \
        == {("ALL", "ACCEPT")}
    assert unrelated(vpc) == before
    vpc.reset_calls()
    again = security_step(vpc, tmp_path, {"web": shared, "db": shared})
    assert again.returncode == 0, again.stdout[-4000:]
    assert vpc.calls()["mutating"] == 0
    assert "changed=0" in again.stdout.rsplit("PLAY RECAP", 1)[1]


def test_a_cluster_without_a_security_group_is_left_alone(vpc, tmp_path):
    vpc.reset_calls()
    proc = security_step(vpc, tmp_path, {"web": {"havip_security_group_id": SG}})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert rules_of(vpc, "havip-vrrp-web") == ["172.16.16.21/32", "172.16.16.22/32"]
    assert rules_of(vpc, "havip-vrrp-db") == []
    by_action = vpc.calls()["by_action"]
    assert by_action.get("CreateSecurityGroupPolicies") == 1  # web's only


def test_a_node_without_an_address_stops_every_cluster_before_any_call(vpc, tmp_path):
    vpc.reset_calls()
    proc = security_step(vpc, tmp_path, {"web": {"havip_security_group_id": SG}, "db": {"havip_security_group_id": SG}},
                         {"db2": {"havip_private_ip": "db2.example"}})
    assert proc.returncode != 0
    assert "Cluster db: havip_security_group_id" in proc.stdout
    assert "havip_private_ip or keepalived_unicast_src_ip" in proc.stdout
    assert vpc.calls()["mutating"] == 0
    assert rules_of(vpc, "havip-vrrp-web") == []


def test_site_runs_the_step_between_the_havip_and_the_nodes():
    plays = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    order = [p.get("ansible.builtin.import_playbook") or p["name"] for p in plays]
    assert order.index("cloud_havip.yml") < order.index("cloud_security_group.yml") < next(
        i for i, p in enumerate(plays) if p.get("hosts")) < order.index("cloud_bind.yml")
