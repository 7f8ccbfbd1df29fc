"""Every error path of every action, through the real SDK, answers a code from that action's documented
list (lab/emulator/error_codes.json: the action's own codes plus Tencent's common ones) (issue 14).

Each case names the action, its parameters (placeholders filled from a small world: HAVIP A carries EIP
A and the drift range [ins-havip001], HAVIP B is bare, EIP F is free) and the code expected."""
import urllib.error

import pytest
from emulator_support import SUBNET, VPC, allocate, outcome, unlimited, wait_vpc_task

from lab.emulator import error_codes
from lab.emulator.actions import Vpc
from lab.emulator.sts import Sts

ARN = "qcs::cam::uin/100000000001:roleName/havip-lab"
TOO_LONG = "n" * 61
NO_HAVIP, NO_EIP = "havip-zzzzzzzz", "eip-zzzzzzzz"
FILTERS_11 = [{"Name": "vpc-id", "Values": [VPC]}] * 11
F = {"Name": "havip-name", "Values": ["x"]}
NO_SG = "sg-zzzzzzzz"
SGF = {"Name": "security-group-name", "Values": ["x"]}
RULE = {"Protocol": "ALL", "CidrBlock": "172.16.16.6/32", "Action": "ACCEPT"}  # not in the world's group


def rules(**policy_set):
    """Create/DeleteSecurityGroupPolicies parameters for the world's group sg-lab00001."""
    return {"SecurityGroupId": "{SG}", "SecurityGroupPolicySet": policy_set}


@pytest.fixture
def world(lab, api):
    unlimited(lab)
    lab.admin("/_lab/config", {"task_delay": 0})  # the set-up's tasks complete at once (busy() slows them)
    a = api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="a", Vip="172.16.16.20",
            HaVipAssociationSet=[{"InstanceId": "ins-havip001"}])["HaVip"]["HaVipId"]
    b = api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="b", Vip="172.16.16.21")["HaVip"]["HaVipId"]
    eip_a, eip_f = allocate(api, AddressCount=2)
    wait_vpc_task(api, api("HaVipAssociateAddressIp", HaVipId=a, AddressIp=eip_a["AddressIp"])["RequestId"])
    api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="tok", ClientToken="used-token")
    api("AllocateAddresses", ClientToken="used-eip-token")
    return {"SG": "sg-lab00001", "A": a, "B": b, "EIP_A": eip_a["AddressId"], "EIP_A_IP": eip_a["AddressIp"],
            "F": eip_f["AddressId"], "F_IP": eip_f["AddressIp"]}


def fill(value, ctx):
    if isinstance(value, str):
        return ctx.get(value[1:-1], value) if value.startswith("{") and value.endswith("}") else value
    if isinstance(value, list):
        return [fill(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ctx) for k, v in value.items()}
    return value


def busy(lab, api, ctx, action, params):
    """Start a long bind of EIP F to HAVIP B, then make the call: the resources' task is running."""
    lab.admin("/_lab/config", {"task_delay": 30})
    api("HaVipAssociateAddressIp", HaVipId=ctx["B"], AddressIp=ctx["F_IP"])
    return outcome(lambda: api(action, **fill(params, ctx)))


