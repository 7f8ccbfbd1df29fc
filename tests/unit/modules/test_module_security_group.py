"""security_group_vrrp against the emulator when another client edits the group between the module's
read and its change: the policy set's Version refuses the stale change
(UnsupportedOperation.VersionMismatch), the module reads again and plans again, and the other
client's rules survive, wherever they moved (deletes are by content, not by PolicyIndex)."""
import pytest
from ansible_collections.havip.tencentcloud.plugins.modules import security_group_vrrp
from modules_support import REGION, SECRET_ID, SECRET_KEY
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import vpc_client

SG = "sg-lab00001"


def api(lab, action, **params):
    http = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{lab.port}", reqTimeout=10)
    client = vpc_client.VpcClient(credential.Credential(SECRET_ID, SECRET_KEY), REGION, ClientProfile(httpProfile=http))
    return client.call_json(action, params)["Response"]


def ingress(lab):
    return api(lab, "DescribeSecurityGroupPolicies", SecurityGroupId=SG)["SecurityGroupPolicySet"]["Ingress"]


@pytest.fixture
def intruder(lab, monkeypatch):
    """After the module's first ``n`` reads, another client inserts a rule at the top of the group."""
    real = security_group_vrrp.describe_policies
    state = {"reads": 0, "edits": 0, "every_read": False}

    def racing_read(module, sg_id):
        found = real(module, sg_id)
        state["reads"] += 1
        if state["reads"] == 1 or state["every_read"]:
            state["edits"] += 1
            api(lab, "CreateSecurityGroupPolicies", SecurityGroupId=SG, SecurityGroupPolicySet={"Ingress": [{
                "Protocol": "TCP", "Port": str(8000 + state["edits"]), "CidrBlock": "10.1.0.0/16",
                "Action": "ACCEPT", "PolicyIndex": 0, "PolicyDescription": "another team"}]})
        return found

    monkeypatch.setattr(security_group_vrrp, "describe_policies", racing_read)
    return state


def test_a_create_on_a_stale_version_is_planned_again(run, lab, intruder):
    result = run("security_group_vrrp", security_group_id=SG, peers=["172.16.16.5", "172.16.16.6"])
    assert result["changed"] and result["added"] == ["172.16.16.5/32", "172.16.16.6/32"]
    assert [c["outcome"] for c in result["calls"]] == ["UnsupportedOperation.VersionMismatch", "OK"]
    rules = ingress(lab)
    assert sorted(r["CidrBlock"] for r in rules if r["PolicyDescription"] == "havip-vrrp") == [
        "172.16.16.5/32", "172.16.16.6/32"]
    assert [r["Port"] for r in rules if r["PolicyDescription"] == "another team"] == ["8001"]


def test_a_delete_on_a_stale_version_removes_only_its_rule(run, lab, intruder):
    intruder["reads"] = 1  # no race while the rules are made
    run("security_group_vrrp", security_group_id=SG, peers=["172.16.16.5", "172.16.16.6"])
    intruder["reads"] = 0  # now the other client edits right after the module's first read
    result = run("security_group_vrrp", security_group_id=SG, state="absent", peers=["172.16.16.6"])
    assert result["changed"] and result["removed"] == ["172.16.16.6/32"]
    assert [c["outcome"] for c in result["calls"]] == ["UnsupportedOperation.VersionMismatch", "OK"]
    rules = ingress(lab)
    assert [r["CidrBlock"] for r in rules if r["PolicyDescription"] == "havip-vrrp"] == ["172.16.16.5/32"]
    assert [r["PolicyDescription"] for r in rules][:1] == ["another team"]  # it moved every index by one
    assert len(rules) == 5 + 1 + 1  # the world's five, the intruder's, the module's remaining one


def test_a_group_that_keeps_changing_fails_after_max_rounds(run, lab, intruder):
    intruder["every_read"] = True
    result = run("security_group_vrrp", security_group_id=SG, peers=["172.16.16.5"], max_rounds=2)
    assert result["failed"]
    assert "kept changing under this task" in result["msg"] and "max_rounds=2" in result["msg"]
    assert [c["outcome"] for c in result["calls"]] == ["UnsupportedOperation.VersionMismatch"] * 2
    assert not [r for r in ingress(lab) if r["PolicyDescription"] == "havip-vrrp"]


def test_an_idempotent_second_run_reads_twice(run, lab):
    """As tests/unit/modules/test_module_idempotent_calls.py counts it for the other modules."""
    options = {"security_group_id": SG, "peers": ["172.16.16.5", "172.16.16.6"]}
    assert run("security_group_vrrp", **options)["changed"]
    mark = lab.admin("/_lab/log")["last_seq"]
    again = run("security_group_vrrp", diff=True, **options)
    assert again["changed"] is False and again["calls"] == []
    assert again["diff"]["before"] == again["diff"]["after"]
    entries = lab.admin(f"/_lab/log?since={mark}")["entries"]
    assert [e["action"] for e in entries] == ["DescribeSecurityGroups", "DescribeSecurityGroupPolicies"]
