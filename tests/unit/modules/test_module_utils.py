"""module_utils/tencentcloud.py on its own: retry policy, error mapping, credentials precedence, secrets."""
import contextlib
import io
import json

import pytest
from ansible_collections.havip.tencentcloud.plugins.module_utils import tencentcloud as tc
from modules_support import REGION, SECRET_ID, SECRET_KEY, patch_module_args

ENV = ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_REGION",
       "TENCENTCLOUD_ENDPOINT", "TENCENTCLOUD_SCHEME", "TENCENTCLOUD_CAM_ROLE_NAME", "TENCENTCLOUD_METADATA_ENDPOINT",
       "TENCENTCLOUD_ASSUME_ROLE_ARN", "TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME",
       "TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION", "TENCENTCLOUD_STS_ENDPOINT")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


class FakeClient:
    """Answers call_json with the given error codes in turn (None: success)."""

    def __init__(self, codes, message="injected"):
        self.codes = list(codes)
        self.message = message
        self.calls = 0

    def call_json(self, action, params):
        self.calls += 1
        code = self.codes.pop(0)
        if code:
            raise tc.TencentCloudSDKException(code, self.message, f"req-{self.calls}")
        return {"Response": {"RequestId": f"req-{self.calls}"}}


def make_module(**args):
    sleeps = []
    with patch_module_args(args):
        module = tc.TencentCloudModule(argument_spec={}, sleep=sleeps.append)
    module.test_args = args  # fail_json needs the module arguments in place (ansible-core 2.19)
    return module, sleeps


def full_args(**extra):
    args = dict(secret_id=SECRET_ID, secret_key=SECRET_KEY, region=REGION)
    args.update(extra)
    return args


def exit_result(function, *args, **kwargs):
    """What a fail_json/exit_json printed, as a dict (plus the raw text)."""
    owner = getattr(function, "__self__", None)
    module_args = getattr(owner, "test_args", kwargs if owner is None else {})
    out = io.StringIO()
    with patch_module_args(module_args), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        function(*args, **kwargs)
    return json.loads(out.getvalue()), out.getvalue()


# --- retry ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["RequestLimitExceeded", "RequestLimitExceeded.UinLimitExceeded",
                                  "RequestLimitExceeded.GlobalRegionUinLimitExceeded", "InternalError",
                                  "InternalError.ModuleError", "InternalServerError",
                                  "UnsupportedOperation.MutexOperationTaskRunning", "OperationDenied.MutexTaskRunning",
                                  "ClientNetworkError", "ServerNetworkError"])
def test_transient_codes_are_retried(code):
    module, sleeps = make_module(**full_args(retry_delay=0.5))
    module._client = FakeClient([code, code, None])
    assert module.call("DescribeHaVips")["RequestId"] == "req-3"
    assert len(sleeps) == 2


@pytest.mark.parametrize("code", ["AuthFailure.SignatureFailure", "AuthFailure.SecretIdNotFound", "InvalidParameter",
                                  "InvalidParameterValue.Range", "MissingParameter", "ResourceNotFound",
                                  "UnsupportedOperation.BindEIP", "LimitExceeded", "ResourceInUse.Address"])
def test_other_codes_fail_at_once(code):
    module, sleeps = make_module(**full_args())
    module._client = FakeClient([code, None])
    with pytest.raises(tc.TencentCloudSDKException) as info:
        module.call("CreateHaVip")
    assert info.value.code == code
    assert module._client.calls == 1 and sleeps == []


def test_extra_retry_codes_can_be_given_per_call():
    module, sleeps = make_module(**full_args())
    module._client = FakeClient(["ResourceInUse", None])
    module.call("DescribeHaVips", retry_codes=["ResourceInUse"])
    assert module._client.calls == 2 and len(sleeps) == 1


def test_sleeps_follow_the_jittered_bounded_schedule():
    module, sleeps = make_module(**full_args(max_attempts=6, retry_delay=1.0))
    module._client = FakeClient(["RequestLimitExceeded"] * 6)
    with pytest.raises(tc.TencentCloudSDKException):
        module.call("DescribeHaVips")
    assert module._client.calls == 6 and len(sleeps) == 5
    for n, slept in enumerate(sleeps):
        ceiling = min(tc.MAX_RETRY_DELAY, 2.0 ** n)
        assert ceiling / 2 <= slept <= ceiling
    assert sum(sleeps) <= 1 + 2 + 4 + 8 + 16


