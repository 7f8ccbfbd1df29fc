"""Asynchronous actions as Tencent documents them, through the real SDK (issue 14).

VPC tasks (DeleteHaVip, HaVip(Dis)AssociateAddressIp): the RequestId is the task id, polled with
DescribeVpcTaskResult. EIP tasks (AllocateAddresses, ReleaseAddresses, ModifyAddressesBandwidth): a TaskId
of digits, polled with DescribeTaskResult (TaskId sent as an integer). Transient states while they run."""
import pytest
from emulator_support import SUBNET, VPC, allocate, wait_eip_task, wait_vpc_task
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException


def error(api, action, **params):
    with pytest.raises(TencentCloudSDKException) as info:
        api(action, **params)
    return info.value.code


@pytest.fixture
def slow(lab):
    """Tasks that run long enough to be seen RUNNING even on a loaded machine."""
    lab.admin("/_lab/config", {"task_delay": 1.0})


def havip(api, name="ha"):
    return api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName=name)["HaVip"]["HaVipId"]


def listed(api, havip_id):
    return api("DescribeHaVips", HaVipIds=[havip_id])["HaVipSet"]


def status(api, address_id):
    return [a["AddressStatus"] for a in api("DescribeAddresses", AddressIds=[address_id])["AddressSet"]]


def test_delete_havip_is_a_vpc_task_and_the_havip_stays_listed_while_it_runs(api, slow):
    hid = havip(api)
    [eip] = allocate(api)
    before = listed(api, hid)
    answer = api("DeleteHaVip", HaVipId=hid)
    task = answer["RequestId"]
    running = api("DescribeVpcTaskResult", TaskId=task)
    assert (running["Status"], running["Output"], running["Result"]) == ("RUNNING", "", [])
    assert listed(api, hid) == before  # still there, state unchanged, while the deletion runs
    # Mutations of a HAVIP whose task runs are refused with each action's documented code.
    assert error(api, "DeleteHaVip", HaVipId=hid) == "UnsupportedOperation"
    assert error(api, "ModifyHaVipAttribute", HaVipId=hid, HaVipName="x") == "UnsupportedOperation"
    assert error(api, "HaVipAssociateAddressIp", HaVipId=hid, AddressIp=eip["AddressIp"]) == \
        "UnsupportedOperation.MutexOperationTaskRunning"
    assert error(api, "HaVipDisassociateAddressIp", HaVipId=hid) == "UnsupportedOperation.MutexOperationTaskRunning"
    statuses = wait_vpc_task(api, task)
    assert statuses[-1] == "SUCCESS" and api("DescribeVpcTaskResult", TaskId=task)["Output"] == "SUCCESS"
    assert listed(api, hid) == []
    assert error(api, "DeleteHaVip", HaVipId=hid) == "ResourceNotFound"
    # A VPC task is not an EIP task: DescribeTaskResult does not know it.
    assert error(api, "DescribeTaskResult", TaskId=task) == "InvalidParameter"


def test_allocate_returns_a_numeric_task_and_the_eip_is_creating_until_it_completes(api, slow):
    hid = havip(api)
    answer = api("AllocateAddresses", AddressCount=1)
    task = answer["TaskId"]
    assert isinstance(task, str) and task.isdigit()  # the model: TaskId str, of digits
    [address_id] = answer["AddressSet"]
    result = api("DescribeTaskResult", TaskId=int(task))
    assert (result["TaskId"], result["Result"]) == (int(task), "RUNNING")
    assert status(api, address_id) == ["CREATING"]
    creating = api("DescribeAddresses", Filters=[{"Name": "address-status", "Values": ["CREATING"]}])
    assert [a["AddressId"] for a in creating["AddressSet"]] == [address_id]
    ip = api("DescribeAddresses", AddressIds=[address_id])["AddressSet"][0]["AddressIp"]
    assert error(api, "HaVipAssociateAddressIp", HaVipId=hid, AddressIp=ip) == \
        "UnsupportedOperation.MutexOperationTaskRunning"
    assert error(api, "ReleaseAddresses", AddressIds=[address_id]) == "OperationDenied.MutexTaskRunning"
    assert error(api, "ModifyAddressAttribute", AddressId=address_id, AddressName="x") == \
        "OperationDenied.MutexTaskRunning"
    assert wait_eip_task(api, task)[-1] == "SUCCESS"
    assert status(api, address_id) == ["UNBIND"]
    # An EIP task is not a VPC task.
    assert error(api, "DescribeVpcTaskResult", TaskId=task) == "ResourceNotFound"


