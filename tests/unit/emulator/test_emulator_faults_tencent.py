"""Tencent's own failure modes, injected or produced for real, through the real SDK (issue 14):
InternalError.ModuleError, the "task running" codes, answers lost after the action ran (an error or a
dropped connection / timeout) for every mutating action, and the per-action request rate limit."""
import time
import urllib.error

import pytest
from emulator_support import SUBNET, VPC, allocate, outcome, unlimited, wait_vpc_task
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from lab.emulator.actions import MUTATING
from lab.emulator.faults import RateLimiter


def wait_until(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def havip(api, name="ha", **extra):
    return api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName=name, **extra)["HaVip"]


def test_module_error_only_where_documented(lab, api):
    lab.admin("/_lab/faults", {"module_error": 2})
    # CreateHaVip does not document InternalError.ModuleError: the counted fault passes it by.
    assert outcome(lambda: havip(api)) == "OK"
    assert outcome(lambda: api("DescribeHaVips")) == "InternalError.ModuleError"
    assert outcome(lambda: api("DescribeVpcTaskResult", TaskId="00000000-0000-0000-0000-000000000000")) == \
        "InternalError.ModuleError"
    assert outcome(lambda: api("DescribeHaVips")) == "OK"
    assert lab.admin("/_lab/calls")["faults"] == {"InternalError.ModuleError": 2}
    for spec in ({"module_error": 1, "actions": ["CreateHaVip"]},
                 {"per_action": {"AllocateAddresses": {"module_error_rate": 1.0}}},
                 {"mutex": 1, "actions": ["DescribeHaVips"]}):
        with pytest.raises(urllib.error.HTTPError) as info:
            lab.admin("/_lab/faults", spec)
        assert info.value.code == 400


def test_injected_mutex_uses_each_actions_documented_code_and_changes_nothing(lab, api):
    hid = havip(api)["HaVipId"]
    [eip] = allocate(api)
    lab.admin("/_lab/faults", {"mutex": 1, "actions": ["HaVipAssociateAddressIp"]})
    assert outcome(lambda: api("HaVipAssociateAddressIp", HaVipId=hid, AddressIp=eip["AddressIp"])) == \
        "UnsupportedOperation.MutexOperationTaskRunning"
    assert api("DescribeAddresses", AddressIds=[eip["AddressId"]])["AddressSet"][0]["AddressStatus"] == "UNBIND"
    lab.admin("/_lab/faults", {"per_action": {"ReleaseAddresses": {"mutex_rate": 1.0}}})
    assert outcome(lambda: api("ReleaseAddresses", AddressIds=[eip["AddressId"]])) == "OperationDenied.MutexTaskRunning"
    assert api("DescribeAddresses", AddressIds=[eip["AddressId"]])["TotalCount"] == 1