def test_jitter_spreads_parallel_clients():
    schedules = {tuple(tc.backoff_delays(4, 1.0)) for _n in range(20)}
    assert len(schedules) > 1  # not a fixed schedule: parallel hosts do not retry in lock-step


def test_backoff_never_exceeds_the_cap_however_many_attempts():
    delays = tc.backoff_delays(30, 2.0, cap=5.0)
    assert len(delays) == 29 and max(delays) <= 5.0 and min(delays[3:]) >= 2.5


@pytest.mark.parametrize(("option", "value"), [("max_attempts", 0), ("request_timeout", 0), ("retry_delay", -1.0),
                                               ("max_attempts", 2000), ("request_timeout", 100000),
                                               ("retry_delay", 61.0), ("role_duration", 60)])
def test_nonsense_retry_options_are_refused(option, value):
    result, _raw = exit_result(make_module, **full_args(**{option: value}))
    low, high = tc.BOUNDS[option]
    assert result["failed"] and "Traceback" not in _raw
    assert result["msg"] == f"{option} must be between {low} and {high}, got {value}"


# --- mutations without ClientToken: read the state before a retry --------------------------------------------
@pytest.mark.parametrize("code", ["InternalError", "InternalError.ModuleError", "ClientNetworkError"])
def test_a_lost_answer_whose_goal_is_reached_is_a_success_without_a_second_call(code):
    module, sleeps = make_module(**full_args())
    module._client = FakeClient([code, None])
    reads = []
    answer = module.call("DeleteHaVip", {"HaVipId": "havip-1"}, reached=lambda: reads.append(1) or True)
    assert isinstance(answer, tc.GoalReached)
    assert module._client.calls == 1 and reads == [1] and len(sleeps) == 1


def test_a_goal_not_reached_is_retried_then_the_retry_counts():
    module, _sleeps = make_module(**full_args())
    module._client = FakeClient(["InternalError.ModuleError", None])
    answer = module.call("HaVipAssociateAddressIp", {}, reached=lambda: False)
    assert answer["RequestId"] == "req-2" and not isinstance(answer, tc.GoalReached)


def test_after_an_uncertain_attempt_a_failing_retry_still_succeeds_when_the_goal_holds():
    module, _sleeps = make_module(**full_args())
    state = {"reads": 0}

    def reached():  # not yet before the retry, done when the retry failed (the first attempt's task ended)
        state["reads"] += 1
        return state["reads"] > 1

    module._client = FakeClient(["InternalError", "ResourceNotFound"])
    assert isinstance(module.call("DeleteHaVip", {}, reached=reached), tc.GoalReached)


def test_a_generic_busy_code_is_retried_only_after_an_uncertain_attempt():
    module, _sleeps = make_module(**full_args())
    module._client = FakeClient(["UnsupportedOperation", None])
    with pytest.raises(tc.TencentCloudSDKException):
        module.call("DeleteHaVip", {}, reached=lambda: False, busy_codes=("UnsupportedOperation",))
    module._client = FakeClient(["InternalError", "UnsupportedOperation", None])
    assert module.call("DeleteHaVip", {}, reached=lambda: False,
                       busy_codes=("UnsupportedOperation",))["RequestId"] == "req-3"


def test_after_an_uncertain_attempt_busy_refusals_are_waited_out_without_spending_the_attempts():
    # Our own lost request is the task that runs: more refusals than max_attempts, then the goal.
    module, sleeps = make_module(**full_args(max_attempts=2))
    module._client = FakeClient(["InternalError"] + ["UnsupportedOperation"] * 5 + [None])
    reads = []
    answer = module.call("DeleteHaVip", {}, reached=lambda: reads.append(1) and False,
                         busy_codes=("UnsupportedOperation",))
    assert answer["RequestId"] == "req-7" and module._client.calls == 7 and len(sleeps) == 6
    # ... but not forever: past MAX_BUSY_WAITS refusals the attempts count again, then it fails.
    module._client = FakeClient(["InternalError"] + ["UnsupportedOperation"] * (tc.MAX_BUSY_WAITS + 2))
    with pytest.raises(tc.TencentCloudSDKException):
        module.call("DeleteHaVip", {}, reached=lambda: False, busy_codes=("UnsupportedOperation",))
    assert module._client.calls == 1 + tc.MAX_BUSY_WAITS + 1  # the lost one, the waited ones, the last


