"""The lab side: fault injection, call counting, admin endpoint rules, world loading, CLI, ARP parsing."""
import json
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from emulator_support import ROOT, SECRET_ID, SECRET_KEY, WORLD
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.retry import StandardRetryer
from tencentcloud.vpc.v20170312 import vpc_client

from lab.emulator import arp_watch
from lab.emulator.arp_watch import ArpFrame
from lab.emulator.server import Handler
from lab.emulator.store import Store, WorldError


def test_throttle_and_internal_error_injection(lab, api):
    lab.admin("/_lab/faults", {"throttle": 2, "internal_error": 1})
    codes = []
    for _attempt in range(4):
        try:
            api("DescribeVpcs")
            codes.append("OK")
        except TencentCloudSDKException as exc:
            codes.append(exc.code)
    assert codes == ["RequestLimitExceeded", "RequestLimitExceeded", "InternalError", "OK"]
    assert lab.admin("/_lab/faults")["throttle"] == 0


def test_faults_can_target_actions_and_add_latency(lab, api):
    lab.admin("/_lab/faults", {"throttle": 1, "actions": ["DescribeSubnets"], "latency": 1.0})
    started = time.monotonic()
    api("DescribeVpcs")
    assert time.monotonic() - started < 0.9
    with pytest.raises(TencentCloudSDKException):
        api("DescribeSubnets")
    started = time.monotonic()
    api("DescribeSubnets")
    assert time.monotonic() - started >= 1.0


