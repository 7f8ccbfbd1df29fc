"""TC3-HMAC-SHA256 verification and the API envelope, through the real SDK."""
import json
import time
import urllib.request

import pytest
from emulator_support import SECRET_ID, SECRET_KEY, TOKEN, TOKEN_ID, TOKEN_KEY, start_lab
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException


def code_of(call):
    with pytest.raises(TencentCloudSDKException) as info:
        call()
    assert info.value.requestId, "every error carries a RequestId"
    return info.value.code


def test_signed_call_succeeds_and_carries_a_request_id(lab):
    response = lab.client().call_json("DescribeVpcs", {})["Response"]
    assert response["TotalCount"] == 1
    assert len(response["RequestId"]) == 36


def test_wrong_secret_key_is_signature_failure(lab):
    client = lab.client(secret_key=SECRET_KEY + "x")
    assert code_of(lambda: client.call_json("DescribeVpcs", {})) == "AuthFailure.SignatureFailure"


def test_unknown_secret_id(lab):
    client = lab.client(secret_id="AKIDunknown")
    assert code_of(lambda: client.call_json("DescribeVpcs", {})) == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize("skew", [301, -301])
def test_timestamp_out_of_window_is_expired(skew):
    lab = start_lab(clock=lambda: time.time() + skew)
    try:
        assert code_of(lambda: lab.client().call_json("DescribeVpcs", {})) == "AuthFailure.SignatureExpire"
    finally:
        lab.server.shutdown()
        lab.server.server_close()


def test_timestamp_inside_window_is_accepted():
    lab = start_lab(clock=lambda: time.time() + 250)
    try:
        assert lab.client().call_json("DescribeVpcs", {})["Response"]["TotalCount"] == 1
    finally:
        lab.server.shutdown()
        lab.server.server_close()


def test_session_token_is_checked(lab):
    assert lab.client(TOKEN_ID, TOKEN_KEY, TOKEN).call_json("DescribeVpcs", {})["Response"]["TotalCount"] == 1
    bad = lab.client(TOKEN_ID, TOKEN_KEY, "wrong-token")
    assert code_of(lambda: bad.call_json("DescribeVpcs", {})) == "AuthFailure.TokenFailure"
    missing = lab.client(TOKEN_ID, TOKEN_KEY)
    assert code_of(lambda: missing.call_json("DescribeVpcs", {})) == "AuthFailure.TokenFailure"


def test_tampered_body_fails_signature(lab):
    """Sign one body, send another: the payload hash is part of the canonical request."""
    client = lab.client()
    original = client.request.send_request
    seen = []

    def tamper(req):
        seen.append(req.data)
        req.data = req.data.replace('"HaVipName": "a"', '"HaVipName": "b"')
        return original(req)

    client.request.send_request = tamper
    params = {"HaVipName": "a", "HaVipId": "havip-00000000"}
    assert code_of(lambda: client.call_json("ModifyHaVipAttribute", params)) == "AuthFailure.SignatureFailure"
    assert '"HaVipName": "a"' in seen[0]
    client.request.send_request = original
    # Untampered, the same call passes authentication and reaches the action.
    assert code_of(lambda: client.call_json("ModifyHaVipAttribute", params)) == "ResourceNotFound"


def test_missing_authorization_header_is_rejected(lab):
    req = urllib.request.Request(lab.url + "/", data=b"{}", method="POST", headers={
        "Content-Type": "application/json", "X-TC-Action": "DescribeVpcs", "X-TC-Version": "2017-03-12",
        "X-TC-Region": "ap-guangzhou", "X-TC-Timestamp": str(int(time.time()))})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        body = json.loads(resp.read())
    assert body["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    assert body["Response"]["RequestId"]


def test_unknown_action_is_invalid_action(lab):
    assert code_of(lambda: lab.client().call_json("RunInstances", {})) == "InvalidAction"


def test_other_region_is_refused(lab):
    client = lab.client(region="ap-shanghai")
    assert code_of(lambda: client.call_json("DescribeVpcs", {})) == "UnsupportedRegion"


def test_secret_key_never_in_any_answer(lab):
    client = lab.client(secret_key=SECRET_KEY + "x")
    with pytest.raises(TencentCloudSDKException) as info:
        client.call_json("DescribeVpcs", {})
    assert SECRET_KEY not in str(info.value)
    assert SECRET_ID not in str(info.value)
