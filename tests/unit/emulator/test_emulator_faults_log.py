"""Fault rates, the request log, the ARP switch delay and restarts on the same SQLite file, driven by
the real SDK."""
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from emulator_support import (
    INS1,
    INS2,
    MAC1,
    MAC2,
    ROOT,
    SECRET_ID,
    SECRET_KEY,
    SUBNET,
    VPC,
    WORLD,
    outcome,
    start_lab,
    unlimited,
)
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import vpc_client


# --- fault rates -------------------------------------------------------------------------------------
def test_throttle_rate_hits_about_that_share_of_calls(lab, api):
    unlimited(lab)  # only the injected throttling is measured here
    lab.admin("/_lab/faults", {"throttle_rate": 0.3, "seed": 7})
    codes = [outcome(lambda: api("DescribeVpcs")) for _n in range(300)]
    throttled = codes.count("RequestLimitExceeded")
    assert set(codes) == {"OK", "RequestLimitExceeded"}
    assert 60 <= throttled <= 120  # 90 expected; the seed makes it reproducible
    calls = lab.admin("/_lab/calls")
    assert calls["faults"] == {"RequestLimitExceeded": throttled}


def test_seed_makes_the_draws_reproducible(lab, api):
    unlimited(lab)
    runs = []
    for _run in range(2):
        lab.admin("/_lab/faults", {"internal_error_rate": 0.5, "seed": 42})
        runs.append([outcome(lambda: api("DescribeVpcs")) for _n in range(40)])
    assert runs[0] == runs[1]
    assert "InternalError" in runs[0] and "OK" in runs[0]


def test_per_action_rates_replace_the_global_ones(lab, api):
    lab.admin("/_lab/faults", {"throttle_rate": 1.0, "actions": ["DescribeSubnets"],
                               "per_action": {"CreateHaVip": {"internal_error_rate": 1.0}}})
    assert outcome(lambda: api("DescribeVpcs")) == "OK"  # neither in actions nor in per_action
    assert outcome(lambda: api("DescribeSubnets")) == "RequestLimitExceeded"
    assert outcome(lambda: api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="x")) == "InternalError"
    assert api("DescribeHaVips")["TotalCount"] == 0  # failed before it ran
    snapshot = lab.admin("/_lab/faults")
    assert snapshot["per_action"]["CreateHaVip"]["internal_error_rate"] == 1.0
    assert lab.admin("/_lab/faults/reset", {})["throttle_rate"] == 0.0
    assert outcome(lambda: api("DescribeSubnets")) == "OK"


def test_lost_answer_runs_the_action_and_client_token_saves_the_retry(lab, api):
    lab.admin("/_lab/faults", {"per_action": {"CreateHaVip": {"lost_rate": 1.0}}})
    request = {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "lost", "ClientToken": "retry-me-1"}
    assert outcome(lambda: api("CreateHaVip", **request)) == "InternalError"
    assert api("DescribeHaVips")["TotalCount"] == 1  # it ran all the same
    assert outcome(lambda: api("CreateHaVip", **request)) == "InternalError"
    lab.admin("/_lab/faults/reset", {})
    again = api("CreateHaVip", **request)["HaVip"]
    havips = api("DescribeHaVips")["HaVipSet"]
    assert [h["HaVipId"] for h in havips] == [again["HaVipId"]]
    assert lab.admin("/_lab/calls")["faults"] == {"lost": 2}


def test_slow_rate_picks_which_calls_are_slow(lab, api):
    lab.admin("/_lab/faults", {"latency": 1.0, "slow_rate": 0.0})
    api("DescribeVpcs")
    assert lab.admin("/_lab/log")["entries"][-1]["ms"] < 900
    lab.admin("/_lab/faults", {"slow_rate": 1.0})
    api("DescribeVpcs")
    assert lab.admin("/_lab/log")["entries"][-1]["ms"] >= 1000


@pytest.mark.parametrize("spec", [
    {"throttle_rate": 1.5}, {"lost_rate": -0.1}, {"slow_rate": True}, {"per_action": ["CreateHaVip"]},
    {"per_action": {"CreateHaVip": {"throttle_rate": 2}}}, {"seed": "x"}, {"throttle_rate": 0.5, "latency": 99},
])
def test_bad_fault_specs_are_refused_and_change_nothing(lab, spec):
    before = lab.admin("/_lab/faults")
    with pytest.raises(urllib.error.HTTPError) as info:
        lab.admin("/_lab/faults", spec)
    assert info.value.code == 400
    assert lab.admin("/_lab/faults") == before