def test_mutate_reports_every_call_with_its_outcome():
    module, _sleeps = make_module(**full_args())
    module._client = FakeClient([None, "InternalError"])
    module.mutate("ModifyHaVipAttribute", {}, report={"havip_id": "havip-1"})
    module.mutate("DeleteHaVip", {}, reached=lambda: True, report={"havip_id": "havip-1"})
    assert module.calls == [
        {"action": "ModifyHaVipAttribute", "havip_id": "havip-1", "outcome": "OK", "request_id": "req-1"},
        {"action": "DeleteHaVip", "havip_id": "havip-1", "outcome": "goal already reached", "request_id": ""}]


# --- TLS and DNS errors fail fast ----------------------------------------------------------------------------
@pytest.mark.parametrize(("message", "hint"), [
    ("HTTPSConnectionPool: SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED]'))", "TLS"),
    ("HTTPConnectionPool: NameResolutionError: Failed to resolve 'vpc.nowhere' (Name or service not known)", "DNS"),
])
def test_tls_and_dns_errors_are_not_retried_and_carry_a_hint(message, hint):
    module, sleeps = make_module(**full_args())
    module._client = FakeClient(["ClientNetworkError", None], message=message)
    result, _raw = exit_result(module.call_or_fail, "DescribeHaVips", {})
    assert module._client.calls == 1 and sleeps == []
    assert "not retried" in result["msg"] and hint in result["msg"]


# --- error mapping ---------------------------------------------------------------------------------------
def test_fail_sdk_reports_action_code_message_and_request_id():
    module, _sleeps = make_module(**full_args())
    exc = tc.TencentCloudSDKException("InvalidParameterValue.Range", "The Vip is not inside the subnet.", "req-42")
    result, _raw = exit_result(module.fail_sdk, exc, "CreateHaVip", msg="cannot create HAVIP 'web'",
                               havip_id="havip-12345678")
    assert result["failed"]
    assert result["msg"] == ("cannot create HAVIP 'web' (CreateHaVip failed: InvalidParameterValue.Range: "
                             "The Vip is not inside the subnet.)")
    assert (result["error_code"], result["error_message"], result["request_id"], result["action"]) == (
        "InvalidParameterValue.Range", "The Vip is not inside the subnet.", "req-42", "CreateHaVip")
    assert result["havip_id"] == "havip-12345678"


def test_call_or_fail_maps_the_last_error_after_retries():
    module, sleeps = make_module(**full_args(max_attempts=2))
    module._client = FakeClient(["InternalError", "InternalError"])
    result, _raw = exit_result(module.call_or_fail, "DescribeSubnets", {})
    assert result["error_code"] == "InternalError" and result["request_id"] == "req-2"
    assert len(sleeps) == 1


def test_an_exception_without_code_is_still_reported():
    module, _sleeps = make_module(**full_args())
    result, _raw = exit_result(module.fail_sdk, tc.TencentCloudSDKException(None, "boom", None), "DescribeVpcs")
    assert result["error_code"] == "Unknown" and result["request_id"] == "" and "boom" in result["msg"]


def test_describe_all_treats_listed_codes_as_nothing_found():
    module, _sleeps = make_module(**full_args())
    module._client = FakeClient(["ResourceNotFound"])
    assert module.describe_all("DescribeHaVips", {"HaVipIds": ["havip-00000000"]}, "HaVipSet",
                               empty_on=tc.NOT_FOUND_CODES) == []
    module._client = FakeClient(["UnauthorizedOperation"])
    result, _raw = exit_result(module.describe_all, "DescribeHaVips", {}, "HaVipSet", empty_on=tc.NOT_FOUND_CODES)
    assert result["error_code"] == "UnauthorizedOperation"


