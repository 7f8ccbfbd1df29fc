"""eip, eip_info, havip_eip (R6): allocation by name, bind/unbind, reassociation refusal, waiting."""
import ipaddress

from modules_support import MAC1, MAC2, SUBNET, VPC


def make_havip(run, name="ha", address="172.16.16.12"):
    return run("havip", name=name, vpc_id=VPC, subnet_id=SUBNET, address=address)["havip"]


def test_eip_is_idempotent_by_name(run, lab):
    checked = run("eip", name="web", check_mode=True)
    assert checked["changed"] and lab.calls()["mutating"] == 0
    first = run("eip", name="web", tags={"app": "web"}, internet_max_bandwidth_out=5)
    assert first["changed"] is True
    eip = first["eip"]
    assert eip["id"].startswith("eip-") and eip["status"] == "UNBIND" and eip["name"] == "web"
    assert ipaddress.ip_address(eip["address_ip"]) in ipaddress.ip_network("198.51.100.0/24")
    assert (eip["bandwidth"], eip["tags"]) == (5, {"app": "web"})
    lab.reset_calls()
    again = run("eip", name="web")
    assert again["changed"] is False and again["eip"]["id"] == eip["id"]
    assert lab.calls()["mutating"] == 0
    assert run("eip", id=eip["id"])["eip"]["address_ip"] == eip["address_ip"]
    assert len(run("eip_info")["eips"]) == 1


def test_eip_release(run):
    eip = run("eip", name="web")["eip"]
    checked = run("eip", name="web", state="absent", check_mode=True, diff=True)
    assert checked["changed"] and checked["diff"]["after"] == {}
    assert run("eip_info", ids=[eip["id"]])["eips"] != []
    released = run("eip", name="web", state="absent")
    assert released["changed"] and released["eip"]["id"] == eip["id"]
    assert run("eip_info", ids=[eip["id"]])["eips"] == []
    assert run("eip", name="web", state="absent")["changed"] is False
    # Re-allocating the same name after a release gets a fresh EIP (the deterministic token is not trusted).
    assert run("eip", name="web")["changed"] is True


def test_eip_unknown_id_fails_naming_it(run):
    result = run("eip", id="eip-zzzzzzzz")
    assert result["failed"] and "eip-zzzzzzzz" in result["msg"]


def test_eip_pool_exhausted_reports_tencent_error(run):
    for n in range(4):
        run("eip", name=f"e{n}")
    result = run("eip", name="e4")
    assert result["failed"] and result["error_code"] == "AddressQuotaLimitExceeded" and result["request_id"]


def test_eip_info_filters_and_empty(run):
    a = run("eip", name="a")["eip"]
    b = run("eip", name="b")["eip"]
    # DescribeAddresses documents that only the first value of address-name is used.
    assert [e["name"] for e in run("eip_info", filters={"address-name": ["b", "a"]})["eips"]] == ["b"]
    both = run("eip_info", filters={"address-ip": [a["address_ip"], b["address_ip"]]})["eips"]
    assert sorted(e["name"] for e in both) == ["a", "b"]
    assert run("eip_info", filters={"address-name": "zzz"})["eips"] == []
    assert run("eip_info", ids=["eip-zzzzzzzz"])["eips"] == []


def test_bind_waits_and_is_idempotent(run, lab):
    havip = make_havip(run)
    eip = run("eip", name="web")["eip"]
    lab.reset_calls()
    checked = run("havip_eip", havip_id=havip["id"], address_ip=eip["address_ip"], check_mode=True, diff=True)
    assert checked["changed"] and checked["diff"]["after"]["address_ip"] == eip["address_ip"]
    assert lab.calls()["mutating"] == 0
    bound = run("havip_eip", havip_id=havip["id"], address_ip=eip["address_ip"], diff=True)
    assert bound["changed"] is True
    assert bound["havip"]["address_ip"] == eip["address_ip"]
    assert (bound["eip"]["status"], bound["eip"]["instance_id"]) == ("BIND", havip["id"])
    assert len(bound["task_ids"]) == 1
    assert lab.calls()["by_action"]["DescribeVpcTaskResult"] >= 1
    assert bound["diff"] == {"before": {"address_ip": ""}, "after": {"address_ip": eip["address_ip"]}}
    lab.reset_calls()
    again = run("havip_eip", havip_id=havip["id"], eip_id=eip["id"])
    assert again["changed"] is False and lab.calls()["mutating"] == 0


def test_the_eip_follows_the_havip_on_failover(run, lab):
    """R8: the EIP is bound to the HAVIP, not to a node: it moves with it."""
    havip = make_havip(run)
    eip = run("eip", name="web")["eip"]
    lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC1})
    run("havip_eip", havip_id=havip["id"], address_ip=eip["address_ip"])
    lab.admin("/_lab/announce", {"vip": "172.16.16.12", "mac": MAC2})
    after = run("havip_info", filters={"address-ip": eip["address_ip"]})["havips"]
    assert [(h["id"], h["instance_id"]) for h in after] == [(havip["id"], "ins-havip002")]


