# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Tencent Cloud client of the collection: options, credentials, retries, errors.

Shape after amazon.aws (module_utils/modules.py and retries.py), written for the Tencent Cloud
SDK: ``TencentCloudModule`` wraps AnsibleModule with the shared options, builds the VPC client
from the SDK's own credential providers, and offers one ``call(action, params)`` that retries
throttling, internal errors, running tasks and lost answers with jittered exponential backoff
(bounded attempts). A mutation sent without ClientToken passes ``reached``: after an answer that
may hide a success, the state is read before any retry, and a reached goal is a success.
Every SDK error ends in one place, ``fail_sdk``. Per-resource reading and waiting lives in
havip.py, eip.py and tasks.py.

The SDK's own ``StandardRetryer`` is not used: in tencentcloud-sdk-python-common 3.1.195 it keeps
the error of a failed attempt and raises it even after a later attempt succeeded.
"""

import random
import time
import traceback
import uuid

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

SDK_IMPORT_ERROR = None
try:
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.vpc.v20170312 import vpc_client
    HAS_SDK = True
except ImportError:
    HAS_SDK = False
    SDK_IMPORT_ERROR = traceback.format_exc()

    class TencentCloudSDKException(Exception):  # placeholder so that except clauses stay valid
        def __init__(self, code=None, message=None, requestId=None):
            super().__init__(message)
            self.code = code
            self.message = message
            self.requestId = requestId


# Transient: the same request may succeed later. Throttling (any RequestLimitExceeded*), internal
# errors, a task already running on the resource (VPC: UnsupportedOperation.MutexOperationTaskRunning,
# EIP actions: OperationDenied.MutexTaskRunning), and the transport.
RETRYABLE_CODES = frozenset([
    "RequestLimitExceeded",
    "InternalError",
    "InternalError.ModuleError",
    "InternalServerError",  # DescribeTaskResult, ModifyAddressesBandwidth
    "UnsupportedOperation.MutexOperationTaskRunning",
    "OperationDenied.MutexTaskRunning",
    "ClientNetworkError",  # transport: connection refused, reset, timeout
    "ServerNetworkError",  # transport: a non-200 answer
])
# After these the request may have been applied although no answer says so: a mutation without
# ClientToken reads the state before it is sent again.
UNCERTAIN_CODES = frozenset(["InternalError", "InternalError.ModuleError", "InternalServerError",
                             "ClientNetworkError", "ServerNetworkError"])
# A transport error no retry can cure: fail at once, with a hint.
FATAL_TRANSPORT = (
    (("CERTIFICATE_VERIFY_FAILED", "SSLError", "SSL:", "WRONG_VERSION_NUMBER"),
     "TLS failed: check scheme (https needs a TLS endpoint; the lab's emulator speaks http) and the CA bundle"),
    (("NameResolutionError", "Name or service not known", "nodename nor servname", "Temporary failure in name "
      "resolution", "getaddrinfo failed", "No address associated with hostname"),
     "the endpoint's host name does not resolve: check endpoint and region, and DNS"),
)
# Codes meaning "no such HAVIP/EIP" for a Describe by id: the result is "nothing found".
NOT_FOUND_CODES = ("ResourceNotFound", "InvalidParameterValue.ResourceNotFound", "InvalidHaVipId.NotFound",
                   "InvalidAddressId.NotFound", "InvalidParameterValue.AddressNotFound")
MAX_RETRY_DELAY = 20.0
# Tencent limits each action to N requests per second per SecretId, and a refused call may count
# too: a throttled call waits at least this long, so that its retry falls in a fresh window
# (a retry_delay of 0.01 would otherwise spend every attempt inside the second that refused it).
THROTTLE_WINDOW = 1.0
# After an uncertain attempt, a "task running" refusal is most likely our own request at work: such
# refusals are waited out (at the last backoff delay) without spending the attempts, this many times.
MAX_BUSY_WAITS = 30
# Bounds of the shared numeric options: (minimum, maximum).
BOUNDS = {
    "request_timeout": (1, 600),
    "max_attempts": (1, 20),
    "retry_delay": (0, 60),
    "role_duration": (900, 43200),  # STS AssumeRole DurationSeconds
}
# A check-mode run hands the next module placeholders that start with this; they are never looked up.
PLANNED = "planned-"


def tencentcloud_argument_spec():
    """The options every module of the collection takes (documented in doc_fragments/tencentcloud.py)."""
    return dict(
        secret_id=dict(type="str", no_log=False, fallback=(env_fallback, ["TENCENTCLOUD_SECRET_ID"])),
        secret_key=dict(type="str", no_log=True, fallback=(env_fallback, ["TENCENTCLOUD_SECRET_KEY"])),
        session_token=dict(type="str", no_log=True, fallback=(env_fallback, ["TENCENTCLOUD_SESSION_TOKEN"])),
        cam_role_name=dict(type="str", fallback=(env_fallback, ["TENCENTCLOUD_CAM_ROLE_NAME"])),
        metadata_endpoint=dict(type="str", fallback=(env_fallback, ["TENCENTCLOUD_METADATA_ENDPOINT"])),
        role_arn=dict(type="str", fallback=(env_fallback, ["TENCENTCLOUD_ASSUME_ROLE_ARN"])),
        role_session_name=dict(type="str", fallback=(env_fallback, ["TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME"])),
        role_duration=dict(type="int", default=7200,
                           fallback=(env_fallback, ["TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION"])),
        sts_endpoint=dict(type="str", fallback=(env_fallback, ["TENCENTCLOUD_STS_ENDPOINT"])),
        region=dict(type="str", required=True, fallback=(env_fallback, ["TENCENTCLOUD_REGION"])),
        endpoint=dict(type="str", fallback=(env_fallback, ["TENCENTCLOUD_ENDPOINT"])),
        scheme=dict(type="str", default="https", choices=["https", "http"],
                    fallback=(env_fallback, ["TENCENTCLOUD_SCHEME"])),
        request_timeout=dict(type="int", default=30),
        max_attempts=dict(type="int", default=6),
        retry_delay=dict(type="float", default=1.0),
    )


def backoff_delays(attempts, base, cap=MAX_RETRY_DELAY, rand=random.random):
    """Delays before attempts 2..attempts: exponential, capped, with "equal jitter" (half fixed,
    half random), so that parallel hosts hitting the same limit spread out."""
    delays = []
    for n in range(max(attempts - 1, 0)):
        ceiling = min(cap, base * (2 ** n))
        delays.append(ceiling / 2.0 + rand() * ceiling / 2.0)
    return delays


def new_client_token():
    """A ClientToken for one invocation (<= 64 ASCII characters): its own retries reuse it, so a
    retried create never makes two; the next run finds the resource by name instead."""
    return "havip-tc-" + uuid.uuid4().hex


def is_planned(value):
    return isinstance(value, str) and value.startswith(PLANNED)


def snake_tags(tag_set):
    return dict((t.get("Key"), t.get("Value", "")) for t in tag_set or [])


def api_tags(tags):
    return [{"Key": k, "Value": to_text(v if v is not None else "")} for k, v in sorted((tags or {}).items())]


def wanted_tags(tags):
    """The tags option as Tencent stores them (values as text)."""
    return dict((k, to_text(v if v is not None else "")) for k, v in (tags or {}).items())


def api_filters(filters):
    """{"vpc-id": "vpc-1"} or {"vip": ["a", "b"]} -> [{"Name": ..., "Values": [...]}]."""
    result = []
    for name, value in sorted((filters or {}).items()):
        values = value if isinstance(value, (list, tuple)) else [value]
        result.append({"Name": to_text(name), "Values": [to_text(v) for v in values]})
    return result


def fatal_transport_hint(exc):
    """The hint for a transport error that retrying cannot cure (TLS, DNS), else None."""
    if getattr(exc, "code", None) != "ClientNetworkError":
        return None
    text = to_text(getattr(exc, "message", None) or exc)
    for needles, hint in FATAL_TRANSPORT:
        if any(n in text for n in needles):
            return hint
    return None


def is_throttled(exc):
    """Any RequestLimitExceeded* code: Tencent's per-second rate limits."""
    return (getattr(exc, "code", None) or "").startswith("RequestLimitExceeded")


