"""HAVIP actions: parameter rules, error codes, idempotency, pagination, drift range (R1)."""
import pytest
from emulator_support import INS1, INS2, MAC1, MAC2, MAC_OTHER, OTHER_SUBNET, SUBNET, VPC, unlimited, wait_vpc_task
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException


def error(api, action, **params):
    with pytest.raises(TencentCloudSDKException) as info:
        api(action, **params)
    return info.value.code, info.value.message


def create(api, name="ha", **extra):
    return api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName=name, **extra)["HaVip"]


def test_create_with_given_vip_then_describe(api):
    havip = create(api, Vip="172.16.16.12", Tags=[{"Key": "app", "Value": "web"}])
    assert havip["HaVipId"].startswith("havip-") and len(havip["HaVipId"]) == 14
    assert havip["Vip"] == "172.16.16.12"
    assert havip["State"] == "UNBIND"
    assert havip["FlushedTime"] == "0000-00-00 00:00:00"
    assert havip["TagSet"] == [{"Key": "app", "Value": "web"}]
    found = api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])
    assert found["TotalCount"] == 1
    assert found["HaVipSet"][0] == havip


def test_automatic_vip_skips_reserved_and_used_addresses(api):
    first = create(api, "a")
    assert first["Vip"] == "172.16.16.2"  # .0 network and .1 gateway are reserved (R1)
    second = create(api, "b")
    assert second["Vip"] == "172.16.16.3"
    create(api, "c")
    fourth = create(api, "d")
    assert fourth["Vip"] == "172.16.16.7"  # .5 and .6 are the CVMs' ENIs


