"""EIPs, the HAVIP <-> EIP binding (R6) and the asynchronous task flow."""
import ipaddress

import pytest
from emulator_support import SUBNET, VPC, allocate, wait_eip_task, wait_vpc_task
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException


def error(api, action, **params):
    with pytest.raises(TencentCloudSDKException) as info:
        api(action, **params)
    return info.value.code


def test_allocate_describe_release(api):
    [eip] = allocate(api, AddressName="web", Tags=[{"Key": "k", "Value": "v"}])
    assert eip["AddressId"].startswith("eip-") and len(eip["AddressId"]) == 12
    assert ipaddress.ip_address(eip["AddressIp"]) in ipaddress.ip_network("198.51.100.0/24")
    assert (eip["AddressStatus"], eip["AddressName"], eip["TagSet"]) == ("UNBIND", "web", [{"Key": "k", "Value": "v"}])
    by_name = api("DescribeAddresses", Filters=[{"Name": "address-name", "Values": ["web"]}])
    assert [a["AddressId"] for a in by_name["AddressSet"]] == [eip["AddressId"]]
    task = api("ReleaseAddresses", AddressIds=[eip["AddressId"]])["TaskId"]
    assert wait_eip_task(api, task)[-1] == "SUCCESS"
    assert api("DescribeAddresses", AddressIds=[eip["AddressId"]])["TotalCount"] == 0
    assert error(api, "ReleaseAddresses", AddressIds=[eip["AddressId"]]) == "InvalidAddressId.NotFound"
    assert error(api, "ReleaseAddresses") == "MissingParameter"


def test_pool_is_limited_and_client_token_is_idempotent(api):
    first = api("AllocateAddresses", AddressCount=2, ClientToken="eip-batch-1")["AddressSet"]
    assert [a["AddressStatus"] for a in api("DescribeAddresses", AddressIds=first)["AddressSet"]] == ["CREATING"] * 2
    again = api("AllocateAddresses", AddressCount=2, ClientToken="eip-batch-1")["AddressSet"]
    assert first == again
    assert api("DescribeAddresses")["TotalCount"] == 2
    api("AllocateAddresses", AddressCount=2)
    assert error(api, "AllocateAddresses") == "AddressQuotaLimitExceeded"
    assert error(api, "AllocateAddresses", AddressCount=0) == "InvalidParameterValue.Range"


def test_bind_and_unbind_eip_is_asynchronous(lab, api):
    lab.admin("/_lab/config", {"task_delay": 1.0})  # long enough to see RUNNING even on a loaded machine
    havip = api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="ha", Vip="172.16.16.12")["HaVip"]
    [eip] = allocate(api)
    task = api("HaVipAssociateAddressIp", HaVipId=havip["HaVipId"], AddressIp=eip["AddressIp"])["RequestId"]
    # While the task runs the effect is not visible yet, and the EIP is BINDING.
    assert api("DescribeVpcTaskResult", TaskId=task)["Status"] == "RUNNING"
    assert api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["HaVipSet"][0]["AddressIp"] == ""
    assert api("DescribeAddresses", AddressIds=[eip["AddressId"]])["AddressSet"][0]["AddressStatus"] == "BINDING"
    statuses = wait_vpc_task(api, task)
    assert statuses[-1] == "SUCCESS"
    assert api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["HaVipSet"][0]["AddressIp"] == eip["AddressIp"]
    bound = api("DescribeAddresses", AddressIds=[eip["AddressId"]])["AddressSet"][0]
    assert (bound["AddressStatus"], bound["InstanceId"], bound["InstanceType"], bound["PrivateAddressIp"]) == (
        "BIND", havip["HaVipId"], "HAVIP", "172.16.16.12")
    assert api("DescribeHaVips", Filters=[{"Name": "address-ip", "Values": [eip["AddressIp"]]}])["TotalCount"] == 1
    # A bound EIP can be neither released nor the HAVIP deleted.
    assert error(api, "ReleaseAddresses", AddressIds=[eip["AddressId"]]) == "InvalidAddressState"
    assert error(api, "DeleteHaVip", HaVipId=havip["HaVipId"]) == "UnsupportedOperation"
    task = api("HaVipDisassociateAddressIp", HaVipId=havip["HaVipId"])["RequestId"]
    assert wait_vpc_task(api, task)[-1] == "SUCCESS"
    assert api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["HaVipSet"][0]["AddressIp"] == ""
    assert api("DescribeAddresses", AddressIds=[eip["AddressId"]])["AddressSet"][0]["AddressStatus"] == "UNBIND"
    assert error(api, "HaVipDisassociateAddressIp", HaVipId=havip["HaVipId"]) == "UnsupportedOperation.UnbindEIP"