# --- the request log -------------------------------------------------------------------------------
def test_log_holds_action_parameters_outcome_and_no_secret(lab, api):
    api("CreateHaVip", VpcId=VPC, SubnetId=SUBNET, HaVipName="logged", ClientToken="tok-1")
    outcome(lambda: api("DeleteHaVip", HaVipId="havip-zzzzzzzz"))
    api("DescribeVpcs", Password="hunter2", Nested={"SecretKey": SECRET_KEY})  # unknown fields are ignored
    wrong = lab.client(secret_key="wrong-" + SECRET_KEY)
    outcome(lambda: wrong.call_json("DescribeSubnets", {}))
    entries = lab.admin("/_lab/log")["entries"]
    assert [(e["action"], e["outcome"], e["mutating"]) for e in entries] == [
        ("CreateHaVip", "OK", True), ("DeleteHaVip", "ResourceNotFound", True), ("DescribeVpcs", "OK", False),
        ("DescribeSubnets", "AuthFailure.SignatureFailure", False)]
    assert entries[0]["params"] == {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "logged", "ClientToken": "tok-1"}
    assert entries[2]["params"] == {"Password": "********", "Nested": {"SecretKey": "********"}}
    assert all(len(e["request_id"]) == 36 and e["region"] == "ap-guangzhou" for e in entries)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    text = json.dumps(lab.admin("/_lab/log"))
    assert SECRET_KEY not in text and "hunter2" not in text


def test_log_can_be_read_from_a_point_by_action_and_reset(lab, api):
    api("DescribeVpcs")
    mark = lab.admin("/_lab/log")["last_seq"]
    api("DescribeSubnets")
    api("DescribeVpcs")
    assert [e["action"] for e in lab.admin(f"/_lab/log?since={mark}")["entries"]] == ["DescribeSubnets", "DescribeVpcs"]
    assert len(lab.admin("/_lab/log?action=DescribeVpcs")["entries"]) == 2
    with pytest.raises(urllib.error.HTTPError):
        lab.admin("/_lab/log?since=x")
    lab.admin("/_lab/log/reset", {})
    assert lab.admin("/_lab/log")["entries"] == []


def test_log_names_the_injected_fault(lab, api):
    lab.admin("/_lab/faults", {"throttle": 1})
    outcome(lambda: api("DescribeVpcs"))
    api("DescribeVpcs")
    entries = lab.admin("/_lab/log")["entries"]
    assert [(e["outcome"], e["fault"]) for e in entries] == [("RequestLimitExceeded", "RequestLimitExceeded"),
                                                             ("OK", None)]


# --- the ARP switch delay --------------------------------------------------------------------------
class Clock:
    """Virtual time that starts now (the signature check compares it with the SDK's timestamp)."""

    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


@pytest.fixture
def slow_lab():
    clock = Clock()
    running = start_lab(clock=clock)
    running.admin("/_lab/config", {"switch_delay": 4})
    running.clock = clock
    yield running
    running.server.shutdown()
    running.server.server_close()


def describe(lab, havip_id):
    return lab.client().call_json("DescribeHaVips", {"HaVipIds": [havip_id]})["Response"]["HaVipSet"][0]


def test_switch_delay_moves_the_havip_only_after_the_delay(slow_lab):
    client = slow_lab.client()
    havip = client.call_json("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "slow",
                                             "Vip": "172.16.16.12"})["Response"]["HaVip"]
    answer = slow_lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC1})
    assert answer["bound"] and answer["pending"] and not answer["moved"]
    slow_lab.clock.now += 3.9
    assert describe(slow_lab, havip["HaVipId"])["State"] == "UNBIND"
    slow_lab.clock.now += 0.1
    moved = describe(slow_lab, havip["HaVipId"])
    assert (moved["State"], moved["InstanceId"]) == ("AVAILABLE", INS1)
    assert moved["FlushedTime"] == answer["moves_at"]


def test_a_later_announcement_replaces_or_cancels_a_pending_move(slow_lab):
    client = slow_lab.client()
    havip_id = client.call_json("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "slow",
                                                "Vip": "172.16.16.12"})["Response"]["HaVip"]["HaVipId"]
    slow_lab.admin("/_lab/config", {"switch_delay": 0})
    slow_lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC1})
    slow_lab.admin("/_lab/config", {"switch_delay": 4})
    slow_lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC2})
    slow_lab.clock.now += 2
    slow_lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC1})  # the holder again: cancelled
    slow_lab.clock.now += 10
    assert describe(slow_lab, havip_id)["InstanceId"] == INS1
    slow_lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC2})
    slow_lab.clock.now += 4
    assert describe(slow_lab, havip_id)["InstanceId"] == INS2