CASES = [
    # CreateHaVip
    ("CreateHaVip", {"SubnetId": SUBNET, "HaVipName": "x"}, "MissingParameter"),
    ("CreateHaVip", {"VpcId": "vpc_bad", "SubnetId": SUBNET, "HaVipName": "x"}, "InvalidParameterValue.Malformed"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": TOO_LONG}, "InvalidParameterValue.TooLong"),
    ("CreateHaVip", {"VpcId": "vpc-zzzzzzzz", "SubnetId": SUBNET, "HaVipName": "x"}, "ResourceNotFound"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": "subnet-zzzzzzzz", "HaVipName": "x"}, "ResourceNotFound"),
    ("CreateHaVip", {"VpcId": VPC, "HaVipName": "x"}, "MissingParameter"),
    ("CreateHaVip", {"VpcId": VPC, "NetworkInterfaceId": "eni-zzzzzzzz", "HaVipName": "x"}, "ResourceNotFound"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "Vip": "300.1.1.1"},
     "InvalidParameterValue.Malformed"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "Vip": "172.16.17.9"},
     "InvalidParameterValue.Range"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "Vip": "172.16.16.1"},
     "InvalidParameterValue.Reserved"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "Vip": "172.16.16.20"}, "ResourceInUse"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "Tags": "k=v"}, "InvalidParameter"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x",
                     "Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]},
     "InvalidParameterValue.Duplicate"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "CheckAssociate": "yes"}, "InvalidParameter"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "ClientToken": "tök"},
     "InvalidParameterValue.Malformed"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x", "ClientToken": "t" * 65},
     "InvalidParameterValue.TooLong"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "other", "ClientToken": "used-token"},
     "InvalidParameter"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x",
                     "HaVipAssociationSet": [{"InstanceId": "ins-havip001", "InstanceType": "VM"}]},
     "InvalidParameterValue"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x",
                     "HaVipAssociationSet": [{"InstanceId": "ins-havip001"}] * 11}, "LimitExceeded"),
    ("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x",
                     "HaVipAssociationSet": [{"InstanceId": "ins-zzzzzzzz"}]}, "ResourceNotFound"),
    ("CreateHaVip", "quota", "LimitExceeded"),
    # DescribeHaVips
    ("DescribeHaVips", {"HaVipIds": ["{A}"], "Filters": [F]}, "InvalidParameter.Coexist"),
    ("DescribeHaVips", {"HaVipIds": ["nope"]}, "InvalidParameterValue.Malformed"),
    ("DescribeHaVips", {"Filters": [{"Name": "colour", "Values": ["x"]}]}, "InvalidParameter.FilterInvalidKey"),
    ("DescribeHaVips", {"Filters": ["vip"]}, "InvalidParameter"),
    ("DescribeHaVips", {"Filters": [{"Name": "vip", "Values": "x"}]}, "InvalidParameter"),
    ("DescribeHaVips", {"Filters": [F] * 11}, "InvalidParameterValue.LimitExceeded"),
    ("DescribeHaVips", {"Filters": [{"Name": "vip", "Values": ["1", "2", "3", "4", "5", "6"]}]},
     "InvalidParameterValue.LimitExceeded"),
    ("DescribeHaVips", {"Limit": 101}, "InvalidParameterValue.Range"),
    ("DescribeHaVips", {"Offset": -1}, "InvalidParameterValue.Range"),
    ("DescribeHaVips", {"Limit": "ten"}, "InvalidParameter"),
    # ModifyHaVipAttribute
    ("ModifyHaVipAttribute", {"HaVipId": "{A}"}, "MissingParameter"),
    ("ModifyHaVipAttribute", {"HaVipId": "bad", "HaVipName": "x"}, "InvalidParameterValue.Malformed"),
    ("ModifyHaVipAttribute", {"HaVipId": "{A}", "HaVipName": TOO_LONG}, "InvalidParameterValue.TooLong"),
    ("ModifyHaVipAttribute", {"HaVipId": NO_HAVIP, "HaVipName": "x"}, "ResourceNotFound"),
    ("ModifyHaVipAttribute", ("busy", {"HaVipId": "{B}", "HaVipName": "x"}), "UnsupportedOperation"),
    # DeleteHaVip
    ("DeleteHaVip", {}, "MissingParameter"),
    ("DeleteHaVip", {"HaVipId": "bad"}, "InvalidParameterValue.Malformed"),
    ("DeleteHaVip", {"HaVipId": NO_HAVIP}, "ResourceNotFound"),
    ("DeleteHaVip", {"HaVipId": "{A}"}, "UnsupportedOperation"),
    ("DeleteHaVip", ("busy", {"HaVipId": "{B}"}), "UnsupportedOperation"),
    # AssociateHaVipInstance / DisassociateHaVipInstance
    ("AssociateHaVipInstance", {}, "MissingParameter"),
    ("AssociateHaVipInstance", {"HaVipAssociationSet": []}, "InvalidParameter"),
    ("AssociateHaVipInstance", {"HaVipAssociationSet": [{"InstanceId": "ins-havip002"}]}, "MissingParameter"),
    ("AssociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": "bad", "InstanceId": "ins-havip002"}]},
     "InvalidParameterValue.Malformed"),
    ("AssociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": NO_HAVIP, "InstanceId": "ins-havip002"}]},
     "ResourceNotFound"),
    ("AssociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": "{A}", "InstanceId": "ins-zzzzzzzz"}]},
     "ResourceNotFound"),
    ("AssociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": "{A}", "InstanceId": "ins-havip001"}]},
     "InvalidParameterValue.DuplicatedHaVipAssociations"),
    ("AssociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": "{A}", "InstanceId": "ins-havip002",
                                                         "InstanceType": "VM"}]}, "InvalidParameterValue"),
    ("AssociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": "{A}", "InstanceId": "ins-havip002"}] * 11},
     "LimitExceeded"),
    ("DisassociateHaVipInstance", {}, "MissingParameter"),
    ("DisassociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": "{B}", "InstanceId": "ins-havip001"}]},
     "ResourceNotFound"),
    ("DisassociateHaVipInstance", {"HaVipAssociationSet": [{"HaVipId": "{B}", "InstanceId": "i-1"}]},
     "InvalidParameterValue.Malformed"),
    # HaVipAssociateAddressIp / HaVipDisassociateAddressIp
    ("HaVipAssociateAddressIp", {"HaVipId": "{B}"}, "MissingParameter"),
    ("HaVipAssociateAddressIp", {"HaVipId": "bad", "AddressIp": "{F_IP}"}, "InvalidParameterValue.Malformed"),
    ("HaVipAssociateAddressIp", {"HaVipId": "{B}", "AddressIp": "not-an-ip"}, "InvalidParameterValue.Malformed"),
    ("HaVipAssociateAddressIp", {"HaVipId": NO_HAVIP, "AddressIp": "{F_IP}"}, "ResourceNotFound"),
    ("HaVipAssociateAddressIp", {"HaVipId": "{B}", "AddressIp": "198.51.100.250"}, "ResourceNotFound"),
    ("HaVipAssociateAddressIp", {"HaVipId": "{A}", "AddressIp": "{F_IP}"}, "UnsupportedOperation.BindEIP"),
    ("HaVipAssociateAddressIp", {"HaVipId": "{B}", "AddressIp": "{EIP_A_IP}"}, "UnsupportedOperation"),
    ("HaVipAssociateAddressIp", ("busy", {"HaVipId": "{B}", "AddressIp": "{F_IP}"}),
     "UnsupportedOperation.MutexOperationTaskRunning"),
    ("HaVipDisassociateAddressIp", {}, "MissingParameter"),
    ("HaVipDisassociateAddressIp", {"HaVipId": "bad"}, "InvalidParameterValue.Malformed"),
    ("HaVipDisassociateAddressIp", {"HaVipId": NO_HAVIP}, "ResourceNotFound"),
    ("HaVipDisassociateAddressIp", {"HaVipId": "{B}"}, "UnsupportedOperation.UnbindEIP"),
    ("HaVipDisassociateAddressIp", ("busy", {"HaVipId": "{B}"}), "UnsupportedOperation.MutexOperationTaskRunning"),
    # AllocateAddresses
    ("AllocateAddresses", {"AddressCount": 0}, "InvalidParameterValue.Range"),
    ("AllocateAddresses", {"AddressCount": "two"}, "InvalidParameter"),
    ("AllocateAddresses", {"AddressName": "n" * 61}, "InvalidParameterValue"),
    ("AllocateAddresses", {"Tags": [{"Key": "k"}, {"Key": "k"}]}, "InvalidParameterValue.InvalidTag"),
    ("AllocateAddresses", {"InternetChargeType": "FREE"}, "InvalidParameterValue.Range"),
    ("AllocateAddresses", {"InternetMaxBandwidthOut": 101}, "InvalidParameterValue.BandwidthOutOfRange"),
    ("AllocateAddresses", {"AddressCount": 2}, "AddressQuotaLimitExceeded"),  # the pool has 4: 3 are taken
    ("AllocateAddresses", "quota", "AddressQuotaLimitExceeded"),
    ("AllocateAddresses", {"ClientToken": "used-eip-token", "AddressName": "other"}, "InvalidParameter"),
    ("AllocateAddresses", {"ClientToken": "tök"}, "InvalidParameterValue"),
    ("AllocateAddresses", {"ClientToken": "t" * 65}, "InvalidParameterValue"),
    # DescribeAddresses
    ("DescribeAddresses", {"AddressIds": ["eip_bad"]}, "InvalidParameterValue.AddressIdMalformed"),
    ("DescribeAddresses", {"AddressIds": "{F}"}, "InvalidParameter"),
    ("DescribeAddresses", {"Filters": [{"Name": "colour", "Values": ["x"]}]}, "InvalidParameter.InvalidFilter"),
    ("DescribeAddresses", {"Filters": [{"Name": "address-ip", "Values": "x"}]}, "InvalidParameter.InvalidFilter"),
    ("DescribeAddresses", {"Filters": "address-ip"}, "InvalidParameter.InvalidFilter"),
    ("DescribeAddresses", {"Filters": [{"Name": "address-ip", "Values": ["x"]}] * 11}, "LimitExceeded.NumberOfFilters"),
    ("DescribeAddresses", {"Filters": [{"Name": "address-ip", "Values": ["x"] * 101}]},
     "InvalidParameterValue.LimitExceeded"),
    ("DescribeAddresses", {"AddressIds": ["{F}"], "Filters": [{"Name": "address-id", "Values": ["{F}"]}]},
     "InvalidParameter"),
    ("DescribeAddresses", {"Limit": 101}, "InvalidParameter"),
    # ReleaseAddresses
    ("ReleaseAddresses", {}, "MissingParameter"),
    ("ReleaseAddresses", {"AddressIds": ["eip_bad"]}, "InvalidParameterValue.AddressIdMalformed"),
    ("ReleaseAddresses", {"AddressIds": [NO_EIP]}, "InvalidAddressId.NotFound"),
    ("ReleaseAddresses", {"AddressIds": ["{EIP_A}"]}, "InvalidAddressState"),
    ("ReleaseAddresses", {"AddressIds": ["{F}"] * 101}, "InvalidParameterValue"),
    ("ReleaseAddresses", ("busy", {"AddressIds": ["{F}"]}), "OperationDenied.MutexTaskRunning"),
    # ModifyAddressAttribute / ModifyAddressesBandwidth
    ("ModifyAddressAttribute", {"AddressName": "x"}, "MissingParameter"),
    ("ModifyAddressAttribute", {"AddressId": "eip_bad", "AddressName": "x"},
     "InvalidParameterValue.AddressIdMalformed"),
    ("ModifyAddressAttribute", {"AddressId": "{F}", "AddressName": TOO_LONG}, "InvalidParameterValue.TooLong"),
    ("ModifyAddressAttribute", {"AddressId": NO_EIP, "AddressName": "x"}, "InvalidAddressId.NotFound"),
    ("ModifyAddressAttribute", ("busy", {"AddressId": "{F}", "AddressName": "x"}), "OperationDenied.MutexTaskRunning"),
    ("ModifyAddressesBandwidth", {"AddressIds": ["{F}"]}, "MissingParameter"),
    ("ModifyAddressesBandwidth", {"AddressIds": ["{F}"], "InternetMaxBandwidthOut": "ten"}, "InvalidParameter"),
    ("ModifyAddressesBandwidth", {"InternetMaxBandwidthOut": 5}, "MissingParameter"),
    ("ModifyAddressesBandwidth", {"AddressIds": ["eip_bad"], "InternetMaxBandwidthOut": 5},
     "InvalidParameterValue.AddressIdMalformed"),
    ("ModifyAddressesBandwidth", {"AddressIds": [NO_EIP], "InternetMaxBandwidthOut": 5}, "InvalidAddressId.NotFound"),
    ("ModifyAddressesBandwidth", {"AddressIds": ["{F}"] * 101, "InternetMaxBandwidthOut": 5},
     "InvalidParameterValue.LimitExceeded"),
    ("ModifyAddressesBandwidth", {"AddressIds": ["{F}"], "InternetMaxBandwidthOut": 0},
     "InvalidParameterValue.BandwidthOutOfRange"),
    ("ModifyAddressesBandwidth", ("busy", {"AddressIds": ["{F}"], "InternetMaxBandwidthOut": 5}),
     "OperationDenied.MutexTaskRunning"),
    # Tasks
    ("DescribeVpcTaskResult", {}, "MissingParameter"),
    ("DescribeVpcTaskResult", {"TaskId": 12}, "InvalidParameter"),
    ("DescribeVpcTaskResult", {"TaskId": "00000000-0000-0000-0000-000000000000"}, "ResourceNotFound"),
    ("DescribeTaskResult", {}, "MissingParameter"),
    ("DescribeTaskResult", {"TaskId": "x"}, "InvalidParameter"),
    ("DescribeTaskResult", {"TaskId": 1}, "InvalidParameter"),
    ("DescribeTaskResult", {"DealName": "20260101"}, "InvalidParameter"),
    # Security groups (sg-lab00001 of the world file: 5 ingress rules, Version 0)
    ("DescribeSecurityGroups", {"SecurityGroupIds": ["{SG}"], "Filters": [SGF]}, "InvalidParameter.Coexist"),
    ("DescribeSecurityGroups", {"SecurityGroupIds": ["sg_bad"]}, "InvalidParameterValue.Malformed"),
    ("DescribeSecurityGroups", {"SecurityGroupIds": [NO_SG]}, "ResourceNotFound"),
    ("DescribeSecurityGroups", {"SecurityGroupIds": ["{SG}"] * 101}, "InvalidParameterValue.LimitExceeded"),
    ("DescribeSecurityGroups", {"Filters": ["x"]}, "InvalidParameter.FilterNotDict"),
    ("DescribeSecurityGroups", {"Filters": [{"Name": "security-group-id", "Values": "x"}]},
     "InvalidParameter.FilterValuesNotList"),
    ("DescribeSecurityGroups", {"Filters": [{"Name": "colour", "Values": ["x"]}]}, "InvalidParameter.FilterInvalidKey"),
    ("DescribeSecurityGroups", {"Filters": [SGF] * 11}, "InvalidParameterValue.LimitExceeded"),
    ("DescribeSecurityGroups", {"Limit": "101"}, "InvalidParameterValue.Range"),
    ("DescribeSecurityGroups", {"Offset": "first"}, "InvalidParameterValue.Malformed"),
    ("DescribeSecurityGroupPolicies", {}, "MissingParameter"),
    ("DescribeSecurityGroupPolicies", {"SecurityGroupId": "sg_bad"}, "InvalidParameterValue.Malformed"),
    ("DescribeSecurityGroupPolicies", {"SecurityGroupId": NO_SG}, "ResourceNotFound"),
    ("DescribeSecurityGroupPolicies", {"SecurityGroupId": "{SG}", "Filters": ["x"]}, "InvalidParameter.FilterNotDict"),
    ("DescribeSecurityGroupPolicies", {"SecurityGroupId": "{SG}", "Filters": [{"Name": "ip", "Values": "x"}]},
     "InvalidParameter.FilterValuesNotList"),
    ("DescribeSecurityGroupPolicies", {"SecurityGroupId": "{SG}", "Filters": [{"Name": "colour", "Values": ["x"]}]},
     "InvalidParameter.FilterInvalidKey"),
    ("DescribeSecurityGroupPolicies", {"SecurityGroupId": "{SG}", "Filters": [{"Name": "ip", "Values": ["1"] * 6}]},
     "InvalidParameterValue.LimitExceeded"),
    *[(action, params, code) for action in ("CreateSecurityGroupPolicies", "DeleteSecurityGroupPolicies")
      for params, code in (({"SecurityGroupPolicySet": {"Ingress": [RULE]}}, "MissingParameter"),
                           ({"SecurityGroupId": "{SG}"}, "MissingParameter"),
                           ({"SecurityGroupId": "sg_bad", "SecurityGroupPolicySet": {"Ingress": [RULE]}},
                            "InvalidParameterValue.Malformed"),
                           ({"SecurityGroupId": NO_SG, "SecurityGroupPolicySet": {"Ingress": [RULE]}},
                            "ResourceNotFound"),
                           (rules(), "InvalidParameterValue.Empty"),
                           ({"SecurityGroupId": "{SG}", "SecurityGroupPolicySet": "Ingress"},
                            "InvalidParameterValue.Malformed"),
                           (rules(Ingress=[RULE], Egress=[RULE]), "InvalidParameter.Coexist"),
                           (rules(Version="7", Ingress=[RULE]), "UnsupportedOperation.VersionMismatch"),
                           (rules(Version="v1", Ingress=[RULE]), "InvalidParameterValue.Malformed"),
                           (rules(Ingress=[dict(RULE, Protocol="112")]), "InvalidParameterValue.Range"),
                           (rules(Ingress=[dict(RULE, Port="80")]), "InvalidParameter.Coexist"),
                           (rules(Ingress=[dict(RULE, CidrBlock="x")]), "InvalidParameterValue.Malformed"),
                           (rules(Ingress=[dict(RULE, Action="OK")]), "InvalidParameterValue.Range"),
                           (rules(Ingress=[{"PolicyIndex": -1}]), "InvalidParameterValue.Malformed"))],
    ("CreateSecurityGroupPolicies", rules(Ingress=[dict(RULE, PolicyDescription="d" * 101)]),
     "InvalidParameterValue.TooLong"),
    ("CreateSecurityGroupPolicies", rules(Ingress=[dict(RULE, CidrBlock="0.0.0.0/0", Action="DROP")]),
     "UnsupportedOperation.DuplicatePolicy"),
    ("CreateSecurityGroupPolicies", rules(Ingress=[dict(RULE, PolicyIndex=0),
                                                   dict(RULE, CidrBlock="172.16.16.5/32", PolicyIndex=1)]),
     "InvalidParameter"),
    ("CreateSecurityGroupPolicies", rules(Ingress=[dict(RULE, PolicyIndex=6)]), "InvalidParameterValue.Range"),
    ("CreateSecurityGroupPolicies", "sg-quota", "LimitExceeded.SecurityGroupPolicySet"),
    ("DeleteSecurityGroupPolicies", rules(Ingress=[{"PolicyIndex": 0}, RULE]), "InvalidParameter.Coexist"),
    ("DeleteSecurityGroupPolicies", rules(Ingress=[{"PolicyIndex": 5}]), "InvalidParameterValue.Range"),
    ("DeleteSecurityGroupPolicies", rules(Ingress=[RULE]), "ResourceNotFound"),
    # DescribeVpcs / DescribeSubnets / DescribeNetworkInterfaces (the same filter rules)
    *[(action, params, code) for action, ids in (("DescribeVpcs", "VpcIds"), ("DescribeSubnets", "SubnetIds"),
                                                 ("DescribeNetworkInterfaces", "NetworkInterfaceIds"))
      for params, code in (({ids: ["x-1"], "Filters": [{"Name": "vpc-id", "Values": [VPC]}]},
                            "InvalidParameter.Coexist"),
                           ({"Filters": ["vpc-id"]}, "InvalidParameter.FilterNotDict"),
                           ({"Filters": [{"Name": "vpc-id", "Values": VPC}]}, "InvalidParameter.FilterValuesNotList"),
                           ({"Filters": [{"Name": "colour", "Values": ["x"]}]}, "InvalidParameter.FilterInvalidKey"),
                           ({"Filters": FILTERS_11}, "InvalidParameterValue.LimitExceeded"),
                           ({"Filters": [{"Name": "vpc-id", "Values": ["1", "2", "3", "4", "5", "6"]}]},
                            "InvalidParameterValue.LimitExceeded"),
                           ({"Limit": 0}, "InvalidParameterValue.Range"),
                           ({ids: "x"}, "InvalidParameter"))],
]