def is_transient(exc, retry_codes=()):
    code = getattr(exc, "code", None) or ""
    if fatal_transport_hint(exc):
        return False
    return code in RETRYABLE_CODES or code in retry_codes or is_throttled(exc)


if HAS_SDK:
    class AssumedRole(credential.STSAssumeRoleCredential):
        """The SDK's STS provider (it renews the keys before they expire), with two changes: the
        STS call follows the module's ``scheme`` and timeout (the SDK always uses https), and the
        base credentials may carry a token (a CVM role's keys; the SDK drops it)."""

        def __init__(self, base, role_arn, session_name, *, duration, endpoint, http):
            secret_id, secret_key, token = base.get_credential_info()
            super().__init__(secret_id, secret_key, role_arn, session_name, duration, endpoint=endpoint)
            self._base_token = token
            self._http = http

        def get_sts_tmp_role_arn(self):
            http = HttpProfile(protocol=self._http["scheme"], endpoint=self._endpoint, reqTimeout=self._http["timeout"])
            client = CommonClient("sts", self._version, credential.Credential(
                self._long_secret_id, self._long_secret_key, self._base_token), self._region,
                profile=ClientProfile(httpProfile=http, language="en-US"))
            request = {"RoleArn": self._role_arn, "RoleSessionName": self._role_session_name,
                       "DurationSeconds": self._duration_seconds}
            answer = client.call_json("AssumeRole", request)["Response"]
            self._token = answer["Credentials"]["Token"]
            self._tmp_secret_id = answer["Credentials"]["TmpSecretId"]
            self._tmp_secret_key = answer["Credentials"]["TmpSecretKey"]
            # Renewed when 90 % of the validity is gone, as the SDK does.
            self._expired_time = answer["ExpiredTime"] - self._duration_seconds * 0.9


