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
    type: str
    required: true
  secret_key:
    description:
      - Tencent Cloud API SecretKey. Never logged nor returned.
      - If not set, the value of the E(TENCENTCLOUD_SECRET_KEY) environment variable is used.
    type: str
    required: true
  session_token:
    description:
      - Session token of temporary credentials (STS).
      - If not set, the value of the E(TENCENTCLOUD_SESSION_TOKEN) environment variable is used.
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
    type: str
    choices: [https, http]
    default: https
  request_timeout:
    description:
      - Timeout of one HTTP request, in seconds.
    type: int
    default: 30
  max_attempts:
    description:
      - How many times one API call is attempted when it is throttled (C(RequestLimitExceeded*)),
        meets C(InternalError), or a transport error.
      - Attempts are separated by an exponential backoff with jitter, starting at O(retry_delay)
        and capped at 20 seconds.
    type: int
    default: 6
  retry_delay:
    description:
      - Base delay of the backoff between attempts, in seconds.
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
