"""Several clusters in one run of the collection's cloud step (playbooks/cloud_havip.yml, R1, R4d).

One inventory group per cluster; the run ensures one HAVIP per cluster with its own drift range
and its VRIDs as a tag. A VRID shared by two clusters of the inventory, or recorded (tag
havip:vrid) on another HAVIP of the VPC, stops every cluster before the first mutating API call.
The emulator (lab/emulator) answers the real SDK over HTTP on loopback.
"""

import json
import sys

import pytest
import yaml
from modules_support import (
    KEYS,
    REGION,
    ROOT,
    SECRET_ID,
    SECRET_KEY,
    SUBNET,
    VPC,
    Lab,
    build,
    serve_in_thread,
)
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import vpc_client

from tests.unit.playbook_runner import ansible_playbook

INSTANCES = {"web1": ("ins-web00001", "172.16.16.21"), "web2": ("ins-web00002", "172.16.16.22"),
             "db1": ("ins-db000001", "172.16.16.31"), "db2": ("ins-db000002", "172.16.16.32")}


@pytest.fixture
def vpc(tmp_path):
    """The lab's VPC with four CVMs in one subnet: two clusters' worth."""
    world = json.loads((ROOT / "lab" / "emulator" / "world.json").read_text())
    world["instances"] = [
        {"InstanceId": ins, "NetworkInterfaceId": ins.replace("ins-", "eni-"), "SubnetId": SUBNET,
         "PrivateIpAddress": ip, "MacAddress": "02:42:ac:10:10:{:02x}".format(int(ip.rsplit(".", 1)[1]))}
        for ins, ip in INSTANCES.values()
    ]
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world))
    server = build(str(path), KEYS, task_delay=0.05, listen=("127.0.0.1", 0))
    serve_in_thread(server)
    yield Lab(server)
    server.shutdown()
    server.server_close()


def inventory(tmp_path, port, vrids):
    """Groups web and db, each a cluster with its own VRID (vrids = {'web': 51, 'db': 52})."""
    def cluster(name):
        return {
            "hosts": {h: {"havip_instance_id": INSTANCES[h][0]} for h in INSTANCES if h.startswith(name)},
            "vars": {
                "keepalived_cluster_group": name, "havip_vpc_id": VPC, "havip_subnet_id": SUBNET,
                "havip_api_endpoint": f"127.0.0.1:{port}", "havip_api_scheme": "http",
                "keepalived_instances": [{"name": "VI_1", "virtual_router_id": vrids[name], "auth_pass": "p4ss",
                                          "virtual_ipaddresses": ["{{ havip_vip }}"]}],
            },
        }
    data = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                    "children": {"web": cluster("web"), "db": cluster("db")}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def cloud_step(lab, tmp_path, vrids, *extra):
    return ansible_playbook(
        "-vvv", "--diff", "-i", inventory(tmp_path, lab.port, vrids), ROOT / "playbooks" / "cloud_havip.yml",
        "-e", "havip_clusters=web:db", *extra,
        env={"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
             "TENCENTCLOUD_REGION": REGION},
        secrets=(SECRET_KEY, "p4ss"), timeout=300,
    )


def client(lab):
    http = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{lab.port}", reqTimeout=10)
    return vpc_client.VpcClient(credential.Credential(SECRET_ID, SECRET_KEY), REGION, ClientProfile(httpProfile=http))


def havips(lab):
    """The VPC's HAVIPs by name, as the API describes them."""
    return {h["HaVipName"]: h for h in client(lab).call_json("DescribeHaVips", {})["Response"]["HaVipSet"]}


def test_two_clusters_get_one_havip_each_then_nothing_changes(vpc, tmp_path):
    proc = cloud_step(vpc, tmp_path, {"web": 51, "db": 52})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    found = havips(vpc)
    assert sorted(found) == ["havip-db", "havip-web"]
    for name, vrid, members in (("web", "51", ["web1", "web2"]), ("db", "52", ["db1", "db2"])):
        tags = {t["Key"]: t["Value"] for t in found[f"havip-{name}"].get("TagSet") or []}
        assert tags == {"havip:vrid": vrid, "havip:cluster": name}, found[f"havip-{name}"]
        # The drift range is the cluster's own CVMs (R1): a HAVIP never floats to the other cluster.
        drift = sorted(a["InstanceId"] for a in found[f"havip-{name}"]["HaVipAssociationSet"])
        assert drift == sorted(INSTANCES[m][0] for m in members)
    vpc.reset_calls()
    again = cloud_step(vpc, tmp_path, {"web": 51, "db": 52})
    assert again.returncode == 0, again.stdout[-4000:]
    assert vpc.calls()["mutating"] == 0
    assert "changed=0" in again.stdout.rsplit("PLAY RECAP", 1)[1]


def test_a_vrid_shared_by_two_clusters_of_the_inventory_stops_both(vpc, tmp_path):
    vpc.reset_calls()
    proc = cloud_step(vpc, tmp_path, {"web": 51, "db": 51})
    assert proc.returncode != 0
    assert ("cluster db: keepalived_instances[VI_1].virtual_router_id=51: already used by cluster group 'web'"
            in proc.stdout), proc.stdout[-3000:]
    assert "(R4d)" in proc.stdout
    assert vpc.calls()["total"] == 0  # stopped on the controller before any API call
    assert havips(vpc) == {}


def test_a_vrid_tagged_on_another_havip_of_the_vpc_stops_every_cluster(vpc, tmp_path):
    legacy = client(vpc).call_json("CreateHaVip", {
        "VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "havip-legacy",
        "Tags": [{"Key": "havip:vrid", "Value": "60,52"}]})
    assert legacy["Response"]["HaVip"]["HaVipId"]
    vpc.reset_calls()
    proc = cloud_step(vpc, tmp_path, {"web": 51, "db": 52})
    assert proc.returncode != 0
    assert (f"cluster db: keepalived_instances[VI_1].virtual_router_id=52: already used by HAVIP 'havip-legacy' of "
            f"{VPC} (tag havip:vrid)" in proc.stdout), proc.stdout[-3000:]
    assert "(R4d)" in proc.stdout
    assert vpc.calls()["mutating"] == 0  # web's HAVIP was not created either
    assert sorted(havips(vpc)) == ["havip-legacy"]


def test_bad_cloud_variables_are_named_one_by_one_before_any_api_call(vpc, tmp_path):
    """R1: each broken cloud variable gets its own message (variable, value, rule) from the
    collection's filter (havip_cloud_errors), and nothing reaches the API."""
    vpc.reset_calls()
    proc = cloud_step(vpc, tmp_path, {"web": 51, "db": 52}, "-e", "havip_subnet_id=sub-1", "-e",
                      "havip_address=172.16.16.300", "-e", "havip_instance_id=i-123")
    assert proc.returncode != 0
    for expected in (
        "cluster web: havip_subnet_id='sub-1': must be a subnet id, subnet-... (R1)",
        "cluster web: havip_address='172.16.16.300': is not an IPv4 address (a.b.c.d); empty for an automatic "
        "address (R1)",
        "cluster web: web1: havip_instance_id='i-123': must be the CVM's instance id, ins-... (R1)",
        "cluster web: web2: havip_instance_id='i-123'",
    ):
        assert expected in proc.stdout, proc.stdout[-3000:]
    assert "havip_vpc_id=" not in proc.stdout  # a good value is not reported
    assert vpc.calls()["total"] == 0
