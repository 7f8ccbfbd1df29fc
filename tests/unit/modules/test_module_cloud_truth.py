"""Issue 14, modules side, against the emulator: asynchronous tasks waited for, lost answers and
running tasks survived, drift range validated before any change, reassociation restored on failure,
parameters applied to existing resources or refused by name, check-mode placeholders that chain."""
import json

from modules_support import INS1, INS2, OTHER_SUBNET, SUBNET, VPC

OTHER_INS = "ins-other001"  # world.json: a CVM of the other subnet


def log(lab, **query):
    return lab.admin("/_lab/log" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""))["entries"]


def mutating(lab):
    return [e["action"] for e in log(lab) if e["mutating"]]


def havip(run, name="ha", **extra):
    args = dict(name=name, vpc_id=VPC, subnet_id=SUBNET)
    args.update(extra)
    return run("havip", **args)


def names(run, **filters):
    return sorted(e["name"] for e in run("eip_info", filters=filters or None)["eips"])


# --- asynchronous tasks ------------------------------------------------------------------------------------
def test_delete_waits_for_its_task_and_the_havip_is_gone(run, lab):
    lab.admin("/_lab/config", {"task_delay": 0.5})
    made = havip(run)["havip"]
    gone = run("havip", id=made["id"], state="absent")
    assert gone["changed"] and gone["calls"][0]["action"] == "DeleteHaVip"
    assert any(e["action"] == "DescribeVpcTaskResult" for e in log(lab))
    assert run("havip_info", ids=[made["id"]])["havips"] == []  # gone when the module answered


def test_a_new_eip_is_waited_out_of_creating(run, lab):
    lab.admin("/_lab/config", {"task_delay": 0.5})
    made = run("eip", name="web")
    assert made["changed"] and made["eip"]["status"] == "UNBIND"
    polls = [e for e in log(lab) if e["action"] == "DescribeTaskResult"]
    assert polls and isinstance(polls[0]["params"]["TaskId"], int)
    assert mutating(lab) == ["AllocateAddresses"]


def test_release_waits_until_the_eip_is_gone(run, lab):
    lab.admin("/_lab/config", {"task_delay": 0.5})
    run("eip", name="web")
    released = run("eip", name="web", state="absent")
    assert released["changed"] and run("eip_info")["eips"] == []


# --- lost answers, running tasks ------------------------------------------------------------------------------
def test_an_allocation_whose_answers_are_all_lost_never_makes_a_second_eip(run, lab):
    lab.admin("/_lab/faults", {"per_action": {"AllocateAddresses": {"lost_rate": 1}}, "seed": 1})
    failed = run("eip", name="web", max_attempts=3)
    assert failed["failed"] and failed["error_code"] == "InternalError"
    tokens = {e["params"]["ClientToken"] for e in log(lab, action="AllocateAddresses")}
    assert len(tokens) == 1  # the retries of one invocation reuse its token
    lab.admin("/_lab/faults/reset", {})
    again = run("eip", name="web")  # found by name, not allocated again
    assert again["changed"] is False and names(run) == ["web"]
    assert len(log(lab, action="AllocateAddresses")) == 3


def test_a_lost_delete_answer_is_a_success_once_the_havip_is_gone(run, lab):
    made = havip(run)["havip"]
    lab.admin("/_lab/faults", {"per_action": {"DeleteHaVip": {"lost_rate": 1}}, "seed": 1})
    gone = run("havip", id=made["id"], state="absent", retry_delay=0.1)
    assert gone.get("failed") is not True, gone
    assert gone["changed"] and gone["calls"][0]["outcome"] == "goal already reached"
    lab.admin("/_lab/faults/reset", {})
    info = run("havip_info", ids=[made["id"]])
    assert info.get("havips") == [], info


