# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

class ModuleDocFragment:
    # Credentials, region and endpoint, shared by every module of the collection.
    DOCUMENTATION = r"""
options:
  secret_id:
    description:
      - Tencent Cloud API SecretId.
      - If not set, the value of the E(TENCENTCLOUD_SECRET_ID) environment variable is used.
      - Without O(secret_id) and O(secret_key), the credentials come, through the SDK's own providers,
        from O(cam_role_name) (the CVM's CAM role, read from the instance metadata) when given, else
        from the SDK's profile file (C(~/.tencentcloud/credentials), then
        C(/etc/tencentcloud/credentials), section C([default])).
    type: str
  secret_key:
    description:
      - Tencent Cloud API SecretKey. Never logged nor returned.
      - If not set, the value of the E(TENCENTCLOUD_SECRET_KEY) environment variable is used.
    type: str
  session_token:
    description:
      - Session token of temporary credentials (STS).
      - If not set, the value of the E(TENCENTCLOUD_SESSION_TOKEN) environment variable is used.
    type: str
  cam_role_name:
    description:
      - On a CVM, the name of the CAM role bound to the instance; temporary keys are read from the
        instance metadata (C(cam/security-credentials/ROLE)) and renewed by the SDK.
      - Used only when O(secret_id) and O(secret_key) are not set.
      - If not set, the value of the E(TENCENTCLOUD_CAM_ROLE_NAME) environment variable is used.
    type: str
  metadata_endpoint:
    description:
      - Base URL of the instance metadata service for O(cam_role_name), for example a proxy or the
        lab's emulator (V(http://127.0.0.1:8781)). Defaults to the SDK's C(http://metadata.tencentyun.com).
      - If not set, the value of the E(TENCENTCLOUD_METADATA_ENDPOINT) environment variable is used.
    type: str
  role_arn:
    description:
      - Assume this CAM role (STS C(AssumeRole)) with the credentials found as above; every call is
        then made with the role's temporary keys.
      - If not set, the value of the E(TENCENTCLOUD_ASSUME_ROLE_ARN) environment variable is used.
    type: str
  role_session_name:
    description:
      - The session name of O(role_arn) (required with it).
      - If not set, the value of the E(TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME) environment variable is used.
    type: str
  role_duration:
    description:
      - Validity of the assumed role's keys, in seconds (900 - 43200).
      - If not set, the value of the E(TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION) environment variable is used.
    type: int
    default: 7200
  sts_endpoint:
    description:
      - STS endpoint for O(role_arn), C(host[:port]) over HTTPS. Defaults to the SDK's C(sts.tencentcloudapi.com).
      - If not set, the value of the E(TENCENTCLOUD_STS_ENDPOINT) environment variable is used.
    type: str
  region:
    description:
      - The region of the VPC, for example V(ap-guangzhou).
      - If not set, the value of the E(TENCENTCLOUD_REGION) environment variable is used.
    type: str
    required: true
  endpoint:
    description:
      - The API endpoint as C(host[:port]). Defaults to the SDK's C(vpc.tencentcloudapi.com).
      - Point it at the lab's emulator (for example V(127.0.0.1:8780) with O(scheme=http)) to rehearse
        a playbook locally.
      - If not set, the value of the E(TENCENTCLOUD_ENDPOINT) environment variable is used.
    type: str
  scheme:
    description:
      - Protocol used to reach O(endpoint).
      - If not set, the value of the E(TENCENTCLOUD_SCHEME) environment variable is used.
      - TLS and name resolution errors fail at once (no retry), with a hint.
    type: str
    choices: [https, http]
    default: https
  request_timeout:
    description:
      - Timeout of one HTTP request, in seconds (1 - 600).
    type: int
    default: 30
  max_attempts:
    description:
      - How many times one API call is attempted (1 - 20) when it is throttled (C(RequestLimitExceeded*)),
        meets an internal error (C(InternalError), C(InternalError.ModuleError)), a task running on the
        resource (C(UnsupportedOperation.MutexOperationTaskRunning), C(OperationDenied.MutexTaskRunning)),
        or a transport error (a lost answer).
      - A change sent without C(ClientToken) (delete, rename, (dis)associations, release) is never
        sent again blindly after an answer that may hide a success; the state is read first, and a
        reached goal is a success.
      - Attempts are separated by an exponential backoff with jitter, starting at O(retry_delay)
        and capped at 20 seconds.
    type: int
    default: 6
  retry_delay:
    description:
      - Base delay of the backoff between attempts, in seconds (0 - 60).
      - A throttled call (C(RequestLimitExceeded*)) waits at least one second before its retry,
        whatever this says, because Tencent counts its rate limits per second.
    type: float
    default: 1.0
notes:
  - Requires the C(tencentcloud-sdk-python-common) and C(tencentcloud-sdk-python-vpc) Python packages
    on the host that runs the module (usually the controller, with C(delegate_to=localhost)).
  - All modules belong to the action group C(havip.tencentcloud.tencentcloud), so credentials can be
    set once with C(module_defaults).
requirements:
  - tencentcloud-sdk-python-common
  - tencentcloud-sdk-python-vpc
"""
