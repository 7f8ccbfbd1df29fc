"""What every module shares: credentials, errors, retries, secrets, info modules, module_utils helpers."""
import importlib
import json
import pathlib

import pytest
import yaml
from ansible_collections.havip.tencentcloud.plugins.module_utils import havip as havip_utils
from ansible_collections.havip.tencentcloud.plugins.module_utils import tencentcloud as tc
from modules_support import SECRET_ID, SECRET_KEY, SUBNET, VPC, patch_module_args

MODULES = ["havip", "havip_info", "havip_eip", "eip", "eip_info"]


def test_wrong_key_fails_with_code_and_request_id_and_no_secret(run, lab):
    result = run("havip_info", credentials=False, secret_id=SECRET_ID, secret_key="wrong-" + SECRET_KEY,
                 region="ap-guangzhou", endpoint=f"127.0.0.1:{lab.port}", scheme="http")
    assert result["failed"]
    assert result["error_code"] == "AuthFailure.SignatureFailure"
    assert result["request_id"]
    assert "wrong-" + SECRET_KEY not in result.raw


def test_credentials_come_from_the_environment(run, lab, monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("TENCENTCLOUD_REGION", "ap-guangzhou")
    monkeypatch.setenv("TENCENTCLOUD_ENDPOINT", f"127.0.0.1:{lab.port}")
    result = run("havip_info", credentials=False, scheme="http")
    assert result.get("failed") is not True, result
    assert result["havips"] == []
    assert SECRET_KEY not in result.raw


def test_missing_credentials_are_named(run, monkeypatch, tmp_path):
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.tencentcloud/credentials profile file
    result = run("havip_info", credentials=False)
    assert result["failed"] and "region" in result["msg"]
    result = run("havip_info", credentials=False, region="ap-guangzhou")
    assert result["failed"]
    for name in ("secret_id", "secret_key", "profile file", "cam_role_name"):
        assert name in result["msg"]


def test_secret_key_never_in_output_even_with_diff_and_errors(run, lab):
    lab.admin("/_lab/faults", {"internal_error": 10})
    outputs = [run("havip", name="x", vpc_id=VPC, subnet_id=SUBNET, diff=True, max_attempts=2).raw]
    lab.admin("/_lab/faults", {"internal_error": 0})
    outputs.append(run("havip", name="x", vpc_id=VPC, subnet_id=SUBNET, diff=True).raw)
    outputs.append(run("eip", name="x", diff=True).raw)
    for raw in outputs:
        assert SECRET_KEY not in raw
    assert json.loads(outputs[0])["error_code"] == "InternalError"


def test_transport_errors_are_retried_then_reported(run):
    result = run("havip_info", credentials=False, secret_id=SECRET_ID, secret_key=SECRET_KEY, region="ap-guangzhou",
                 endpoint="127.0.0.1:9", scheme="http", max_attempts=2, retry_delay=0.01, request_timeout=2)
    assert result["failed"] and result["error_code"] == "ClientNetworkError"


def test_info_pagination_goes_through_every_page(run, lab):
    lab.admin("/_lab/config", {"quotas": {"havips_per_vpc": 200}})
    for n in range(105):
        lab.server.vpc.dispatch("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": f"p{n}"}, f"req-{n}")
    lab.reset_calls()
    found = run("havip_info", filters={"vpc-id": VPC})["havips"]
    assert len(found) == 105
    assert len({h["id"] for h in found}) == 105
    assert lab.calls()["by_action"]["DescribeHaVips"] == 2


def test_info_rejects_ids_with_filters(run):
    result = run("havip_info", ids=["havip-00000000"], filters={"vpc-id": VPC})
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_backoff_is_exponential_jittered_and_capped():
    low = tc.backoff_delays(6, 1.0, cap=10, rand=lambda: 0.0)
    high = tc.backoff_delays(6, 1.0, cap=10, rand=lambda: 0.999999)
    assert low == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert high == pytest.approx([1.0, 2.0, 4.0, 8.0, 10.0], rel=1e-5)
    assert tc.backoff_delays(1, 1.0) == []


def test_client_token_is_new_per_invocation_short_and_ascii():
    one = tc.new_client_token()
    assert one != tc.new_client_token()
    assert len(one) <= 64 and one.isascii()


@pytest.mark.parametrize(("address", "cidr", "ok"), [
    ("10.0.0.2", "10.0.0.0/24", True),
    ("10.0.0.254", "10.0.0.0/24", True),
    ("10.0.0.0", "10.0.0.0/24", False),
    ("10.0.0.1", "10.0.0.0/24", False),
    ("10.0.0.255", "10.0.0.0/24", False),
    ("10.0.1.5", "10.0.0.0/24", False),
    ("not-an-ip", "10.0.0.0/24", False),
    ("172.16.16.12", "172.16.16.0/24", True),
])
def test_r1_address_rule(address, cidr, ok):
    assert (havip_utils.check_address_in_subnet(address, cidr) is None) is ok


@pytest.mark.parametrize("name", MODULES)
def test_every_module_is_in_the_action_group_and_documented(name):
    root = pathlib.Path(tc.__file__).resolve().parents[2]
    runtime = yaml.safe_load((root / "meta" / "runtime.yml").read_text())
    assert name in runtime["action_groups"]["tencentcloud"]
    module = importlib.import_module(f"ansible_collections.havip.tencentcloud.plugins.modules.{name}")
    for block in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
        assert yaml.safe_load(getattr(module, block))


