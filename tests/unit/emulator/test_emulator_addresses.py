"""DescribeAddresses as Tencent documents it, quotas and ClientToken reuse (issue 14), via the real SDK."""
import re

import pytest
from emulator_support import SUBNET, VPC, allocate, outcome, wait_vpc_task


def ids(answer):
    return [a["AddressId"] for a in answer["AddressSet"]]


def test_answer_shape_iso_time_and_nulls(api):
    [eip] = allocate(api)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", eip["CreatedTime"])
    assert (eip["InstanceId"], eip["NetworkInterfaceId"], eip["PrivateAddressIp"], eip["InstanceType"]) == (
        None, None, None, None)
    hid = api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="ha", Vip="172.16.16.12")["HaVip"]["HaVipId"]
    wait_vpc_task(api, api("HaVipAssociateAddressIp", HaVipId=hid, AddressIp=eip["AddressIp"])["RequestId"])
    bound = api("DescribeAddresses", AddressIds=[eip["AddressId"]])["AddressSet"][0]
    assert (bound["InstanceId"], bound["PrivateAddressIp"], bound["InstanceType"]) == (hid, "172.16.16.12", "HAVIP")


def test_documented_filters(api):
    [a] = allocate(api, AddressName="web", Tags=[{"Key": "team", "Value": "ops"}])
    [b] = allocate(api, AddressName="db", Tags=[{"Key": "team", "Value": "dba"}])

    def by(name, *values):
        return ids(api("DescribeAddresses", Filters=[{"Name": name, "Values": list(values)}]))

    assert by("address-isp", "BGP") == [a["AddressId"], b["AddressId"]]
    assert by("address-isp", "CMCC") == []
    assert by("is-arrears", "FALSE") == [a["AddressId"], b["AddressId"]]
    assert by("is-arrears", "TRUE") == []
    assert by("tag:team", "ops") == [a["AddressId"]]
    assert by("tag:team", "ops", "dba") == [a["AddressId"], b["AddressId"]]
    assert by("tag:owner", "x") == []
    assert by("tag-key", "team") == [a["AddressId"], b["AddressId"]]
    assert by("address-type", "WanIP") == []
    # Documented: address-name uses only the first value given.
    assert by("address-name", "db", "web") == [b["AddressId"]]
    # Up to 100 values per filter.
    assert by("address-ip", *[f"198.51.100.{n}" for n in range(100)]) == [a["AddressId"], b["AddressId"]]


def test_quotas_from_the_world_or_the_config(lab, api):
    lab.admin("/_lab/config", {"quotas": {"eips_per_region": 1, "havips_per_vpc": 1}})
    allocate(api)
    assert outcome(lambda: api("AllocateAddresses")) == "AddressQuotaLimitExceeded"
    api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="one")
    assert outcome(lambda: api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="two")) == "LimitExceeded"
    assert lab.admin("/_lab/config")["quotas"] == {"eips_per_region": 1, "havips_per_vpc": 1,
                                                   "policies_per_direction": 100}


@pytest.mark.parametrize("action, first, other", [
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "a"},
     {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "b"}),
    ("AllocateAddresses", {"AddressName": "a"}, {"AddressName": "b"}),
])
def test_client_token_reuse(api, action, first, other):
    answer = api(action, ClientToken="tok-1", **first)
    again = api(action, ClientToken="tok-1", **first)
    key = "HaVip" if action == "CreateHaVip" else "AddressSet"
    assert (again[key]["HaVipId"] if key == "HaVip" else again[key]) == (
        answer[key]["HaVipId"] if key == "HaVip" else answer[key])
    # The same token with other parameters is refused (the docs are silent: the harsher reading).
    assert outcome(lambda: api(action, ClientToken="tok-1", **other)) == "InvalidParameter"