@pytest.mark.parametrize(("vip", "code"), [
    ("172.16.16.0", "InvalidParameterValue.Reserved"),
    ("172.16.16.1", "InvalidParameterValue.Reserved"),
    ("172.16.16.255", "InvalidParameterValue.Reserved"),
    ("172.16.17.12", "InvalidParameterValue.Range"),
    ("10.0.0.12", "InvalidParameterValue.Range"),
    ("172.16.16.5", "ResourceInUse"),  # CreateHaVip documents ResourceInUse, no .Address
    ("172.16.16.300", "InvalidParameterValue.Malformed"),
])
def test_vip_rules(api, vip, code):
    assert error(api, "CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="x", Vip=vip)[0] == code


def test_edges_of_the_allowed_range_are_accepted(api):
    assert create(api, "low", Vip="172.16.16.2")["Vip"] == "172.16.16.2"
    assert create(api, "high", Vip="172.16.16.254")["Vip"] == "172.16.16.254"


def test_vip_in_use_by_another_havip(api):
    create(api, Vip="172.16.16.12")
    code, message = error(api, "CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="y", Vip="172.16.16.12")
    assert code == "ResourceInUse"
    assert "172.16.16.12" in message


@pytest.mark.parametrize(("params", "code"), [
    ({"SubnetId": SUBNET, "HaVipName": "x"}, "MissingParameter"),
    ({"VpcId": VPC, "SubnetId": SUBNET}, "MissingParameter"),
    ({"VpcId": VPC, "HaVipName": "x"}, "MissingParameter"),
    ({"VpcId": "vpc-zzzzzzzz", "SubnetId": SUBNET, "HaVipName": "x"}, "ResourceNotFound"),
    ({"VpcId": "vpc_bad", "SubnetId": SUBNET, "HaVipName": "x"}, "InvalidParameterValue.Malformed"),
    ({"VpcId": VPC, "SubnetId": "subnet-zzzzzzzz", "HaVipName": "x"}, "ResourceNotFound"),
    ({"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x" * 61}, "InvalidParameterValue.TooLong"),
    ({"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "ClientToken": "t" * 65}, "InvalidParameterValue.TooLong"),
    ({"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "Tags": [{"Key": "a"}, {"Key": "a"}]},
     "InvalidParameterValue.Duplicate"),  # the documented code for a repeated input
])
def test_create_parameter_errors(api, params, code):
    assert error(api, "CreateHaVip", **params)[0] == code


def test_create_in_subnet_of_an_eni(api):
    havip = api("CreateHaVip", VpcId=VPC, NetworkInterfaceId="eni-other001", HaVipName="x")["HaVip"]
    assert havip["SubnetId"] == OTHER_SUBNET
    assert havip["Vip"] == "172.16.17.2"


def test_client_token_makes_create_idempotent(api):
    first = create(api, "tok", ClientToken="havip-create-1")
    again = create(api, "tok", ClientToken="havip-create-1")
    assert again["HaVipId"] == first["HaVipId"]
    assert api("DescribeHaVips", Filters=[{"Name": "havip-name", "Values": ["tok"]}])["TotalCount"] == 1
    other = create(api, "tok", ClientToken="havip-create-2")
    assert other["HaVipId"] != first["HaVipId"]


def test_ids_and_filters_are_mutually_exclusive(api):
    code = error(api, "DescribeHaVips", HaVipIds=["havip-00000000"],
                 Filters=[{"Name": "vpc-id", "Values": [VPC]}])[0]
    assert code == "InvalidParameter.Coexist"


@pytest.mark.parametrize(("filters", "code"), [
    ([{"Name": "colour", "Values": ["red"]}], "InvalidParameter.FilterInvalidKey"),
    ([{"Name": "vip", "Values": "172.16.16.2"}], "InvalidParameter"),  # DescribeHaVips: no FilterValuesNotList
    (["vip"], "InvalidParameter"),  # nor FilterNotDict
    ([{"Name": "vip", "Values": ["1", "2", "3", "4", "5", "6"]}], "InvalidParameterValue.LimitExceeded"),
    ([{"Name": "vip", "Values": ["1"]}] * 11, "InvalidParameterValue.LimitExceeded"),
])
def test_filter_errors(api, filters, code):
    assert error(api, "DescribeHaVips", Filters=filters)[0] == code


def test_filters_and_or_semantics(api):
    a = create(api, "a", Vip="172.16.16.20")
    create(api, "b", Vip="172.16.16.21")
    api("CreateHaVip", VpcId=VPC, SubnetId=OTHER_SUBNET, HaVipName="a", Vip="172.16.17.20")
    assert api("DescribeHaVips", Filters=[{"Name": "havip-name", "Values": ["a", "b"]}])["TotalCount"] == 3
    both = api("DescribeHaVips", Filters=[{"Name": "havip-name", "Values": ["a"]},
                                          {"Name": "subnet-id", "Values": [SUBNET]}])
    assert [h["HaVipId"] for h in both["HaVipSet"]] == [a["HaVipId"]]
    assert api("DescribeHaVips", Filters=[{"Name": "vip", "Values": ["172.16.16.99"]}])["TotalCount"] == 0


def test_unknown_id_is_an_empty_answer_and_malformed_id_an_error(api):
    assert api("DescribeHaVips", HaVipIds=["havip-00000000"])["TotalCount"] == 0
    assert error(api, "DescribeHaVips", HaVipIds=["nope"])[0] == "InvalidParameterValue.Malformed"


def test_pagination(lab, api):
    unlimited(lab)  # 25 creations in a burst
    lab.admin("/_lab/config", {"quotas": {"havips_per_vpc": 25}})  # over the default quota of 10
    ids = [create(api, f"p{i}")["HaVipId"] for i in range(25)]
    first = api("DescribeHaVips")
    assert first["TotalCount"] == 25
    assert len(first["HaVipSet"]) == 20  # default Limit
    pages = [api("DescribeHaVips", Offset=offset, Limit=10) for offset in (0, 10, 20)]
    assert [len(p["HaVipSet"]) for p in pages] == [10, 10, 5]
    assert [h["HaVipId"] for p in pages for h in p["HaVipSet"]] == ids
    assert api("DescribeHaVips", Offset=100)["HaVipSet"] == []
    assert len(api("DescribeHaVips", Limit=100)["HaVipSet"]) == 25
    assert error(api, "DescribeHaVips", Limit=101)[0] == "InvalidParameterValue.Range"
    assert error(api, "DescribeHaVips", Limit=0)[0] == "InvalidParameterValue.Range"
    assert error(api, "DescribeHaVips", Offset=-1)[0] == "InvalidParameterValue.Range"


def test_modify_and_delete(api):
    havip = create(api, "old")
    api("ModifyHaVipAttribute", HaVipId=havip["HaVipId"], HaVipName="new")
    assert api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["HaVipSet"][0]["HaVipName"] == "new"
    assert error(api, "ModifyHaVipAttribute", HaVipId=havip["HaVipId"])[0] == "MissingParameter"
    task = api("DeleteHaVip", HaVipId=havip["HaVipId"])["RequestId"]
    assert wait_vpc_task(api, task)[-1] == "SUCCESS"
    assert api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["TotalCount"] == 0
    assert error(api, "DeleteHaVip", HaVipId=havip["HaVipId"])[0] == "ResourceNotFound"
    assert error(api, "ModifyHaVipAttribute", HaVipId=havip["HaVipId"], HaVipName="x")[0] == "ResourceNotFound"


def test_drift_range_associate_and_disassociate(api):
    havip = create(api)
    hid = havip["HaVipId"]
    both = [{"HaVipId": hid, "InstanceId": INS1, "InstanceType": "CVM"},
            {"HaVipId": hid, "InstanceId": INS2, "InstanceType": "CVM"}]
    api("AssociateHaVipInstance", HaVipAssociationSet=both)
    got = api("DescribeHaVips", HaVipIds=[hid])["HaVipSet"][0]["HaVipAssociationSet"]
    assert [(a["InstanceId"], a["InstanceType"]) for a in got] == [(INS1, "CVM"), (INS2, "CVM")]
    assert api("DescribeHaVips", Filters=[{"Name": "havip-association.instance-id",
                                           "Values": [INS2]}])["TotalCount"] == 1
    code = error(api, "AssociateHaVipInstance", HaVipAssociationSet=[{"HaVipId": hid, "InstanceId": INS1}])[0]
    assert code == "InvalidParameterValue.DuplicatedHaVipAssociations"
    unknown = [{"HaVipId": hid, "InstanceId": "ins-zzzzzzzz"}]
    code = error(api, "AssociateHaVipInstance", HaVipAssociationSet=unknown)[0]
    assert code == "ResourceNotFound"  # AssociateHaVipInstance documents no InvalidInstanceId.*
    assert error(api, "AssociateHaVipInstance")[0] == "MissingParameter"
    api("DisassociateHaVipInstance", HaVipAssociationSet=[{"HaVipId": hid, "InstanceId": INS1}])
    got = api("DescribeHaVips", HaVipIds=[hid])["HaVipSet"][0]["HaVipAssociationSet"]
    assert [a["InstanceId"] for a in got] == [INS2]
    code = error(api, "DisassociateHaVipInstance", HaVipAssociationSet=[{"HaVipId": hid, "InstanceId": INS1}])[0]
    assert code == "ResourceNotFound"


def test_announce_binds_the_havip_to_the_announcer(lab, api):
    havip = create(api, Vip="172.16.16.12")
    result = lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC1})
    assert result["bound"] and result["moved"]
    now = api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["HaVipSet"][0]
    assert (now["State"], now["InstanceId"], now["NetworkInterfaceId"]) == ("AVAILABLE", INS1, "eni-havip001")
    assert now["FlushedTime"] != "0000-00-00 00:00:00"
    again = lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC1.upper()})
    assert again["bound"] and not again["moved"]
    moved = lab.admin("/_lab/announce", {"vip": "172.16.16.12", "instance_id": INS2})
    assert moved["moved"]
    assert api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["HaVipSet"][0]["InstanceId"] == INS2


def test_announce_from_another_subnet_is_ignored(lab, api):
    """R1: a HAVIP is subnet-scoped."""
    havip = create(api, Vip="172.16.16.12")
    result = lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC_OTHER})
    assert not result["bound"]
    assert "R1" in result["reason"]
    assert api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["HaVipSet"][0]["State"] == "UNBIND"