def test_a_lost_bind_answer_is_a_success_once_the_eip_is_bound(run, lab):
    made = havip(run)["havip"]
    eip = run("eip", name="web")["eip"]
    lab.admin("/_lab/faults", {"per_action": {"HaVipAssociateAddressIp": {"lost_rate": 1}}, "seed": 1})
    bound = run("havip_eip", havip_id=made["id"], address_ip=eip["address_ip"], retry_delay=0.1)
    assert bound.get("failed") is not True, (bound.get("msg"), bound.get("calls"))
    assert bound["havip"]["address_ip"] == eip["address_ip"]
    assert bound["calls"][-1] == {"action": "HaVipAssociateAddressIp", "havip_id": made["id"],
                                  "address_ip": eip["address_ip"], "outcome": "goal already reached",
                                  "request_id": ""}


def test_a_rename_whose_answer_is_lost_succeeds_without_a_blind_retry(run, lab):
    made = havip(run)["havip"]
    lab.admin("/_lab/faults", {"per_action": {"ModifyHaVipAttribute": {"lost_rate": 1}}, "seed": 1})
    renamed = run("havip", id=made["id"], name="renamed")
    assert renamed.get("failed") is not True, renamed
    assert renamed["havip"]["name"] == "renamed"
    assert len(log(lab, action="ModifyHaVipAttribute")) == 1  # the state was read instead of a second call


def test_a_rename_by_id_does_not_replay_the_old_create(run, lab):
    made = havip(run, name="first")["havip"]
    run("havip", id=made["id"], name="second")
    again = havip(run, name="first")  # the old create task, run again: a new HAVIP, honestly reported
    assert again["changed"] and again["havip"]["id"] != made["id"]
    assert again["havip"]["name"] == "first"


def test_allocate_release_cycles_of_one_name_never_get_stuck(run):
    for _cycle in range(4):
        assert run("eip", name="cycle")["changed"]
        assert run("eip", name="cycle", state="absent")["changed"]


# --- drift range ----------------------------------------------------------------------------------------------
def test_an_unknown_instance_changes_nothing(run, lab):
    made = havip(run, associated_instances=[INS1, INS2])["havip"]
    lab.reset_calls()
    result = run("havip", id=made["id"], associated_instances=[INS1, "ins-nothere1"])
    assert result["failed"] and "ins-nothere1" in result["msg"] and "associated_instances" in result["msg"]
    assert lab.calls()["mutating"] == 0
    assert run("havip_info", ids=[made["id"]])["havips"][0]["associated_instances"] == [INS1, INS2]


def test_an_instance_of_another_subnet_is_refused_before_any_change(run, lab):
    made = havip(run, associated_instances=[INS1])["havip"]
    lab.reset_calls()
    result = run("havip", id=made["id"], associated_instances=[INS1, OTHER_INS])
    assert result["failed"] and OTHER_INS in result["msg"] and OTHER_SUBNET in result["msg"]
    assert lab.calls()["mutating"] == 0
    created = havip(run, name="new", associated_instances=[OTHER_INS])
    assert created["failed"] and "R1" in created["msg"]


def test_the_drift_range_adds_before_it_removes(run, lab):
    made = havip(run, associated_instances=[INS1])["havip"]
    log_start = len(log(lab))
    changed = run("havip", id=made["id"], associated_instances=[INS2])
    assert changed["changed"] and changed["havip"]["associated_instances"] == [INS2]
    actions = [e["action"] for e in log(lab)[log_start:] if e["mutating"]]
    assert actions == ["AssociateHaVipInstance", "DisassociateHaVipInstance"]


# --- parameters on existing resources: applied, or refused by name ----------------------------------------------
def test_havip_check_associate_and_tags_of_an_existing_havip_are_refused_by_name(run, lab):
    made = havip(run, tags={"app": "web"}, check_associate=False)["havip"]
    lab.reset_calls()
    refused = run("havip", id=made["id"], check_associate=True)
    assert refused["failed"] and refused["msg"].startswith("check_associate:")
    refused = run("havip", id=made["id"], tags={"app": "db"})
    assert refused["failed"] and refused["msg"].startswith("tags:")
    assert lab.calls()["mutating"] == 0
    same = run("havip", id=made["id"], tags={"app": "web"}, check_associate=False)
    assert same["changed"] is False