def test_bind_refusals(api):
    one = api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="one")["HaVip"]["HaVipId"]
    two = api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="two")["HaVip"]["HaVipId"]
    [a, b] = allocate(api, AddressCount=2)
    task = api("HaVipAssociateAddressIp", HaVipId=one, AddressIp=a["AddressIp"])["RequestId"]
    # While the first binding runs, both sides are busy with it.
    assert error(api, "HaVipAssociateAddressIp", HaVipId=one, AddressIp=b["AddressIp"]) == \
        "UnsupportedOperation.MutexOperationTaskRunning"
    assert error(api, "HaVipAssociateAddressIp", HaVipId=two, AddressIp=a["AddressIp"]) == \
        "UnsupportedOperation.MutexOperationTaskRunning"
    assert wait_vpc_task(api, task)[-1] == "SUCCESS"
    # Then: the HAVIP has an EIP, the EIP is bound elsewhere.
    assert error(api, "HaVipAssociateAddressIp", HaVipId=one, AddressIp=b["AddressIp"]) == \
        "UnsupportedOperation.BindEIP"
    assert error(api, "HaVipAssociateAddressIp", HaVipId=two, AddressIp=a["AddressIp"]) == "UnsupportedOperation"
    assert error(api, "HaVipAssociateAddressIp", HaVipId=two, AddressIp="198.51.100.250") == "ResourceNotFound"
    assert error(api, "HaVipAssociateAddressIp", HaVipId="havip-zzzzzzzz", AddressIp=b["AddressIp"]) == \
        "ResourceNotFound"
    assert error(api, "HaVipAssociateAddressIp", HaVipId=two) == "MissingParameter"


def test_unknown_task(api):
    assert error(api, "DescribeVpcTaskResult", TaskId="00000000-0000-0000-0000-000000000000") == "ResourceNotFound"


def test_describe_network(api):
    assert api("DescribeVpcs", VpcIds=[VPC])["VpcSet"][0]["CidrBlock"] == "172.16.0.0/16"
    subnets = api("DescribeSubnets", Filters=[{"Name": "vpc-id", "Values": [VPC]}])["SubnetSet"]
    assert {s["SubnetId"]: s["CidrBlock"] for s in subnets} == {SUBNET: "172.16.16.0/24",
                                                                "subnet-lab00002": "172.16.17.0/24"}
    sub = api("DescribeSubnets", SubnetIds=[SUBNET])["SubnetSet"][0]
    assert sub["TotalIpAddressCount"] == 253 and sub["AvailableIpAddressCount"] == 251
    enis = api("DescribeNetworkInterfaces", Filters=[{"Name": "subnet-id", "Values": [SUBNET]}])
    assert sorted(e["PrivateIpAddressSet"][0]["PrivateIpAddress"] for e in enis["NetworkInterfaceSet"]) == [
        "172.16.16.5", "172.16.16.6"]
    by_ins = api("DescribeNetworkInterfaces", Filters=[{"Name": "attachment.instance-id", "Values": ["ins-havip002"]}])
    assert by_ins["NetworkInterfaceSet"][0]["NetworkInterfaceId"] == "eni-havip002"
    assert error(api, "DescribeSubnets", SubnetIds=[SUBNET], Filters=[{"Name": "vpc-id", "Values": [VPC]}]) == \
        "InvalidParameter.Coexist"