STS_CASES = [
    ({"RoleArn": ARN}, "MissingParameter"),
    ({"RoleArn": "arn:aws:iam::1:role/x", "RoleSessionName": "s1"}, "InvalidParameter.ResouceError"),
    ({"RoleArn": ARN.replace("havip-lab", "nobody"), "RoleSessionName": "s1"}, "ResourceNotFound.RoleNotFound"),
    ({"RoleArn": ARN, "RoleSessionName": "s"}, "InvalidParameter.ParamError"),
    ({"RoleArn": ARN, "RoleSessionName": "s1", "DurationSeconds": 60}, "InvalidParameter.OverTimeError"),
]


def case_id(index, case):
    return f"{index:03d}-{case[0]}-{case[2]}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(i, c) for i, c in enumerate(CASES)])
def test_every_error_path_answers_a_documented_code(lab, api, world, case):
    action, params, expected = case
    assert expected in error_codes.documented(action), f"the test's own expectation {expected} is undocumented"
    if params == "sg-quota":  # the world's group holds 5 ingress rules
        lab.admin("/_lab/config", {"quotas": {"policies_per_direction": 5}})
        params = rules(Ingress=[RULE])
    if params == "quota":
        lab.admin("/_lab/config", {"quotas": {"havips_per_vpc": 3, "eips_per_region": 3}})
        params = {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "x"} if action == "CreateHaVip" else {}
    if isinstance(params, tuple):
        got = busy(lab, api, world, action, params[1])
    else:
        got = outcome(lambda: api(action, **fill(params, world)))
    assert got == expected
    assert got in error_codes.documented(action)