def test_release_passes_through_offlining(api, slow):
    [eip] = allocate(api)
    task = api("ReleaseAddresses", AddressIds=[eip["AddressId"]])["TaskId"]
    assert task.isdigit()
    assert api("DescribeTaskResult", TaskId=int(task))["Result"] == "RUNNING"
    assert status(api, eip["AddressId"]) == ["OFFLINING"]
    assert error(api, "ReleaseAddresses", AddressIds=[eip["AddressId"]]) == "OperationDenied.MutexTaskRunning"
    assert wait_eip_task(api, task)[-1] == "SUCCESS"
    assert status(api, eip["AddressId"]) == []
    assert error(api, "ReleaseAddresses", AddressIds=[eip["AddressId"]]) == "InvalidAddressId.NotFound"


def test_eip_task_ids_grow_and_describe_task_result_checks_its_input(api):
    first = int(api("AllocateAddresses")["TaskId"])
    second = int(api("AllocateAddresses")["TaskId"])
    assert second > first
    assert error(api, "DescribeTaskResult") == "MissingParameter"
    assert error(api, "DescribeTaskResult", TaskId="not-a-number") == "InvalidParameter"
    assert error(api, "DescribeTaskResult", TaskId=second + 1000) == "InvalidParameter"
    assert error(api, "DescribeTaskResult", DealName="20260101000000000001") == "InvalidParameter"


def test_bandwidth_change_is_an_eip_task_and_the_name_change_is_immediate(api, slow):
    [eip] = allocate(api, InternetMaxBandwidthOut=5)
    api("ModifyAddressAttribute", AddressId=eip["AddressId"], AddressName="renamed")
    assert api("DescribeAddresses", AddressIds=[eip["AddressId"]])["AddressSet"][0]["AddressName"] == "renamed"
    task = api("ModifyAddressesBandwidth", AddressIds=[eip["AddressId"]], InternetMaxBandwidthOut=20)["TaskId"]
    assert api("DescribeAddresses", AddressIds=[eip["AddressId"]])["AddressSet"][0]["Bandwidth"] == 5
    assert error(api, "ModifyAddressesBandwidth", AddressIds=[eip["AddressId"]], InternetMaxBandwidthOut=30) == \
        "OperationDenied.MutexTaskRunning"
    assert wait_eip_task(api, task)[-1] == "SUCCESS"
    assert api("DescribeAddresses", AddressIds=[eip["AddressId"]])["AddressSet"][0]["Bandwidth"] == 20
    assert error(api, "ModifyAddressesBandwidth", AddressIds=[eip["AddressId"]], InternetMaxBandwidthOut=101) == \
        "InvalidParameterValue.BandwidthOutOfRange"
    assert error(api, "AllocateAddresses", InternetMaxBandwidthOut=0) == "InvalidParameterValue.BandwidthOutOfRange"


def test_bind_then_delete_waits_for_each_task(api, slow):
    hid = havip(api)
    [eip] = allocate(api)
    bind = api("HaVipAssociateAddressIp", HaVipId=hid, AddressIp=eip["AddressIp"])["RequestId"]
    assert status(api, eip["AddressId"]) == ["BINDING"]
    assert error(api, "DeleteHaVip", HaVipId=hid) == "UnsupportedOperation"  # a task runs on it
    assert wait_vpc_task(api, bind)[-1] == "SUCCESS"
    assert error(api, "DeleteHaVip", HaVipId=hid) == "UnsupportedOperation"  # it carries an EIP
    unbind = api("HaVipDisassociateAddressIp", HaVipId=hid)["RequestId"]
    assert status(api, eip["AddressId"]) == ["UNBINDING"]
    assert wait_vpc_task(api, unbind)[-1] == "SUCCESS"
    assert wait_vpc_task(api, api("DeleteHaVip", HaVipId=hid)["RequestId"])[-1] == "SUCCESS"
    assert listed(api, hid) == []