def _setup(api, action):
    """(parameters of a valid call of ``action``, check that its effect happened)."""
    hid = havip(api, "target", Vip="172.16.16.20")["HaVipId"]
    [eip] = allocate(api)

    def address():
        return api("DescribeAddresses", AddressIds=[eip["AddressId"]])["AddressSet"]

    def target():
        return api("DescribeHaVips", HaVipIds=[hid])["HaVipSet"]

    if action in ("HaVipDisassociateAddressIp", "DisassociateHaVipInstance"):
        wait_vpc_task(api, api("HaVipAssociateAddressIp", HaVipId=hid, AddressIp=eip["AddressIp"])["RequestId"])
        api("AssociateHaVipInstance", HaVipAssociationSet=[{"HaVipId": hid, "InstanceId": "ins-havip001"}])
    one = [{"HaVipId": hid, "InstanceId": "ins-havip002"}]
    vrrp = {"Protocol": "ALL", "CidrBlock": "172.16.16.6/32", "Action": "ACCEPT"}
    rule = {"SecurityGroupId": "sg-lab00001", "SecurityGroupPolicySet": {"Ingress": [vrrp]}}

    def vrrp_rules():
        listed = api("DescribeSecurityGroupPolicies", SecurityGroupId="sg-lab00001")["SecurityGroupPolicySet"]
        return [p for p in listed["Ingress"] if p["CidrBlock"] == vrrp["CidrBlock"]]

    if action == "DeleteSecurityGroupPolicies":
        api("CreateSecurityGroupPolicies", **rule)
    return {
        "CreateHaVip": ({"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "made"},
                        lambda: api("DescribeHaVips", Filters=[{"Name": "havip-name", "Values": ["made"]}])[
                            "TotalCount"] == 1),
        "ModifyHaVipAttribute": ({"HaVipId": hid, "HaVipName": "renamed"},
                                 lambda: target()[0]["HaVipName"] == "renamed"),
        "AssociateHaVipInstance": ({"HaVipAssociationSet": one},
                                   lambda: len(target()[0]["HaVipAssociationSet"]) == 1),
        "DisassociateHaVipInstance": ({"HaVipAssociationSet": [{"HaVipId": hid, "InstanceId": "ins-havip001"}]},
                                      lambda: target()[0]["HaVipAssociationSet"] == []),
        "HaVipAssociateAddressIp": ({"HaVipId": hid, "AddressIp": eip["AddressIp"]},
                                    lambda: address()[0]["AddressStatus"] in ("BINDING", "BIND")),
        "HaVipDisassociateAddressIp": ({"HaVipId": hid},
                                       lambda: address()[0]["AddressStatus"] in ("UNBINDING", "UNBIND")),
        "AllocateAddresses": ({}, lambda: api("DescribeAddresses")["TotalCount"] == 2),
        "ReleaseAddresses": ({"AddressIds": [eip["AddressId"]]},
                             lambda: [a["AddressStatus"] for a in address()] in ([], ["OFFLINING"])),
        "ModifyAddressAttribute": ({"AddressId": eip["AddressId"], "AddressName": "named"},
                                   lambda: address()[0]["AddressName"] == "named"),
        # Asynchronous: its effect shows once its task completes.
        "ModifyAddressesBandwidth": ({"AddressIds": [eip["AddressId"]], "InternetMaxBandwidthOut": 7},
                                     lambda: wait_until(lambda: address()[0]["Bandwidth"] == 7)),
        "CreateSecurityGroupPolicies": (rule, lambda: len(vrrp_rules()) == 1),
        "DeleteSecurityGroupPolicies": (rule, lambda: vrrp_rules() == []),
    }[action]


@pytest.mark.parametrize("how", ["lost", "drop"])
@pytest.mark.parametrize("action", sorted(MUTATING - {"DeleteHaVip"}))
def test_an_answer_lost_after_the_action_ran(lab, api, action, how):
    """Every mutating action runs, then its answer is lost: an InternalError, or a closed connection."""
    unlimited(lab)
    params, happened = _setup(api, action)
    lab.admin("/_lab/faults", {how: 1, "actions": [action]})
    got = outcome(lambda: api(action, **params))
    assert got == ("InternalError" if how == "lost" else "ClientNetworkError")
    assert happened()
    entry = lab.admin(f"/_lab/log?action={action}")["entries"][-1]
    assert (entry["fault"], entry["outcome"]) == (how, "InternalError" if how == "lost" else "dropped")


@pytest.mark.parametrize("how", ["lost", "drop"])
def test_delete_havip_lost_answer_leaves_a_running_deletion(lab, api, how):
    lab.admin("/_lab/config", {"task_delay": 1.0})
    hid = havip(api)["HaVipId"]
    lab.admin("/_lab/faults", {how: 1, "actions": ["DeleteHaVip"]})
    assert outcome(lambda: api("DeleteHaVip", HaVipId=hid)) in ("InternalError", "ClientNetworkError")
    # The deletion runs: a retry is refused while it does, the HAVIP then disappears.
    assert outcome(lambda: api("DeleteHaVip", HaVipId=hid)) == "UnsupportedOperation"
    entry = lab.admin("/_lab/log?action=DeleteHaVip")["entries"][0]
    assert wait_vpc_task(api, entry["request_id"])[-1] == "SUCCESS"
    assert api("DescribeHaVips", HaVipIds=[hid])["TotalCount"] == 0


def test_drop_after_a_delay_is_a_client_timeout(lab):
    client = lab.client(timeout=1)
    lab.admin("/_lab/faults", {"drop": 1, "drop_after": 2.0, "actions": ["CreateHaVip"]})
    with pytest.raises(TencentCloudSDKException) as info:
        client.call_json("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "slow"})
    assert info.value.code == "ClientNetworkError" and "timed out" in info.value.message.lower()
    assert lab.client().call_json("DescribeHaVips", {})["Response"]["TotalCount"] == 1


def test_rate_limit_per_action_and_secret_id(lab, api):
    lab.admin("/_lab/config", {"rate_limits": {"DescribeVpcs": 5}})
    codes = [outcome(lambda: api("DescribeVpcs")) for _n in range(40)]
    assert "RequestLimitExceeded" in codes and codes[:5] == ["OK"] * 5
    assert outcome(lambda: api("DescribeSubnets")) == "OK"  # another action has its own budget
    assert lab.admin("/_lab/calls")["faults"]["rate_limit"] == codes.count("RequestLimitExceeded")
    log = lab.admin("/_lab/log?action=DescribeVpcs")["entries"]
    assert [e["outcome"] for e in log] == codes
    with pytest.raises(urllib.error.HTTPError):
        lab.admin("/_lab/config", {"rate_limits": {"DescribeVpcs": -1}})


def test_rate_limiter_window_is_one_second_per_action_and_key():
    now = [100.0]
    limiter = RateLimiter(default=2, clock=lambda: now[0])
    assert [limiter.allow("AKID1", "DescribeVpcs") for _n in range(2)] == [True, True]
    assert limiter.allow("AKID2", "DescribeVpcs") and limiter.allow("AKID1", "DescribeSubnets")
    now[0] = 100.9
    assert not limiter.allow("AKID1", "DescribeVpcs")
    now[0] = 100.95
    assert not limiter.allow("AKID1", "DescribeVpcs")
    now[0] = 101.05  # the two accepted calls are over a second old; the two refused ones still count
    assert not limiter.allow("AKID1", "DescribeVpcs")
    now[0] = 102.5
    assert limiter.allow("AKID1", "DescribeVpcs")
    limiter.configure({"DescribeVpcs": 0})
    assert all(limiter.allow("AKID1", "DescribeVpcs") for _n in range(50))