class GoalReached(dict):
    """What ``call`` returns when a mutation's goal was found reached before a retry: the answer
    of the attempt that did it was lost, so there is no RequestId or TaskId to wait for."""


class TencentCloudModule:
    """AnsibleModule plus the Tencent Cloud client: credentials, endpoint, retries, error mapping."""

    def __init__(self, argument_spec=None, sleep=time.sleep, **kwargs):
        spec = tencentcloud_argument_spec()
        spec.update(argument_spec or {})
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self._sleep = sleep
        self._client = None
        self._credential = None
        self.calls = []  # every mutating call made, in order, for the result
        if not HAS_SDK:
            self.module.fail_json(msg=missing_required_lib("tencentcloud-sdk-python-common and -vpc"),
                                  exception=SDK_IMPORT_ERROR)
        self.check_bounds(BOUNDS)
        if bool(self.params["secret_id"]) != bool(self.params["secret_key"]):
            given, missing = ("secret_id", "secret_key") if self.params["secret_id"] else ("secret_key", "secret_id")
            self.fail_json(msg=f"{given} is set but {missing} is not: give both (or neither, to use a profile "
                               "file or cam_role_name)")
        if self.params["role_arn"] and not self.params["role_session_name"]:
            self.fail_json(msg="role_arn needs role_session_name (the STS AssumeRole session name)")

    def check_bounds(self, bounds):
        """Numeric options within their range, before anything is called."""
        for name, (low, high) in bounds.items():
            value = self.params.get(name)
            if value is not None and not low <= value <= high:
                self.fail_json(msg=f"{name} must be between {low} and {high}, got {value}")

    # --- pass-through ----------------------------------------------------------------------
    def fail_json(self, **kwargs):
        if self.calls:
            kwargs.setdefault("calls", self.calls)
        self.module.fail_json(**kwargs)

    def exit_json(self, **kwargs):
        if not self.module.argument_spec.get("ids"):  # the info modules (ids, filters) change nothing
            kwargs.setdefault("calls", self.calls)
        self.module.exit_json(**kwargs)

    def warn(self, text):
        self.module.warn(text)

    # --- credentials and client ------------------------------------------------------------------
    def base_credential(self):
        """Keys from the parameters or the environment, else the SDK's profile file
        (~/.tencentcloud/credentials, /etc/tencentcloud/credentials), else the CVM's CAM role read
        from the instance metadata (only when cam_role_name is given: off a CVM the metadata host
        does not exist)."""
        p = self.params
        if p["secret_id"] and p["secret_key"]:
            return credential.Credential(p["secret_id"], p["secret_key"], p["session_token"] or None)
        if p["cam_role_name"]:
            role = credential.CVMRoleCredential(p["cam_role_name"])
            if p["metadata_endpoint"]:
                # The SDK keeps the metadata URL as a class attribute; this instance reads another.
                base = p["metadata_endpoint"].rstrip("/") + "/latest/meta-data/"
                role._metadata_endpoint = base
                role._role_endpoint = base + "cam/security-credentials/"
            if role.get_credential() is None:
                self.fail_json(msg="cam_role_name {}: the instance metadata gave no credentials (is this a CVM "
                                   "with that CAM role? metadata_endpoint {})".format(
                                       p["cam_role_name"], p["metadata_endpoint"] or "default"))
            return role
        found = credential.ProfileCredential().get_credential()
        if found is None:
            self.fail_json(msg="no credentials: give secret_id and secret_key (or TENCENTCLOUD_SECRET_ID and "
                               "TENCENTCLOUD_SECRET_KEY), a profile file ~/.tencentcloud/credentials, "
                               "or cam_role_name on a CVM")
        return found

    @property
    def credential(self):
        if self._credential is None:
            p = self.params
            cred = self.base_credential()
            if p["role_arn"]:
                sts = AssumedRole(cred, p["role_arn"], p["role_session_name"], duration=p["role_duration"],
                                  endpoint=p["sts_endpoint"] or "sts.tencentcloudapi.com",
                                  http={"scheme": p["scheme"], "timeout": p["request_timeout"]})
                try:
                    sts.get_credential_info()
                except TencentCloudSDKException as exc:
                    self.fail_sdk(exc, "AssumeRole", msg=f"cannot assume role_arn {p['role_arn']}")
                cred = sts
            self._credential = cred
        return self._credential

    @property
    def client(self):
        if self._client is None:
            p = self.params
            http = HttpProfile(protocol=p["scheme"], endpoint=p["endpoint"] or None, reqTimeout=p["request_timeout"])
            profile = ClientProfile(httpProfile=http, language="en-US")
            self._client = vpc_client.VpcClient(self.credential, p["region"], profile)
        return self._client

    # --- calling -----------------------------------------------------------------------------------
    def call(self, action, params=None, *, retry_codes=(), reached=None, busy_codes=()):
        """One API call with bounded retries; returns the Response dict.

        ``reached`` (for a mutation without ClientToken): a function that reads the state and
        returns something truthy when the goal of the call holds. It is asked before each retry
        that follows an uncertain failure (lost answer, internal error, a running task), and
        when the retry then fails; a reached goal returns ``GoalReached``. ``busy_codes``: the
        action's generic refusal while a task runs on the resource (DeleteHaVip documents only
        UnsupportedOperation), retried only after an uncertain attempt (then it is our own task).
        Raises TencentCloudSDKException for errors that are not retried or outlast the attempts.
        """
        delays = backoff_delays(self.params["max_attempts"], self.params["retry_delay"])
        attempt, uncertain, busy_waits = 0, False, 0
        while True:
            try:
                return dict(self.client.call_json(action, params or {}).get("Response") or {})
            except TencentCloudSDKException as exc:
                uncertain = uncertain or exc.code in UNCERTAIN_CODES
                busy = uncertain and exc.code in busy_codes
                if busy and delays and busy_waits < MAX_BUSY_WAITS:
                    busy_waits += 1
                    self._sleep(delays[min(attempt, len(delays) - 1)])
                    if reached is not None and reached():
                        return GoalReached()
                    continue
                transient = is_transient(exc, retry_codes) or busy
                if not transient or attempt >= len(delays):
                    if reached is not None and uncertain and reached():
                        return GoalReached()
                    raise
                self._sleep(max(delays[attempt], THROTTLE_WINDOW) if is_throttled(exc) else delays[attempt])
                attempt += 1
                if reached is not None and reached():
                    return GoalReached()

    def call_or_fail(self, action, params=None, **kwargs):
        try:
            return self.call(action, params)
        except TencentCloudSDKException as exc:
            self.fail_sdk(exc, action, **kwargs)

    def mutate(self, action, params, *, msg=None, reached=None, report=None, busy_codes=()):
        """A change: recorded in ``calls`` (what the result reports), retried as ``call`` does,
        and mapped to a task failure if it fails. Never called in check mode."""
        entry = dict(report or {}, action=action)
        self.calls.append(entry)
        try:
            answer = self.call(action, params, reached=reached, busy_codes=busy_codes)
        except TencentCloudSDKException as exc:
            entry["outcome"] = getattr(exc, "code", None) or "Unknown"
            self.fail_sdk(exc, action, msg=msg)
        entry["outcome"] = "goal already reached" if isinstance(answer, GoalReached) else "OK"
        entry["request_id"] = answer.get("RequestId", "")
        return answer

    def try_mutate(self, action, params, *, reached=None, report=None):
        """Like ``mutate``, but returns (answer, exception) instead of failing: for callers that
        undo earlier steps before they fail."""
        entry = dict(report or {}, action=action)
        self.calls.append(entry)
        try:
            answer = self.call(action, params, reached=reached)
        except TencentCloudSDKException as exc:
            entry["outcome"] = getattr(exc, "code", None) or "Unknown"
            return None, exc
        entry["outcome"] = "goal already reached" if isinstance(answer, GoalReached) else "OK"
        entry["request_id"] = answer.get("RequestId", "")
        return answer, None

    def fail_sdk(self, exc, action, msg=None, **kwargs):
        """The one place an SDK error becomes a task failure: action, code, message, request id."""
        code = getattr(exc, "code", None) or "Unknown"
        message = self._scrub(to_text(getattr(exc, "message", None) or exc))
        text = f"{action} failed: {code}: {message}"
        hint = fatal_transport_hint(exc)
        if hint:
            text += f" (not retried: {hint})"
        if msg:
            text = f"{msg} ({text})"
        self.fail_json(msg=text, error_code=code, error_message=message,
                       request_id=getattr(exc, "requestId", None) or "", action=action, **kwargs)

    def _scrub(self, text):
        for secret in (self.params.get("secret_key"), self.params.get("session_token")):
            if secret:
                text = text.replace(secret, "********")
        return text

    # --- reading ---------------------------------------------------------------------------
    def describe_all(self, action, params, set_key, page_size=100, empty_on=()):
        """Every item of a paginated Describe* call (Offset/Limit, Limit <= 100).

        Error codes listed in ``empty_on`` (for example ResourceNotFound for ids that do not exist)
        mean "nothing found"; other errors fail the task.
        """
        items, offset = [], 0
        while True:
            query = dict(params or {})
            query.update(Offset=offset, Limit=page_size)
            try:
                page = self.call(action, query)
            except TencentCloudSDKException as exc:
                if exc.code in empty_on:
                    return items
                self.fail_sdk(exc, action)
            batch = page.get(set_key) or []
            items.extend(batch)
            offset += len(batch)
            if not batch or offset >= (page.get("TotalCount") or 0):
                return items

    def find(self, action, ids_key, set_key):
        """The items an info module asks for: by ``ids`` (sent as ``ids_key``) or ``filters``, all
        pages; "not found" is an empty list."""
        query = {}
        if self.params.get("ids"):
            query[ids_key] = self.params["ids"]
        if self.params.get("filters"):
            query["Filters"] = api_filters(self.params["filters"])
        return self.describe_all(action, query, set_key, empty_on=NOT_FOUND_CODES)

    def the_one_named(self, found, name, *, id_key, what, hint, result_key):
        """The one resource of ``found`` (those named ``name``), None, or a failure naming every match:
        names are not unique on Tencent Cloud, and picking one of several would act on a stranger."""
        if len(found) > 1:
            ids = [r[id_key] for r in found]
            self.fail_json(msg=f"name {name!r} matches {len(ids)} {what} ({', '.join(ids)}): {hint}",
                           **{result_key: ids})
        return found[0] if found else None

    # --- waiting ---------------------------------------------------------------------------
    def wait_until(self, predicate, timeout, what, delay=1.0):
        """Call ``predicate()`` until it returns something truthy; fail after ``timeout`` seconds."""
        deadline = time.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.time() >= deadline:
                self.fail_json(msg=f"timed out after {timeout}s waiting for {what}")
            self._sleep(min(delay, max(deadline - time.time(), 0.05)))