def test_a_pending_move_is_dropped_when_the_drift_range_no_longer_allows_it(slow_lab):
    client = slow_lab.client()
    havip_id = client.call_json("CreateHaVip", {
        "VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "slow", "Vip": "172.16.16.12",
        "HaVipAssociationSet": [{"InstanceId": INS1}, {"InstanceId": INS2}]})["Response"]["HaVip"]["HaVipId"]
    slow_lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC2})
    client.call_json("DisassociateHaVipInstance",
                     {"HaVipAssociationSet": [{"HaVipId": havip_id, "InstanceId": INS2, "InstanceType": "CVM"}]})
    slow_lab.clock.now += 5
    assert describe(slow_lab, havip_id)["State"] == "UNBIND"


def test_config_reports_and_validates_the_delays(lab):
    assert lab.admin("/_lab/config") == {"task_delay": 0.2, "switch_delay": 0.0, "rate_limits": {"default": 20},
                                         "quotas": {"eips_per_region": 20, "havips_per_vpc": 10,
                                                    "policies_per_direction": 100}}
    assert lab.admin("/_lab/config", {"switch_delay": 4})["switch_delay"] == 4.0
    for spec in ({"switch_delay": -1}, {"other": 1}, {}):
        with pytest.raises(urllib.error.HTTPError):
            lab.admin("/_lab/config", spec)


# --- restarts on the same SQLite file, through the CLI ------------------------------------------------
CREATE = {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "kept", "Vip": "172.16.16.12", "ClientToken": "restart-1",
          "HaVipAssociationSet": [{"InstanceId": INS1}]}


def start_cli(tmp_path, *extra):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({SECRET_ID: SECRET_KEY}))
    proc = subprocess.Popen([sys.executable, "-m", "lab.emulator", "--listen", "127.0.0.1:0", "--world", str(WORLD),
                             "--keys", str(keys), "--task-delay", "0", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
    return proc, url


def sdk(url):
    http = HttpProfile(protocol="http", endpoint=url.split("//", 1)[1], reqTimeout=10)
    client = vpc_client.VpcClient(credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou",
                                  ClientProfile(httpProfile=http))
    return lambda action, **params: client.call_json(action, params)["Response"]


def stop(proc):
    proc.terminate()
    assert proc.wait(timeout=10) == 0


def test_state_survives_a_restart_of_the_cli(tmp_path):
    db = str(tmp_path / "lab.db")
    proc, url = start_cli(tmp_path, "--db", db)
    try:
        api = sdk(url)
        havip = api("CreateHaVip", **CREATE)["HaVip"]
        eip = api("AllocateAddresses", AddressName="kept-eip")["AddressSet"][0]
        ip = api("DescribeAddresses", AddressIds=[eip])["AddressSet"][0]["AddressIp"]
        api("HaVipAssociateAddressIp", HaVipId=havip["HaVipId"], AddressIp=ip)
    finally:
        stop(proc)
    proc, url = start_cli(tmp_path, "--db", db, "--switch-delay", "2")
    try:
        api = sdk(url)
        kept = api("DescribeHaVips", HaVipIds=[havip["HaVipId"]])["HaVipSet"]
        assert [(h["HaVipName"], h["Vip"], h["AddressIp"]) for h in kept] == [("kept", "172.16.16.12", ip)]
        assert [a["InstanceId"] for a in kept[0]["HaVipAssociationSet"]] == [INS1]
        assert api("DescribeAddresses", AddressIds=[eip])["AddressSet"][0]["AddressStatus"] == "BIND"
        # The same ClientToken still answers with the same HAVIP after the restart.
        assert api("CreateHaVip", **CREATE)["HaVip"]["HaVipId"] == havip["HaVipId"]
        assert api("DescribeHaVips")["TotalCount"] == 1
        assert admin_get(url, "/_lab/config")["switch_delay"] == 2.0
    finally:
        stop(proc)


def admin_get(url, path):
    with urllib.request.urlopen(url + path, timeout=5) as resp:
        return json.loads(resp.read())
