"""Temporary credentials (issue 14): STS AssumeRole and a CVM role's instance metadata issue keys that
the VPC side accepts with their token, through the SDK's own CommonClient and CVMRoleCredential."""
import re
import urllib.error
import urllib.request

import pytest
from emulator_support import REGION, SECRET_ID, SECRET_KEY
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

ARN = "qcs::cam::uin/100000000001:roleName/havip-lab"


def sts_client(lab, secret_id=SECRET_ID, secret_key=SECRET_KEY):
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=f"127.0.0.1:{lab.port}"))
    return CommonClient("sts", "2018-08-13", credential.Credential(secret_id, secret_key), REGION, profile=profile)


def error(call):
    with pytest.raises(TencentCloudSDKException) as info:
        call()
    return info.value.code


def test_assume_role_issues_keys_the_vpc_accepts_with_their_token(lab):
    answer = sts_client(lab).call_json("AssumeRole", {"RoleArn": ARN, "RoleSessionName": "ansible-1",
                                                      "DurationSeconds": 900})["Response"]
    creds = answer["Credentials"]
    assert set(creds) == {"Token", "TmpSecretId", "TmpSecretKey"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", answer["Expiration"])
    assert isinstance(answer["ExpiredTime"], int)
    vpc = lab.client(creds["TmpSecretId"], creds["TmpSecretKey"], token=creds["Token"])
    assert vpc.call_json("DescribeVpcs", {})["Response"]["TotalCount"] == 1
    without_token = lab.client(creds["TmpSecretId"], creds["TmpSecretKey"])
    assert error(lambda: without_token.call_json("DescribeVpcs", {})) == "AuthFailure.TokenFailure"
    entry = lab.admin("/_lab/log?action=AssumeRole")["entries"][-1]
    assert entry["outcome"] == "OK" and creds["TmpSecretKey"] not in str(lab.admin("/_lab/log"))


def test_assume_role_refusals(lab):
    client = sts_client(lab)
    assert error(lambda: client.call_json("AssumeRole", {"RoleArn": ARN.replace("havip-lab", "other"),
                                                         "RoleSessionName": "s1"})) == "ResourceNotFound.RoleNotFound"
    assert error(lambda: client.call_json("AssumeRole", {"RoleArn": "arn:aws:iam::1:role/x",
                                                         "RoleSessionName": "s1"})) == "InvalidParameter.ResouceError"
    assert error(lambda: client.call_json("AssumeRole", {"RoleArn": ARN, "RoleSessionName": "s1",
                                                         "DurationSeconds": 50000})) == "InvalidParameter.OverTimeError"
    assert error(lambda: client.call_json("AssumeRole", {"RoleArn": ARN})) == "MissingParameter"
    wrong = sts_client(lab, secret_key="wrong")
    assert error(lambda: wrong.call_json("AssumeRole", {"RoleArn": ARN, "RoleSessionName": "s1"})) == \
        "AuthFailure.SignatureFailure"


def test_temporary_keys_expire(lab):
    creds = sts_client(lab).call_json("AssumeRole", {"RoleArn": ARN, "RoleSessionName": "short",
                                                     "DurationSeconds": 900})["Response"]["Credentials"]
    key = lab.server.keys.get(creds["TmpSecretId"])
    lab.server.keys.add(type(key)(key.secret_id, key.secret_key, key.token, expires=1.0))  # long past
    vpc = lab.client(creds["TmpSecretId"], creds["TmpSecretKey"], token=creds["Token"])
    assert error(lambda: vpc.call_json("DescribeVpcs", {})) == "AuthFailure.TokenFailure"


def test_cvm_role_credential_reads_the_lab_metadata(lab):
    base = f"http://127.0.0.1:{lab.port}/latest/meta-data/cam/security-credentials/"
    with urllib.request.urlopen(base, timeout=10) as resp:
        assert resp.read().decode() == "havip-lab"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(base + "nobody", timeout=10)
    assert info.value.code == 404
    provider = credential.CVMRoleCredential()
    provider._role_endpoint = base  # the SDK hard-codes metadata.tencentyun.com; the test points it here
    secret_id, secret_key, token = provider.get_credential_info()
    assert secret_id.startswith("AKIDtmp") and token
    vpc = lab.client(secret_id, secret_key, token=token)
    assert vpc.call_json("DescribeVpcs", {})["Response"]["TotalCount"] == 1
