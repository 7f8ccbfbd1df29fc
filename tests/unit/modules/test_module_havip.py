"""havip: create, idempotence, check mode, diff, rename, drift range, R1 address checks, ambiguity."""
import importlib

from modules_support import INS1, INS2, MAC1, OTHER_SUBNET, SUBNET, VPC


def create(run, **extra):
    args = dict(name="havip-guide", vpc_id=VPC, subnet_id=SUBNET, address="172.16.16.12")
    args.update(extra)
    return run("havip", **args)


def test_create_then_second_run_changes_nothing(run, lab):
    first = create(run, tags={"app": "web"})
    assert first["changed"] is True
    havip = first["havip"]
    assert havip["id"].startswith("havip-")
    assert (havip["name"], havip["vip"], havip["vpc_id"], havip["subnet_id"], havip["state"]) == (
        "havip-guide", "172.16.16.12", VPC, SUBNET, "UNBIND")
    assert havip["tags"] == {"app": "web"}
    assert havip["flushed_time"] == "0000-00-00 00:00:00"
    lab.reset_calls()
    second = create(run, tags={"app": "web"})
    assert second["changed"] is False
    assert second["havip"] == havip
    calls = lab.calls()
    assert calls["mutating"] == 0, calls
    assert calls["total"] >= 1


def test_check_mode_creates_nothing(run, lab):
    result = create(run, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["vip"] == "172.16.16.12"
    assert lab.calls()["mutating"] == 0
    assert run("havip_info", filters={"vpc-id": VPC})["havips"] == []


def test_automatic_address(run):
    result = run("havip", name="auto", vpc_id=VPC, subnet_id=SUBNET)
    assert result["changed"] and result["havip"]["vip"] == "172.16.16.2"


def test_create_in_the_subnet_of_an_eni(run):
    result = run("havip", name="by-eni", vpc_id=VPC, network_interface_id="eni-other001")
    assert result["havip"]["subnet_id"] == OTHER_SUBNET


def test_rename_by_id_with_diff(run, lab):
    havip = create(run)["havip"]
    lab.reset_calls()
    checked = run("havip", id=havip["id"], name="renamed", check_mode=True, diff=True)
    assert checked["changed"] and lab.calls()["mutating"] == 0
    renamed = run("havip", id=havip["id"], name="renamed", diff=True)
    assert renamed["changed"] is True
    assert renamed["diff"]["before"]["name"] == "havip-guide"
    assert renamed["diff"]["after"]["name"] == "renamed"
    assert renamed["havip"]["name"] == "renamed"
    assert lab.calls()["by_action"].get("ModifyHaVipAttribute") == 1
    assert run("havip", id=havip["id"], name="renamed")["changed"] is False


def test_drift_range_reaches_exactly_the_given_set(run, lab):
    havip = create(run, associated_instances=[INS1])["havip"]
    assert havip["associated_instances"] == [INS1]
    both = create(run, associated_instances=[INS1, INS2])
    assert both["changed"] and sorted(both["havip"]["associated_instances"]) == [INS1, INS2]
    lab.reset_calls()
    only2 = create(run, associated_instances=[INS2], check_mode=True)
    assert only2["changed"] and only2["havip"]["associated_instances"] == [INS2]
    assert lab.calls()["mutating"] == 0
    only2 = create(run, associated_instances=[INS2])
    assert only2["havip"]["associated_instances"] == [INS2]
    assert create(run, associated_instances=[INS2])["changed"] is False
    assert create(run)["changed"] is False  # omitted: the drift range is left alone
    cleared = create(run, associated_instances=[])
    assert cleared["changed"] and cleared["havip"]["associated_instances"] == []


def test_bad_instance_kind_is_named(run):
    result = create(run, associated_instances=["i-123"])
    assert result["failed"] and "i-123" in result["msg"]


def test_address_outside_the_subnet_fails_before_create(run, lab):
    result = create(run, address="172.16.17.12")
    assert result["failed"]
    assert "172.16.17.12" in result["msg"] and "172.16.16.0/24" in result["msg"] and "R1" in result["msg"]
    assert lab.calls()["by_action"].get("CreateHaVip") is None


def test_reserved_address_fails_before_create(run, lab):
    for address in ("172.16.16.0", "172.16.16.1", "172.16.16.255"):
        result = create(run, address=address)
        assert result["failed"] and "reserved" in result["msg"] and address in result["msg"]
    assert lab.calls()["by_action"].get("CreateHaVip") is None


def test_address_in_use_reports_tencent_error(run):
    result = create(run, address="172.16.16.5")
    assert result["failed"]
    assert result["error_code"] == "ResourceInUse"  # CreateHaVip documents no finer code
    assert result["request_id"]
    assert "CreateHaVip" in result["msg"]


def test_existing_havip_with_other_address_fails(run):
    create(run)
    result = create(run, address="172.16.16.13")
    assert result["failed"] and "172.16.16.12" in result["msg"] and "172.16.16.13" in result["msg"]


def test_ambiguous_name_fails_with_the_ids(run, lab):
    vpc = lab.server.vpc
    for vip in ("172.16.16.20", "172.16.16.21"):
        vpc.dispatch("CreateHaVip", {"VpcId": VPC, "SubnetId": SUBNET, "HaVipName": "twin", "Vip": vip}, "req-" + vip)
    result = run("havip", name="twin", vpc_id=VPC, subnet_id=SUBNET)
    assert result["failed"] and "2 HAVIPs" in result["msg"]
    assert len(result["havip_ids"]) == 2


def test_unknown_id_fails_for_present_and_is_fine_for_absent(run):
    assert run("havip", id="havip-zzzzzzzz", name="x")["failed"]
    gone = run("havip", id="havip-zzzzzzzz", state="absent")
    assert gone["changed"] is False and gone["havip"] == {}


def test_delete(run, lab):
    havip = create(run)["havip"]
    checked = run("havip", name="havip-guide", vpc_id=VPC, state="absent", check_mode=True, diff=True)
    assert checked["changed"] and checked["diff"]["after"] == {}
    assert run("havip_info", ids=[havip["id"]])["havips"] != []
    deleted = run("havip", name="havip-guide", vpc_id=VPC, state="absent")
    assert deleted["changed"] and deleted["havip"]["id"] == havip["id"]
    assert run("havip_info", ids=[havip["id"]])["havips"] == []
    assert run("havip", name="havip-guide", vpc_id=VPC, state="absent")["changed"] is False


def test_recreate_after_delete_gets_a_new_havip(run):
    """The ClientToken is deterministic; a token that replays a deleted HAVIP is not trusted."""
    first = create(run)["havip"]
    run("havip", id=first["id"], state="absent")
    second = create(run)
    assert second["changed"] and second["havip"]["id"] != first["id"]


def test_throttled_calls_are_retried(run, lab):
    lab.admin("/_lab/faults", {"throttle": 2})
    result = create(run)
    assert result["changed"] is True
    assert lab.calls()["faults"] == {"RequestLimitExceeded": 2}


def test_throttling_beyond_max_attempts_fails_clearly(run, lab):
    lab.admin("/_lab/faults", {"throttle": 5})
    result = create(run, max_attempts=3)
    assert result["failed"] and result["error_code"] == "RequestLimitExceeded"
    assert lab.calls()["total"] == 3


def test_state_follows_the_announcing_node(run, lab):
    havip = create(run)["havip"]
    lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC1})
    after = run("havip_info", ids=[havip["id"]])["havips"][0]
    assert (after["state"], after["instance_id"]) == ("AVAILABLE", INS1)
    assert after["flushed_time"] != "0000-00-00 00:00:00"


