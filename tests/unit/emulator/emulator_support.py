"""Support for the emulator tests: the emulator in-process on 127.0.0.1 (port 0), driven by the real SDK.

A uniquely named module (not conftest) so that other test directories' helpers never shadow it."""
import pathlib
import sys
import time

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import vpc_client

ROOT = pathlib.Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lab.emulator.__main__ import build  # noqa: E402
from lab.emulator.admin import AdminClient  # noqa: E402
from lab.emulator.server import serve_in_thread  # noqa: E402
from lab.emulator.signature import Key, KeyRing  # noqa: E402

WORLD = ROOT / "lab" / "emulator" / "world.json"
SECRET_ID = "AKIDlabtest0000000000000000000000001"
SECRET_KEY = "lab-secret-key-never-printed-0001"
TOKEN_ID = "AKIDlabtoken000000000000000000000002"
TOKEN_KEY = "lab-secret-key-with-token-0002"
TOKEN = "lab-session-token-0002"
REGION = "ap-guangzhou"
VPC = "vpc-lab00001"
SUBNET = "subnet-lab00001"
OTHER_SUBNET = "subnet-lab00002"
INS1, INS2, INS_OTHER = "ins-havip001", "ins-havip002", "ins-other001"
MAC1, MAC2, MAC_OTHER = "02:42:ac:10:10:05", "02:42:ac:10:10:06", "02:42:ac:10:11:05"


class Lab(AdminClient):
    """A running emulator plus its admin endpoints (lab.emulator.admin)."""

    def __init__(self, server):
        super().__init__(server.url)
        self.server = server
        self.port = server.server_address[1]

    def client(self, secret_id=SECRET_ID, secret_key=SECRET_KEY, token=None, region=REGION, *, timeout=10,
               method="POST"):
        http = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{self.port}", reqTimeout=timeout, reqMethod=method)
        return vpc_client.VpcClient(credential.Credential(secret_id, secret_key, token), region,
                                    ClientProfile(httpProfile=http))


def unlimited(lab):
    """Lift the per-action rate limit (20/s) for a test whose burst of calls measures something else."""
    lab.admin("/_lab/config", {"rate_limits": {"default": 0}})


def start_lab(clock=time.time, task_delay=0.2):
    keys = KeyRing([Key(SECRET_ID, SECRET_KEY), Key(TOKEN_ID, TOKEN_KEY, TOKEN)])
    server = build(str(WORLD), keys, task_delay=task_delay, listen=("127.0.0.1", 0), clock=clock)
    serve_in_thread(server)
    return Lab(server)


def wait_vpc_task(api, task_id, timeout=5.0):
    """Poll DescribeVpcTaskResult until the task leaves RUNNING; returns the statuses seen."""
    return _wait(lambda: api("DescribeVpcTaskResult", TaskId=task_id)["Status"], task_id, timeout)


def wait_eip_task(api, task_id, timeout=5.0):
    """Poll DescribeTaskResult (TaskId: the digits of AllocateAddresses/ReleaseAddresses, sent as an integer)."""
    return _wait(lambda: api("DescribeTaskResult", TaskId=int(task_id))["Result"], task_id, timeout)


def _wait(poll, task_id, timeout):
    deadline = time.monotonic() + timeout
    statuses = []
    while time.monotonic() < deadline:
        statuses.append(poll())
        if statuses[-1] != "RUNNING":
            return statuses
        time.sleep(0.1)  # 10 polls a second: under Tencent's 20 calls per second and action
    raise AssertionError(f"task {task_id} still running: {statuses[-3:]}")


def allocate(api, **params):
    """AllocateAddresses, wait for its task, return the new EIPs as DescribeAddresses lists them."""
    answer = api("AllocateAddresses", **params)
    assert wait_eip_task(api, answer["TaskId"])[-1] == "SUCCESS"
    return api("DescribeAddresses", AddressIds=answer["AddressSet"])["AddressSet"]


def outcome(call):
    """"OK", or the error code the call raised."""
    try:
        call()
        return "OK"
    except TencentCloudSDKException as exc:
        return exc.code