class FakeClient:
    """Answers call_json with the given error codes in turn (None: success), counting calls."""

    def __init__(self, codes):
        self.codes = list(codes)
        self.calls = 0

    def call_json(self, action, params):
        self.calls += 1
        code = self.codes.pop(0)
        if code:
            raise tc.TencentCloudSDKException(code, "injected", "req-1")
        return {"Response": {"RequestId": "req-2", "Action": action}}


def make_module(**extra):
    args = dict(secret_id=SECRET_ID, secret_key=SECRET_KEY, region="ap-guangzhou", retry_delay=0.0)
    args.update(extra)
    sleeps = []
    with patch_module_args(args):
        module = tc.TencentCloudModule(argument_spec={}, sleep=sleeps.append)
    return module, sleeps


def test_call_retries_transient_codes_only():
    module, sleeps = make_module()
    module._client = FakeClient(["RequestLimitExceeded.IPLimitExceeded", "InternalError", "ServerNetworkError", None])
    assert module.call("DescribeVpcs") == {"RequestId": "req-2", "Action": "DescribeVpcs"}
    assert module._client.calls == 4 and len(sleeps) == 3
    module._client = FakeClient(["InvalidParameter", None])
    with pytest.raises(tc.TencentCloudSDKException):
        module.call("DescribeVpcs")
    assert module._client.calls == 1


def test_call_attempts_are_bounded():
    module, sleeps = make_module(max_attempts=3)
    module._client = FakeClient(["RequestLimitExceeded"] * 5)
    with pytest.raises(tc.TencentCloudSDKException) as info:
        module.call("DescribeVpcs")
    assert info.value.code == "RequestLimitExceeded"
    assert module._client.calls == 3 and len(sleeps) == 2


# --- credentials through the SDK's providers, against the emulator's STS and instance metadata -----------------
def test_a_cvm_cam_role_from_the_instance_metadata(run, lab, monkeypatch):
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = run("havip_info", credentials=False, region="ap-guangzhou", endpoint=f"127.0.0.1:{lab.port}",
                 scheme="http", cam_role_name="havip-lab", metadata_endpoint=lab.url)
    assert result.get("failed") is not True, result
    entry = lab.admin("/_lab/log?action=DescribeHaVips")["entries"][-1]
    assert entry["outcome"] == "OK"
    unknown = run("havip_info", credentials=False, region="ap-guangzhou", endpoint=f"127.0.0.1:{lab.port}",
                  scheme="http", cam_role_name="no-such-role", metadata_endpoint=lab.url)
    assert unknown["failed"] and "cam_role_name no-such-role" in unknown["msg"]


def test_an_assumed_role_through_sts(run, lab):
    arn = "qcs::cam::uin/100000000001:roleName/havip-lab"
    result = run("havip_info", role_arn=arn, role_session_name="integ", sts_endpoint=f"127.0.0.1:{lab.port}")
    assert result.get("failed") is not True, result
    calls = lab.admin("/_lab/log")["entries"]
    assert [e["action"] for e in calls][-2:] == ["AssumeRole", "DescribeHaVips"]
    assert calls[-1]["outcome"] == "OK"
    refused = run("havip_info", role_arn="qcs::cam::uin/100000000001:roleName/nobody", role_session_name="integ",
                  sts_endpoint=f"127.0.0.1:{lab.port}")
    assert refused["failed"] and refused["action"] == "AssumeRole" and "role_arn" in refused["msg"]


def test_a_tls_error_fails_at_once_with_a_hint(run, lab):
    # https against the emulator's plain http port: the TLS handshake fails; no retry can cure that.
    result = run("havip_info", credentials=False, secret_id=SECRET_ID, secret_key=SECRET_KEY, region="ap-guangzhou",
                 endpoint=f"127.0.0.1:{lab.port}", scheme="https", max_attempts=6, retry_delay=1.0)
    assert result["failed"] and result["error_code"] == "ClientNetworkError"
    assert "not retried" in result["msg"] and "TLS" in result["msg"]


def test_a_name_that_does_not_resolve_fails_at_once_with_a_hint(run):
    result = run("havip_info", credentials=False, secret_id=SECRET_ID, secret_key=SECRET_KEY, region="ap-guangzhou",
                 endpoint="vpc.does-not-exist.invalid", scheme="http", max_attempts=6, retry_delay=1.0)
    assert result["failed"] and result["error_code"] == "ClientNetworkError"
    assert "not retried" in result["msg"] and "resolve" in result["msg"]


def test_a_throttled_call_waits_out_the_rate_window_whatever_retry_delay_says():
    """R-cloud: Tencent's limit is per second; retries at retry_delay=0.01 would all land in the
    second that refused them (the emulator counts refused calls too)."""
    module, sleeps = make_module(retry_delay=0.01)
    module._client = FakeClient(["RequestLimitExceeded.UinLimitExceeded", "InternalError", None])
    module.call("DescribeVpcs")
    assert sleeps[0] >= tc.THROTTLE_WINDOW and sleeps[1] <= 0.02  # an internal error keeps the schedule