def test_eip_name_and_bandwidth_are_applied_to_an_existing_eip_tags_refused(run, lab):
    eip = run("eip", name="web", internet_max_bandwidth_out=1, tags={"app": "web"})["eip"]
    changed = run("eip", id=eip["id"], name="web2", internet_max_bandwidth_out=10)
    assert changed["changed"] and (changed["eip"]["name"], changed["eip"]["bandwidth"]) == ("web2", 10)
    assert [c["action"] for c in changed["calls"]] == ["ModifyAddressAttribute", "ModifyAddressesBandwidth"]
    assert run("eip", id=eip["id"], name="web2", internet_max_bandwidth_out=10)["changed"] is False
    refused = run("eip", id=eip["id"], tags={"app": "db"})
    assert refused["failed"] and refused["msg"].startswith("tags ")


# --- reassociation ----------------------------------------------------------------------------------------------
def test_a_failed_reassociation_restores_both_eips_and_reports_every_call(run, lab):
    a = havip(run, name="a", address="172.16.16.20")["havip"]
    b = havip(run, name="b", address="172.16.16.21")["havip"]
    old = run("eip", name="old")["eip"]
    moving = run("eip", name="moving")["eip"]
    run("havip_eip", havip_id=a["id"], address_ip=old["address_ip"])
    run("havip_eip", havip_id=b["id"], address_ip=moving["address_ip"])
    lab.admin("/_lab/faults", {"internal_error": 2, "actions": ["HaVipAssociateAddressIp"]})
    result = run("havip_eip", havip_id=a["id"], address_ip=moving["address_ip"], allow_reassociation=True,
                 max_attempts=2)
    assert result["failed"] and "restored" in result["msg"] and "NOT restored" not in result["msg"]
    assert [(c["action"], c["havip_id"], c["address_ip"]) for c in result["calls"]] == [
        ("HaVipDisassociateAddressIp", b["id"], moving["address_ip"]),
        ("HaVipDisassociateAddressIp", a["id"], old["address_ip"]),
        ("HaVipAssociateAddressIp", a["id"], moving["address_ip"]),
        ("HaVipAssociateAddressIp", a["id"], old["address_ip"]),
        ("HaVipAssociateAddressIp", b["id"], moving["address_ip"]),
    ]
    found = {h["id"]: h["address_ip"] for h in run("havip_info", filters={"vpc-id": VPC})["havips"]}
    assert found == {a["id"]: old["address_ip"], b["id"]: moving["address_ip"]}


# --- check mode chains -----------------------------------------------------------------------------------------
def test_check_mode_placeholders_chain_without_any_mutating_call(run, lab):
    planned = havip(run, name="fresh", address="172.16.16.30", check_mode=True)["havip"]
    eip = run("eip", name="fresh-eip", check_mode=True)["eip"]
    assert planned["id"].startswith("planned-") and eip["address_ip"].startswith("planned-")
    bound = run("havip_eip", havip_id=planned["id"], address_ip=eip["address_ip"], check_mode=True, diff=True)
    assert bound["changed"] and bound["planned"] and bound["diff"]["after"]["address_ip"] == eip["address_ip"]
    assert not mutating(lab)
    assert not [e for e in log(lab) if planned["id"] in json.dumps(e["params"])]  # never looked up
    real = run("havip_eip", havip_id=planned["id"], address_ip=eip["address_ip"])
    assert real["failed"] and "placeholder of a check-mode run" in real["msg"]


def test_an_eip_still_offlining_is_not_taken_for_present(run, lab):
    lab.admin("/_lab/config", {"task_delay": 1})
    eip = run("eip", name="web")["eip"]
    lab.server.vpc.dispatch("ReleaseAddresses", {"AddressIds": [eip["id"]]}, "req-release")  # another actor
    again = run("eip", name="web")
    assert again["changed"] and again["eip"]["id"] != eip["id"] and again["eip"]["status"] == "UNBIND"