@pytest.mark.parametrize("params, expected", STS_CASES)
def test_assume_role_errors_are_documented(lab, params, expected):
    from test_emulator_credentials import sts_client  # noqa: PLC0415 - the STS client of those tests

    assert outcome(lambda: sts_client(lab).call_json("AssumeRole", params)) == expected
    assert expected in error_codes.documented("AssumeRole")


def test_request_level_errors_are_common_codes(lab, api):
    """Refusals before any action runs (auth, version, action, region, rate, size) use common codes."""
    codes = {
        outcome(lambda: lab.client(secret_key="wrong").call_json("DescribeVpcs", {})),
        outcome(lambda: lab.client(secret_id="AKIDnobody").call_json("DescribeVpcs", {})),
        outcome(lambda: lab.client(region="ap-shanghai").call_json("DescribeVpcs", {})),
        outcome(lambda: api("DescribeNothing")),
    }
    lab.admin("/_lab/config", {"rate_limits": {"DescribeVpcs": 1}})
    codes |= {outcome(lambda: api("DescribeVpcs")) for _n in range(3)}
    lab.admin("/_lab/faults", {"throttle": 1, "internal_error": 1})
    codes |= {outcome(lambda: api("DescribeSubnets")) for _n in range(2)}
    assert codes == {"AuthFailure.SignatureFailure", "AuthFailure.SecretIdNotFound", "UnsupportedRegion",
                     "InvalidAction", "OK", "RequestLimitExceeded", "InternalError"}
    assert codes - {"OK"} <= error_codes.common()


def test_the_table_covers_every_action_served_and_every_action_is_driven():
    served = {name[len("action_"):] for cls in (Vpc, Sts) for name in dir(cls) if name.startswith("action_")}
    assert served <= error_codes.actions(), f"no documented error list for {served - error_codes.actions()}"
    driven = {action for action, _params, _code in CASES} | {"AssumeRole"}
    assert served <= driven, f"actions with no error path driven: {served - driven}"


def test_admin_refuses_unknown_fault_settings(lab):
    with pytest.raises(urllib.error.HTTPError):
        lab.admin("/_lab/faults", {"explode": 1})
