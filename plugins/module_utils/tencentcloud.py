# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Tencent Cloud client wrapper of the collection.

Shape after amazon.aws (module_utils/modules.py and retries.py), written for the Tencent Cloud
SDK: ``TencentCloudModule`` wraps AnsibleModule with the shared credential options, builds the VPC
client, and offers one ``call(action, params)`` that retries throttling, internal errors and
transport errors with jittered exponential backoff (bounded attempts). Every SDK error ends in one
place, ``fail_sdk``, which reports the action, Tencent's error code, message and request id.
Waiters poll DescribeVpcTaskResult, or any predicate, until a timeout.

The SDK's own ``StandardRetryer`` is not used: in tencentcloud-sdk-python-common 3.1.195 it keeps
the error of a failed attempt and raises it even after a later attempt succeeded.
"""

import hashlib
import ipaddress
import random
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

SDK_IMPORT_ERROR = None
try:
    from tencentcloud.common import credential
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


RETRYABLE_CODES = frozenset([
    "RequestLimitExceeded",
    "RequestLimitExceeded.UinLimitExceeded",
    "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
    "InternalError",
    "ClientNetworkError",  # transport: connection refused, reset, timeout
    "ServerNetworkError",  # transport: a non-200 answer
])
# Codes meaning "no such HAVIP/EIP" for a Describe by id: the result is "nothing found".
NOT_FOUND_CODES = ("ResourceNotFound", "InvalidParameterValue.ResourceNotFound", "InvalidHaVipId.NotFound",
                   "InvalidAddressId.NotFound", "InvalidParameterValue.AddressNotFound")
MAX_RETRY_DELAY = 20.0
TASK_POLL_DELAY = 1.0
NEVER_FLUSHED = "0000-00-00 00:00:00"


def tencentcloud_argument_spec():
    """The options every module of the collection takes (documented in doc_fragments/tencentcloud.py)."""
    return dict(
        secret_id=dict(type="str", required=True, no_log=False,
                       fallback=(env_fallback, ["TENCENTCLOUD_SECRET_ID"])),
        secret_key=dict(type="str", required=True, no_log=True,
                        fallback=(env_fallback, ["TENCENTCLOUD_SECRET_KEY"])),
        session_token=dict(type="str", no_log=True, fallback=(env_fallback, ["TENCENTCLOUD_SESSION_TOKEN"])),
        region=dict(type="str", required=True, fallback=(env_fallback, ["TENCENTCLOUD_REGION"])),
        endpoint=dict(type="str", fallback=(env_fallback, ["TENCENTCLOUD_ENDPOINT"])),
        scheme=dict(type="str", default="https", choices=["https", "http"]),
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


def client_token(*parts):
    """A deterministic ClientToken (<= 64 ASCII characters): a retried create never makes two."""
    digest = hashlib.sha256("\x1f".join(to_text(p) for p in parts).encode("utf-8")).hexdigest()
    return "havip-tc-" + digest[:48]


def check_address_in_subnet(address, cidr):
    """R1: a given HAVIP address must lie inside the subnet's CIDR and must not be reserved
    (network, gateway = first host, broadcast: for 10.0.0.0/24 only 10.0.0.2 - 10.0.0.254).
    Returns an error text, or None when the address may be used."""
    try:
        ip = ipaddress.ip_address(to_text(address))
    except ValueError:
        return f"{address} is not an IP address"
    net = ipaddress.ip_network(to_text(cidr), strict=False)
    if ip.version != 4 or ip not in net:
        return f"{address} is not inside the subnet's CIDR {net} (R1)"
    if ip in (net.network_address, net.network_address + 1, net.broadcast_address):
        gateway = net.network_address + 1
        return (f"{address} is reserved in {net}: the network address, the gateway ({gateway}) "
                "and the broadcast address cannot be used (R1)")
    return None


def snake_tags(tag_set):
    return dict((t.get("Key"), t.get("Value", "")) for t in tag_set or [])


def api_tags(tags):
    return [{"Key": k, "Value": to_text(v if v is not None else "")} for k, v in sorted((tags or {}).items())]


def havip_to_dict(h):
    """A HaVip as the modules return it (snake_case)."""
    if not h:
        return {}
    return {
        "id": h.get("HaVipId"),
        "name": h.get("HaVipName"),
        "vip": h.get("Vip"),
        "vpc_id": h.get("VpcId"),
        "subnet_id": h.get("SubnetId"),
        "state": h.get("State"),
        "instance_id": h.get("InstanceId") or "",
        "network_interface_id": h.get("NetworkInterfaceId") or "",
        "address_ip": h.get("AddressIp") or "",
        "created_time": h.get("CreatedTime"),
        "flushed_time": h.get("FlushedTime") or NEVER_FLUSHED,
        "check_associate": bool(h.get("CheckAssociate")),
        "associated_instances": [a.get("InstanceId") for a in h.get("HaVipAssociationSet") or []],
        "tags": snake_tags(h.get("TagSet")),
    }


def address_to_dict(a):
    """An EIP (Address) as the modules return it (snake_case)."""
    if not a:
        return {}
    return {
        "id": a.get("AddressId"),
        "name": a.get("AddressName") or "",
        "address_ip": a.get("AddressIp"),
        "status": a.get("AddressStatus"),
        "instance_id": a.get("InstanceId") or "",
        "instance_type": a.get("InstanceType") or "",
        "network_interface_id": a.get("NetworkInterfaceId") or "",
        "private_address_ip": a.get("PrivateAddressIp") or "",
        "bandwidth": a.get("Bandwidth"),
        "internet_charge_type": a.get("InternetChargeType") or "",
        "created_time": a.get("CreatedTime"),
        "tags": snake_tags(a.get("TagSet")),
    }


def api_filters(filters):
    """{"vpc-id": "vpc-1"} or {"vip": ["a", "b"]} -> [{"Name": ..., "Values": [...]}]."""
    result = []
    for name, value in sorted((filters or {}).items()):
        values = value if isinstance(value, (list, tuple)) else [value]
        result.append({"Name": to_text(name), "Values": [to_text(v) for v in values]})
    return result


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
        if not HAS_SDK:
            self.module.fail_json(msg=missing_required_lib("tencentcloud-sdk-python-common and -vpc"),
                                  exception=SDK_IMPORT_ERROR)
        for name in ("request_timeout", "max_attempts"):
            if self.params[name] < 1:
                self.fail_json(msg=f"{name} must be at least 1, got {self.params[name]}")
        if self.params["retry_delay"] < 0:
            self.fail_json(msg="retry_delay must not be negative, got {}".format(self.params["retry_delay"]))

    # --- pass-through ----------------------------------------------------------------------
    def fail_json(self, **kwargs):
        self.module.fail_json(**kwargs)

    def exit_json(self, **kwargs):
        self.module.exit_json(**kwargs)

    def warn(self, text):
        self.module.warn(text)

    # --- the client --------------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            p = self.params
            cred = credential.Credential(p["secret_id"], p["secret_key"], p["session_token"] or None)
            http = HttpProfile(protocol=p["scheme"], endpoint=p["endpoint"] or None, reqTimeout=p["request_timeout"])
            profile = ClientProfile(httpProfile=http, language="en-US")
            self._client = vpc_client.VpcClient(cred, p["region"], profile)
        return self._client

    def call(self, action, params=None, retry_codes=None):
        """One API call with bounded retries; returns the Response dict (with its RequestId, which is
        the task id of asynchronous actions).

        Raises TencentCloudSDKException for errors that are not retried or that outlast the
        attempts; callers either handle a specific code or let ``fail_sdk`` report it.
        """
        retryable = RETRYABLE_CODES | frozenset(retry_codes or ())
        delays = backoff_delays(self.params["max_attempts"], self.params["retry_delay"])
        attempt = 0
        while True:
            try:
                return dict(self.client.call_json(action, params or {}).get("Response") or {})
            except TencentCloudSDKException as exc:
                transient = exc.code in retryable or (exc.code or "").startswith("RequestLimitExceeded")
                if not transient or attempt >= len(delays):
                    raise
                self._sleep(delays[attempt])
                attempt += 1

    def call_or_fail(self, action, params=None, **kwargs):
        try:
            return self.call(action, params)
        except TencentCloudSDKException as exc:
            self.fail_sdk(exc, action, **kwargs)

    def fail_sdk(self, exc, action, msg=None, **kwargs):
        """The one place an SDK error becomes a task failure: action, code, message, request id."""
        code = getattr(exc, "code", None) or "Unknown"
        message = self._scrub(to_text(getattr(exc, "message", None) or exc))
        text = f"{action} failed: {code}: {message}"
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

    # --- waiting ---------------------------------------------------------------------------
    def wait_until(self, predicate, timeout, what, delay=TASK_POLL_DELAY):
        """Call ``predicate()`` until it returns something truthy; fail after ``timeout`` seconds."""
        deadline = time.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.time() >= deadline:
                self.fail_json(msg=f"timed out after {timeout}s waiting for {what}")
            self._sleep(min(delay, max(deadline - time.time(), 0.05)))

    def wait_for_task(self, task_id, timeout, action, delay=TASK_POLL_DELAY):
        """Poll DescribeVpcTaskResult until the asynchronous task ``task_id`` left RUNNING."""
        state = {}

        def done():
            state.update(self.call_or_fail("DescribeVpcTaskResult", {"TaskId": task_id}))
            return state.get("Status") in ("SUCCESS", "FAILED")

        self.wait_until(done, timeout, f"{action} task {task_id} to finish", delay)
        if state.get("Status") == "FAILED":
            self.fail_json(msg="{} task {} failed: {}".format(action, task_id, state.get("Output") or "no detail"),
                           request_id=task_id, action=action)
        return state