# --- credentials ------------------------------------------------------------------------------------------
def test_parameters_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDfromenv")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "key-from-env")
    monkeypatch.setenv("TENCENTCLOUD_SESSION_TOKEN", "token-from-env")
    monkeypatch.setenv("TENCENTCLOUD_REGION", "ap-shanghai")
    monkeypatch.setenv("TENCENTCLOUD_ENDPOINT", "env.example:1")
    module, _sleeps = make_module(secret_id="AKIDparam", secret_key="key-param", session_token="token-param",
                                  region="ap-guangzhou", endpoint="127.0.0.1:9")
    cred = module.client.credential
    assert (cred.secret_id, cred.secret_key, cred.token) == ("AKIDparam", "key-param", "token-param")
    assert module.client.region == "ap-guangzhou"
    assert module.client.profile.httpProfile.endpoint == "127.0.0.1:9"


def test_the_environment_fills_what_parameters_leave_out(monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDfromenv")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "key-from-env")
    monkeypatch.setenv("TENCENTCLOUD_SESSION_TOKEN", "token-from-env")
    monkeypatch.setenv("TENCENTCLOUD_REGION", "ap-shanghai")
    module, _sleeps = make_module(secret_id="AKIDparam")
    cred = module.client.credential
    assert (cred.secret_id, cred.secret_key, cred.token) == ("AKIDparam", "key-from-env", "token-from-env")
    assert module.client.region == "ap-shanghai"


def test_scheme_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SCHEME", "http")
    module, _sleeps = make_module(**full_args())
    assert module.client.profile.httpProfile.scheme == "http"


def test_the_sdk_profile_file_is_used_without_keys(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".tencentcloud").mkdir()
    (tmp_path / ".tencentcloud" / "credentials").write_text(
        "[default]\nsecret_id = AKIDprofile\nsecret_key = key-from-profile\n")
    module, _sleeps = make_module(region=REGION)
    cred = module.client.credential
    assert (cred.secret_id, cred.secret_key) == ("AKIDprofile", "key-from-profile")


@pytest.mark.parametrize(("args", "text"), [
    ({"secret_id": "AKIDonly"}, "secret_id is set but secret_key is not"),
    ({"secret_key": "key-only"}, "secret_key is set but secret_id is not"),
    ({"secret_id": "AKID", "secret_key": "k", "role_arn": "qcs::cam::uin/1:roleName/x"},
     "role_arn needs role_session_name"),
])
def test_half_given_credentials_are_refused(args, text):
    result, _raw = exit_result(make_module, region=REGION, **args)
    assert result["failed"] and text in result["msg"]


def test_no_session_token_means_none_and_scheme_and_timeout_reach_the_sdk():
    module, _sleeps = make_module(**full_args(scheme="http", request_timeout=7))
    assert module.client.credential.token is None
    assert module.client.profile.httpProfile.scheme == "http"
    assert module.client.profile.httpProfile.reqTimeout == 7


def test_missing_region_is_named():
    result, _raw = exit_result(make_module)
    assert result["failed"] and "region" in result["msg"]


def test_no_credentials_anywhere_names_every_source(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    module, _sleeps = make_module(region=REGION)
    result, _raw = exit_result(module.base_credential)
    for source in ("secret_id", "secret_key", "TENCENTCLOUD_SECRET_ID", "profile file", "cam_role_name"):
        assert source in result["msg"]


# --- secrets ------------------------------------------------------------------------------------------------
def test_secrets_are_scrubbed_from_error_messages_and_never_printed():
    module, _sleeps = make_module(**full_args(session_token="session-token-secret-1"))
    exc = tc.TencentCloudSDKException("AuthFailure.TokenFailure",
                                      f"bad token session-token-secret-1 for key {SECRET_KEY}", "req-1")
    result, raw = exit_result(module.fail_sdk, exc, "DescribeVpcs")
    assert SECRET_KEY not in raw and "session-token-secret-1" not in raw
    assert "********" in result["error_message"]


def test_secret_options_are_no_log():
    spec = tc.tencentcloud_argument_spec()
    assert spec["secret_key"]["no_log"] is True and spec["session_token"]["no_log"] is True
    assert spec["secret_id"]["no_log"] is False  # an identifier, shown in errors to say which key failed