def test_sdk_standard_retryer_keeps_a_stale_error(lab):
    """SDK fact (tencentcloud-sdk-python-common 3.1.195): StandardRetryer never clears the error of a
    failed attempt, so after one throttled attempt it raises even though a retry succeeded. This is
    why plugins/module_utils/tencentcloud.py retries by itself instead of using it."""
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=f"127.0.0.1:{lab.port}"),
                            retryer=StandardRetryer(max_attempts=3, backoff_fn=lambda n: 0.01))
    client = vpc_client.VpcClient(credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou", profile)
    assert client.call_json("DescribeVpcs", {})["Response"]["TotalCount"] == 1
    lab.admin("/_lab/faults", {"throttle": 1})
    with pytest.raises(TencentCloudSDKException) as info:
        client.call_json("DescribeVpcs", {})
    assert info.value.code == "RequestLimitExceeded"
    # 1 clean call + 3 attempts, of which the 2nd and 3rd succeeded on the server.
    assert lab.admin("/_lab/calls")["by_action"]["DescribeVpcs"] == 4


def test_calls_are_counted_per_action(lab, api):
    api("DescribeVpcs")
    api("CreateHaVip", VpcId="vpc-lab00001", SubnetId="subnet-lab00001", HaVipName="x")
    with pytest.raises(TencentCloudSDKException):
        api("DeleteHaVip", HaVipId="havip-zzzzzzzz")
    calls = lab.admin("/_lab/calls")
    assert (calls["total"], calls["mutating"], calls["read"]) == (3, 2, 1)
    assert calls["by_action"] == {"CreateHaVip": 1, "DeleteHaVip": 1, "DescribeVpcs": 1}
    assert lab.admin("/_lab/calls/reset", {})["total"] == 0


def test_admin_rejects_bad_input(lab):
    for path, payload in [("/_lab/faults", {"throttle": -1}), ("/_lab/config", {"task_delay": "x"}),
                          ("/_lab/announce", {"vip": "172.16.16.12"}), ("/_lab/instances", [{"InstanceId": "x"}])]:
        with pytest.raises(urllib.error.HTTPError) as info:
            lab.admin(path, payload)
        assert info.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as info:
        lab.admin("/_lab/nothing", {})
    assert info.value.code == 404


def test_admin_is_refused_to_non_loopback_clients(lab):
    handler = Handler.__new__(Handler)
    handler.client_address = ("172.16.16.5", 40000)
    assert not handler._is_loopback()
    handler.client_address = ("127.0.0.1", 40000)
    assert handler._is_loopback()


def test_config_changes_task_delay(lab, api):
    lab.admin("/_lab/config", {"task_delay": 0})
    havip = api("CreateHaVip", VpcId="vpc-lab00001", SubnetId="subnet-lab00001", HaVipName="x")["HaVip"]
    ip = api("DescribeAddresses", AddressIds=api("AllocateAddresses")["AddressSet"])["AddressSet"][0]["AddressIp"]
    task = api("HaVipAssociateAddressIp", HaVipId=havip["HaVipId"], AddressIp=ip)["RequestId"]
    assert api("DescribeVpcTaskResult", TaskId=task)["Status"] == "SUCCESS"


def test_world_rejects_eips_outside_the_lab_range():
    world = json.loads(WORLD.read_text())
    world["eip_pool"] = ["81.71.14.118"]
    with pytest.raises(WorldError, match=r"198\.51\.100\.0/24"):
        Store().load_world(world, "2026-01-01 00:00:00")


def test_world_rejects_instances_outside_their_subnet():
    world = json.loads(WORLD.read_text())
    world["instances"][0]["PrivateIpAddress"] = "172.16.99.5"
    with pytest.raises(WorldError, match="outside its subnet"):
        Store().load_world(world, "2026-01-01 00:00:00")


def test_state_survives_a_restart_on_the_same_db(tmp_path):
    db = str(tmp_path / "state.db")
    world = json.loads(WORLD.read_text())
    first = Store(db)
    first.load_world(world, "t")
    first.execute("INSERT INTO havips (havip_id, name, vip, vpc_id, subnet_id, created, seq) "
                  "VALUES ('havip-00000001', 'x', '172.16.16.9', 'vpc-lab00001', 'subnet-lab00001', 't', 1)")
    first.close()
    second = Store(db)
    second.load_world(world, "t")  # already seeded: keeps the state
    assert second.row("SELECT name FROM havips")["name"] == "x"
    assert len(second.rows("SELECT * FROM instances")) == len(world["instances"])


def test_cli_starts_and_prints_its_address(tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({SECRET_ID: SECRET_KEY}))
    proc = subprocess.Popen([sys.executable, "-m", "lab.emulator", "--listen", "127.0.0.1:0", "--world", str(WORLD),
                             "--keys", str(keys)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("emulator listening on http://127.0.0.1:")
        with urllib.request.urlopen(line.rsplit(" ", 1)[1] + "/_lab/health", timeout=5) as resp:
            assert json.loads(resp.read())["region"] == "ap-guangzhou"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert SECRET_KEY not in proc.stderr.read()


def test_cli_refuses_to_start_without_keys(tmp_path):
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "lab.emulator", "--world", str(WORLD)], cwd=ROOT, env=env, check=False,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "no keys" in proc.stderr


# --- ARP -----------------------------------------------------------------------------------------
# A gratuitous ARP request as Keepalived sends it for 172.16.16.12 from 02:42:ac:10:10:05.
GARP_REQUEST = bytes.fromhex(
    "ffffffffffff 0242ac101005 0806 "  # broadcast, sender MAC, ARP
    + "0001 0800 06 04 0001 0242ac101005 ac10100c 000000000000 ac10100c"  # request, 172.16.16.12 -> itself
)
# An ordinary who-has 172.16.16.6 tell 172.16.16.5.
WHO_HAS = bytes.fromhex(
    "ffffffffffff 0242ac101005 0806 "
    + "0001 0800 06 04 0001 0242ac101005 ac101005 000000000000 ac101006"  # 172.16.16.5 asks for .6
)


def test_parse_gratuitous_request():
    arp = arp_watch.parse_frame(GARP_REQUEST + b"\x00" * 18)  # Ethernet padding is ignored
    mac = bytes.fromhex("0242ac101005")
    assert arp == ArpFrame(1, mac, "172.16.16.12", b"\x00" * 6, "172.16.16.12", b"\xff" * 6, mac)
    assert arp_watch.is_announcement(arp)


def test_parse_gratuitous_reply_and_vlan_tag():
    reply = ArpFrame.gratuitous("02:42:ac:10:10:06", "172.16.16.12", op=arp_watch.ARP_REPLY).pack()
    arp = arp_watch.parse_frame(reply)
    assert (arp.op, arp.sender_mac.hex(":"), arp_watch.is_announcement(arp)) == (2, "02:42:ac:10:10:06", True)
    tagged = reply[:12] + bytes.fromhex("81000064") + reply[12:]
    assert arp_watch.parse_frame(tagged) == arp


def test_the_agents_gratuitous_arp_matches_the_fixture():
    """The codec the emulator decodes with is the agent's, and the agent sends what Keepalived does."""
    assert ArpFrame.gratuitous("02:42:ac:10:10:05", "172.16.16.12").pack() == GARP_REQUEST


def test_ordinary_request_is_not_gratuitous():
    arp = arp_watch.parse_frame(WHO_HAS)
    assert arp.sender_ip == "172.16.16.5" and arp.target_ip == "172.16.16.6"
    assert not arp_watch.is_announcement(arp)


@pytest.mark.parametrize("frame", [
    b"",
    GARP_REQUEST[:30],  # truncated
    GARP_REQUEST[:12] + b"\x08\x00" + GARP_REQUEST[14:],  # IPv4, not ARP
    GARP_REQUEST[:14] + b"\x00\x06" + GARP_REQUEST[16:],  # IEEE 802 hardware type
    GARP_REQUEST[:18] + b"\x08\x04" + GARP_REQUEST[20:],  # hlen 8
    GARP_REQUEST[:20] + b"\x00\x03" + GARP_REQUEST[22:],  # RARP request, not ARP's request or reply
    GARP_REQUEST[:12] + bytes.fromhex("8100"),  # a VLAN tag cut short
])
def test_non_arp_or_malformed_frames_are_ignored(frame):
    assert arp_watch.parse_frame(frame) is None


def test_lab_files_are_not_executable_scripts():
    for path in pathlib.Path(ROOT, "lab", "emulator").glob("*.py"):
        assert not path.read_text().startswith("#!"), path
        assert not path.stat().st_mode & 0o111, path