def test_a_create_that_loses_the_race_to_an_identical_run_adopts_its_havip(run, lab, monkeypatch):
    """Two runs of the same task at once: both look the name up, find nothing, and create; the
    address is then taken by the other run's HAVIP (ResourceInUse). The loser adopts that HAVIP
    (same name, VPC, subnet, address) instead of failing; it made nothing itself."""
    first = run("havip", name="ha", vpc_id=VPC, subnet_id=SUBNET, address="172.16.16.13")["havip"]
    module = importlib.import_module("ansible_collections.havip.tencentcloud.plugins.modules.havip")
    looked = []
    real_find = module.HavipManager.find

    def find_before_the_other_run_created_it(self):
        looked.append(1)
        return None if len(looked) == 1 else real_find(self)

    monkeypatch.setattr(module.HavipManager, "find", find_before_the_other_run_created_it)
    second = run("havip", name="ha", vpc_id=VPC, subnet_id=SUBNET, address="172.16.16.13")
    assert second.get("failed") is not True, second
    assert second["changed"] is False and second["havip"]["id"] == first["id"]
    assert second["calls"][0]["outcome"] == "created meanwhile by another run"
    assert [h["id"] for h in run("havip_info")["havips"]] == [first["id"]]


def test_a_taken_address_under_another_name_is_still_refused(run):
    run("havip", name="ha", vpc_id=VPC, subnet_id=SUBNET, address="172.16.16.13")
    other = run("havip", name="other", vpc_id=VPC, subnet_id=SUBNET, address="172.16.16.13")
    assert other["failed"] and other["error_code"] == "ResourceInUse"