def test_announce_outside_the_drift_range_is_ignored(lab, api):
    havip = create(api, Vip="172.16.16.12", HaVipAssociationSet=[{"InstanceId": INS1, "InstanceType": "CVM"}])
    refused = lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC2})
    assert not refused["bound"]
    assert "drift range" in refused["reason"]
    assert lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC1})["bound"]
    # Removing the holder from the drift range unbinds it (a manual unbind).
    api("DisassociateHaVipInstance", HaVipAssociationSet=[{"HaVipId": havip["HaVipId"], "InstanceId": INS1}])
    assert api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["HaVipSet"][0]["State"] == "UNBIND"


def test_announce_respects_five_havips_per_eni(lab, api):
    """R4f: at most five HAVIPs on one ENI."""
    vips = [f"172.16.16.{n}" for n in range(20, 26)]
    for n, vip in enumerate(vips):
        create(api, f"h{n}", Vip=vip)
    results = [lab.admin("/_lab/announce", {"vip": vip, "mac": MAC1}) for vip in vips]
    assert [r["bound"] for r in results] == [True] * 5 + [False]
    assert "R4f" in results[-1]["reason"]


def test_instances_mac_can_be_overridden(lab, api):
    create(api, Vip="172.16.16.12")
    lab.admin("/_lab/instances", [{"InstanceId": INS1, "MacAddress": "02:00:00:00:00:01"}])
    assert not lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC1})["bound"]
    assert lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": "02:00:00:00:00:01"})["bound"]
    eni = api("DescribeNetworkInterfaces", NetworkInterfaceIds=["eni-havip001"])["NetworkInterfaceSet"][0]
    assert eni["MacAddress"] == "02:00:00:00:00:01"