def test_bind_without_wait_returns_the_task(run, lab):
    lab.admin("/_lab/config", {"task_delay": 2})  # long enough to see RUNNING even on a loaded machine
    havip = make_havip(run)
    eip = run("eip", name="web")["eip"]
    result = run("havip_eip", havip_id=havip["id"], address_ip=eip["address_ip"], wait=False)
    assert result["changed"] and result["havip"]["address_ip"] == ""
    task = lab.server.vpc.dispatch("DescribeVpcTaskResult", {"TaskId": result["task_ids"][0]}, "req-poll")
    assert task["Status"] == "RUNNING"
    # A second run while the task runs waits for it instead of binding again.
    again = run("havip_eip", havip_id=havip["id"], address_ip=eip["address_ip"])
    assert again["changed"] is False and again["eip"]["status"] == "BIND"
    assert lab.calls()["by_action"]["HaVipAssociateAddressIp"] == 1


def test_refuses_an_eip_bound_elsewhere_unless_allowed(run, lab):
    one, two = make_havip(run, "one", "172.16.16.12"), make_havip(run, "two", "172.16.16.13")
    eip = run("eip", name="web")["eip"]
    run("havip_eip", havip_id=one["id"], address_ip=eip["address_ip"])
    lab.reset_calls()
    refused = run("havip_eip", havip_id=two["id"], address_ip=eip["address_ip"])
    assert refused["failed"] and one["id"] in refused["msg"] and "allow_reassociation" in refused["msg"]
    assert lab.calls()["mutating"] == 0
    moved = run("havip_eip", havip_id=two["id"], address_ip=eip["address_ip"], allow_reassociation=True)
    assert moved["changed"] and moved["havip"]["address_ip"] == eip["address_ip"]
    assert len(moved["task_ids"]) == 2
    assert run("havip_info", ids=[one["id"]])["havips"][0]["address_ip"] == ""


def test_refuses_to_replace_the_havip_eip_unless_allowed(run):
    havip = make_havip(run)
    first, second = run("eip", name="a")["eip"], run("eip", name="b")["eip"]
    run("havip_eip", havip_id=havip["id"], address_ip=first["address_ip"])
    refused = run("havip_eip", havip_id=havip["id"], address_ip=second["address_ip"])
    assert refused["failed"] and first["address_ip"] in refused["msg"]
    replaced = run("havip_eip", havip_id=havip["id"], address_ip=second["address_ip"], allow_reassociation=True)
    assert replaced["changed"] and replaced["havip"]["address_ip"] == second["address_ip"]
    assert run("eip_info", ids=[first["id"]])["eips"][0]["status"] == "UNBIND"


def test_unbind(run, lab):
    havip = make_havip(run)
    eip = run("eip", name="web")["eip"]
    other = run("eip", name="other")["eip"]
    run("havip_eip", havip_id=havip["id"], address_ip=eip["address_ip"])
    # Another EIP named for unbinding is not on this HAVIP: nothing to do.
    assert run("havip_eip", havip_id=havip["id"], address_ip=other["address_ip"], state="absent")["changed"] is False
    deleting = run("havip", id=havip["id"], state="absent")
    assert deleting["failed"] and "havip_eip" in deleting["msg"]
    checked = run("havip_eip", havip_id=havip["id"], state="absent", check_mode=True)
    assert checked["changed"] and checked["havip"]["address_ip"] == ""
    assert run("havip_info", ids=[havip["id"]])["havips"][0]["address_ip"] == eip["address_ip"]
    unbound = run("havip_eip", havip_id=havip["id"], state="absent")
    assert unbound["changed"] and unbound["havip"]["address_ip"] == ""
    assert unbound["eip"]["status"] == "UNBIND"
    assert run("havip_eip", havip_id=havip["id"], state="absent")["changed"] is False
    assert run("eip", name="web", state="absent")["changed"] is True


def test_released_eip_bound_cannot_be_released(run):
    havip = make_havip(run)
    eip = run("eip", name="web")["eip"]
    run("havip_eip", havip_id=havip["id"], address_ip=eip["address_ip"])
    result = run("eip", name="web", state="absent")
    assert result["failed"] and havip["id"] in result["msg"]


def test_unknown_havip_and_eip(run):
    assert "does not exist" in run("havip_eip", havip_id="havip-zzzzzzzz", address_ip="198.51.100.10")["msg"]
    havip = make_havip(run)
    result = run("havip_eip", havip_id=havip["id"], address_ip="198.51.100.99")
    assert result["failed"] and "198.51.100.99" in result["msg"]


def test_wait_timeout_is_reported(run, lab):
    lab.admin("/_lab/config", {"task_delay": 30})
    havip = make_havip(run)
    eip = run("eip", name="web")["eip"]
    result = run("havip_eip", havip_id=havip["id"], address_ip=eip["address_ip"], wait_timeout=1)
    assert result["failed"] and "timed out" in result["msg"]


def test_an_eip_in_flight_elsewhere_is_waited_for_then_judged(run, lab):
    lab.admin("/_lab/config", {"task_delay": 1})
    one, two = make_havip(run, "one", "172.16.16.12"), make_havip(run, "two", "172.16.16.13")
    eip = run("eip", name="web")["eip"]
    assert run("havip_eip", havip_id=one["id"], address_ip=eip["address_ip"], wait=False)["changed"]
    refused = run("havip_eip", havip_id=two["id"], address_ip=eip["address_ip"])
    assert refused["failed"] and "BIND to " + one["id"] in refused["msg"]
    assert lab.calls()["by_action"]["HaVipAssociateAddressIp"] == 1
