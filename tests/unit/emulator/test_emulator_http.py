"""Requests as Tencent accepts them (issue 14): TC3 over POST and GET (flattened query, signed), the
documented size limits, Tencent's JSON error for every refusal (never HTML), all of it in the request log."""
import http.client
import json

import pytest
from emulator_support import SUBNET, VPC
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from lab.emulator.actions import ApiError
from lab.emulator.server import MAX_BODY, unflatten


def raw(lab, method, path="/", body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", lab.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


def test_get_with_flattened_parameters_through_the_sdk(lab):
    get = lab.client(method="GET")
    created = get.call_json("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "by-get",
                                            "CheckAssociate": True,
                                            "HaVipAssociationSet": [{"InstanceId": "ins-havip001"}]})["Response"]
    assert created["HaVip"]["CheckAssociate"] is True
    assert created["HaVip"]["HaVipAssociationSet"][0]["InstanceId"] == "ins-havip001"
    found = get.call_json("DescribeHaVips", {"Filters": [{"Name": "havip-name", "Values": ["by-get", "other"]}],
                                             "Limit": 5})["Response"]
    assert [h["HaVipId"] for h in found["HaVipSet"]] == [created["HaVip"]["HaVipId"]]
    entry = lab.admin("/_lab/log?action=DescribeHaVips")["entries"][-1]
    assert entry["method"] == "GET" and entry["params"]["Limit"] == 5
    assert entry["params"]["Filters"] == [{"Name": "havip-name", "Values": ["by-get", "other"]}]
    with pytest.raises(TencentCloudSDKException) as info:
        get.call_json("DescribeHaVips", {"Limit": "many"})
    assert info.value.code == "InvalidParameter"


def test_get_signature_covers_the_query(lab):
    """A GET whose query was changed after signing is refused."""
    get = lab.client(method="GET")
    original = get.request.send_request

    def tamper(req):
        req.data = req.data.replace("Limit=5", "Limit=6")
        return original(req)

    get.request.send_request = tamper
    with pytest.raises(TencentCloudSDKException) as info:
        get.call_json("DescribeHaVips", {"Limit": 5})
    assert info.value.code == "AuthFailure.SignatureFailure"


def test_unflatten():
    assert unflatten([("Filters.0.Name", "vpc-id"), ("Filters.0.Values.0", "a"), ("Filters.0.Values.1", "b"),
                      ("Limit", "10"), ("CheckAssociate", "False"), ("HaVipName", "10")]) == {
        "Filters": [{"Name": "vpc-id", "Values": ["a", "b"]}], "Limit": 10, "CheckAssociate": False, "HaVipName": "10"}
    for pairs in ([("Filters.1.Name", "x")], [("Limit", "1"), ("Limit", "2")], [("A", "1"), ("A.B", "2")]):
        with pytest.raises(ApiError):
            unflatten(pairs)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_tencents_json_error(lab, method):
    status, content_type, body = raw(lab, method)
    assert (status, content_type) == (200, "application/json")
    response = json.loads(body)["Response"]
    assert response["Error"]["Code"] == "UnsupportedProtocol" and len(response["RequestId"]) == 36
    assert lab.admin("/_lab/log")["entries"][-1]["outcome"] == "UnsupportedProtocol"


@pytest.mark.parametrize("path", ["/", "/nothing/here", "/?Action=DescribeVpcs"])
def test_unsigned_requests_anywhere_get_a_json_error(lab, path):
    for method in ("GET", "POST"):
        status, content_type, body = raw(lab, method, path, body=b"{}" if method == "POST" else b"")
        assert (status, content_type) == (200, "application/json")
        assert json.loads(body)["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    assert [e["outcome"] for e in lab.admin("/_lab/log")["entries"]] == ["AuthFailure.InvalidAuthorization"] * 2


def _raw_socket(lab, data: bytes) -> bytes:
    import socket  # noqa: PLC0415 - a raw socket only here

    with socket.create_connection(("127.0.0.1", lab.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_malformed_http_gets_a_json_error(lab):
    # No HTTP version on the request line: an HTTP/0.9 answer (no headers), Tencent's JSON all the same.
    answer = _raw_socket(lab, b"NONSENSE\r\n\r\n")
    assert json.loads(answer)["Response"]["Error"]["Code"] == "UnsupportedProtocol"
    # A header line over http.server's 64 KB: 431, answered as Tencent's size error.
    answer = _raw_socket(lab, b"GET / HTTP/1.1\r\nX-Long: " + b"x" * 70000 + b"\r\n\r\n")
    head, _sep, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Type: application/json" in head
    assert b"<html" not in answer.lower()
    assert json.loads(body)["Response"]["Error"]["Code"] == "RequestSizeLimitExceeded"
    assert [e["outcome"] for e in lab.admin("/_lab/log")["entries"]] == ["UnsupportedProtocol",
                                                                         "RequestSizeLimitExceeded"]


def test_size_limits(lab):
    status, _type, body = raw(lab, "POST", body=b"", headers={"Content-Length": str(MAX_BODY + 1),
                                                              "Content-Type": "application/json"})
    assert json.loads(body)["Response"]["Error"]["Code"] == "RequestSizeLimitExceeded"
    status, _type, body = raw(lab, "GET", "/?HaVipName=" + "x" * (33 << 10))
    assert status == 200 and json.loads(body)["Response"]["Error"]["Code"] == "RequestSizeLimitExceeded"
    assert [e["outcome"] for e in lab.admin("/_lab/log")["entries"]] == ["RequestSizeLimitExceeded"] * 2


def test_a_large_body_under_the_limit_is_accepted(api):
    # 2 MB of parameters, more than the emulator's old 1 MB limit, well under Tencent's 10 MB.
    assert api("DescribeVpcs", Padding="x" * (2 << 20))["TotalCount"] == 1
