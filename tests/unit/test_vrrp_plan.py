"""The VRRP plan (plugins/filter/vrrp_plan.py): nodes, paths, instances and timing resolved once
from the variables and the roles' defaults; and the master-down formula, which exists once in the
collection (plugins/plugin_utils/vrrp_timing.py) plus the agent's stdlib copy (machine.py)."""

from __future__ import annotations

import copy
import json
import pathlib
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
for path in (ROOT / "build" / "collections", ROOT / "roles" / "vrrp_agent" / "files"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.havip.tencentcloud.plugins.filter import vrrp_plan as plan_filter  # noqa: E402
from ansible_collections.havip.tencentcloud.plugins.plugin_utils import vrrp_timing  # noqa: E402
from havip_vrrp import machine  # noqa: E402

SECRET = "s3cr3tPw"


def facts(ip, family="Debian"):
    return {"os_family": family, "interfaces": ["lo", "eth0"],
            "eth0": {"ipv4": {"address": ip, "netmask": "255.255.255.0"}}}


def cluster(**group_vars):
    """hostvars of the guide's two nodes with one instance (VI_1, VRID 51, auth_pass set)."""
    common = {
        "keepalived_cluster_group": "cluster",
        "keepalived_instances": [{"name": "VI_1", "virtual_router_id": 51, "auth_pass": SECRET,
                                  "virtual_ipaddresses": ["172.16.16.12"]}],
    }
    common.update(group_vars)
    return {
        "node1": {**copy.deepcopy(common), "ansible_facts": facts("172.16.16.5")},
        "node2": {**copy.deepcopy(common), "ansible_facts": facts("172.16.16.6")},
    }


def make(hostvars, hosts=("node1", "node2"), defaults=None):
    return plan_filter.vrrp_plan(list(hosts), hostvars, defaults)


def test_the_guides_cluster_from_the_roles_defaults():
    plan = make(cluster())
    assert plan["cluster"] == "cluster"
    assert plan["nodes"] == ["node1", "node2"]
    assert plan["vrrp_version"] == 2
    inst = plan["instances"][0]
    assert (inst["name"], inst["vrid"], inst["vips"], inst["interface"]) == ("VI_1", 51, ["172.16.16.12"], "eth0")
    # The roles' defaults: advert_int 5 (R4g), priority 100, both BACKUP with nopreempt (R3).
    assert inst["advert_int"] == 5
    assert inst["priorities"] == {"node1": 100, "node2": 100}
    assert inst["states"] == {"node1": "BACKUP", "node2": "BACKUP"}
    assert inst["nopreempt"] is True
    assert inst["garp_master_refresh"] == 5  # R4c, the role's default
    assert inst["expected_master"] is None  # equal priorities: the election decides
    # RFC 3768 6.1: 3 x 5 + (256 - 100) / 256.
    assert inst["master_down_s"] == {"node1": 15.609375, "node2": 15.609375}
    assert inst["skew_s"]["node1"] == 0.609375
    # The default health check: checkhaproxy, interval 5 x fall 2.
    assert inst["track_scripts"] == ["checkhaproxy"]
    assert plan["scripts"][0]["detect_s"] == 10.0
    assert inst["bounds_s"] == {"stop": 15.609375, "kill": 15.609375, "reboot": 15.609375, "link": 15.609375,
                                "health": 25.609375}
    assert plan["bounds_s"] == inst["bounds_s"]
    node = plan["node"]["node1"]
    assert node == {
        "daemon": "keepalived", "service": "keepalived", "config_dir": "/etc/keepalived",
        "config_file": "/etc/keepalived/keepalived.conf", "state_dir": "/var/keepalived",
        "state_file": "/var/keepalived/state", "notify_log": "/var/log/keepalived.log", "address": "172.16.16.5",
    }


def test_paths_follow_the_role_variables_and_the_daemon():
    hv = cluster(keepalived_state_dir="/srv/vrrp/", keepalived_config_dir="/opt/ka")
    hv["node2"]["havip_vrrp_daemon"] = "agent"
    hv["node2"]["vrrp_agent_service"] = "my-agent"
    plan = make(hv)
    assert plan["node"]["node1"]["state_file"] == "/srv/vrrp/state"
    assert plan["node"]["node1"]["config_file"] == "/opt/ka/keepalived.conf"
    assert plan["node"]["node1"]["service"] == "keepalived"
    agent = plan["node"]["node2"]
    assert (agent["daemon"], agent["service"]) == ("agent", "my-agent")
    assert agent["status_file"] == "/run/havip-vrrp/status.json"  # the vrrp_agent role's default


def test_the_agents_service_defaults_to_its_roles_default():
    hv = cluster(havip_vrrp_daemon="agent")
    defaults = yaml.safe_load((ROOT / "roles" / "vrrp_agent" / "defaults" / "main.yml").read_text())
    assert make(hv)["node"]["node1"]["service"] == defaults["vrrp_agent_service"]


def v3_cluster(advert, node, **override):
    """A VRRPv3 cluster (no auth_pass) where ``node``'s instance has ``override``."""
    hv = cluster(keepalived_vrrp_version=3,
                 keepalived_instances=[{"name": "VI_1", "virtual_router_id": 51, "advert_int": advert,
                                        "virtual_ipaddresses": ["172.16.16.12"]}])
    hv[node]["keepalived_instances"] = [dict(hv[node]["keepalived_instances"][0], **override)]
    return hv


def test_vrrpv3_counts_centiseconds_and_scales_the_skew():
    hv = v3_cluster(0.1, "node1", priority=150)
    inst = make(hv)["instances"][0]
    assert inst["advert_int"] == 0.1
    # RFC 5798 6.1: 3 x 0.1 + (256 - prio) x 0.1 / 256.
    assert inst["master_down_s"]["node1"] == pytest.approx(0.3 + 106 * 0.1 / 256)
    assert inst["master_down_s"]["node2"] == pytest.approx(0.3 + 156 * 0.1 / 256)
    assert inst["expected_master"] == "node1"  # the higher priority wins a fresh election
    assert inst["bounds_s"]["stop"] == max(inst["master_down_s"].values())


def test_a_v3_backup_times_the_master_by_the_masters_interval():
    hv = v3_cluster(0.5, "node2", advert_int=1)
    inst = make(hv)["instances"][0]
    # node1 (backup) listens to node2's 1 s adverts; node2 to node1's 0.5 s (RFC 5798 6.4.2).
    assert inst["master_down_s"]["node1"] == pytest.approx(3 * 1 + 156 * 1 / 256)
    assert inst["master_down_s"]["node2"] == pytest.approx(3 * 0.5 + 156 * 0.5 / 256)
    assert inst["advert_int_by_node"] == {"node1": 0.5, "node2": 1.0}


def test_a_configured_master_among_equals_is_expected():
    hv = cluster()
    hv["node2"]["keepalived_instances"] = [dict(hv["node2"]["keepalived_instances"][0], state="MASTER",
                                                nopreempt=False)]
    assert make(hv)["expected_master"] == "node2"


def test_health_bound_uses_the_slowest_tracked_script_and_named_track_entries():
    scripts = [{"name": "fast", "interval": 1, "fall": 2}, {"name": "slow", "interval": 3, "fall": 3},
               {"name": "unused", "interval": 100, "fall": 9}]
    hv = cluster(keepalived_vrrp_scripts=scripts,
                 keepalived_instance_defaults={"interface": "eth0", "priority": 100, "advert_int": 1,
                                               "track_scripts": ["fast", {"name": "slow", "weight": -20}]})
    inst = make(hv)["instances"][0]
    assert inst["track_scripts"] == ["fast", "slow"]
    assert inst["bounds_s"]["health"] == pytest.approx(3 + 156 / 256 + 9)


def test_no_tracked_script_means_no_health_bound():
    hv = cluster(keepalived_instance_defaults={"priority": 100, "advert_int": 1, "track_scripts": []})
    assert make(hv)["bounds_s"]["health"] is None


def test_a_tracked_process_is_a_health_check_detected_after_its_delay():
    """Issue 12: the kernel reports a tracked process's exit at once (Keepalived's proc connector,
    the agent's pidfd), so its detection is its delay (keepalived.conf(5): delay sets
    terminate_delay; unset, 0) and an instance tracking only a process has a health bound."""
    tracks = [{"name": "web", "process": "nginx"}, {"name": "slow", "process": "haproxy", "delay": 2.5},
              {"name": "unused", "process": "x", "delay": 100}]
    only = cluster(keepalived_track_processes=tracks,
                   keepalived_instance_defaults={"interface": "eth0", "priority": 100, "advert_int": 0.1,
                                                 "track_scripts": [], "track_processes": ["web"]},
                   keepalived_vrrp_version=3)
    plan = make(only)
    inst = plan["instances"][0]
    assert (inst["track_scripts"], inst["track_processes"]) == ([], ["web"])
    down = 3 * 0.1 + 156 * 0.1 / 256  # RFC 5798 6.1
    assert inst["bounds_s"]["kill"] == pytest.approx(down)
    assert inst["bounds_s"]["health"] == pytest.approx(down)  # delay 0: no time added
    assert plan["bounds_s"]["health"] == pytest.approx(down)
    web = next(p for p in plan["processes"] if p["name"] == "web")
    assert (web["process"], web["delay"], web["detect_s"], web["weight"]) == ("nginx", 0, 0.0, 0)
    # Beside scripts, the slowest tracked check counts: a process's delay or a script's interval x fall.
    scripts = [{"name": "chk", "interval": 1, "fall": 2}]
    both = {"interface": "eth0", "priority": 100, "advert_int": 1, "track_scripts": ["chk"]}
    hv = cluster(keepalived_track_processes=tracks, keepalived_vrrp_scripts=scripts,
                 keepalived_instance_defaults=dict(both, track_processes=["web", "slow"]))
    assert make(hv)["bounds_s"]["health"] == pytest.approx(3 + 156 / 256 + 2.5)  # the process's delay
    hv = cluster(keepalived_track_processes=[dict(tracks[1], delay=0.5)], keepalived_vrrp_scripts=scripts,
                 keepalived_instance_defaults=dict(both, track_processes=["slow"]))
    assert make(hv)["bounds_s"]["health"] == pytest.approx(3 + 156 / 256 + 2)  # the script's 1 s x fall 2
    # A name the instance tracks but no block defines adds nothing (vrrp_option_errors refuses it).
    hv = cluster(keepalived_track_processes=tracks,
                 keepalived_instance_defaults=dict(both, track_scripts=[], track_processes=["nope"]))
    assert make(hv)["bounds_s"]["health"] is None
    with pytest.raises(AnsibleFilterError, match=r"keepalived_track_processes\[web\]\.delay='soon': must be a number"):
        make(cluster(keepalived_track_processes=[{"name": "web", "process": "nginx", "delay": "soon"}]))


def test_the_plan_never_holds_auth_pass():
    hv = cluster()
    for node in hv.values():
        node["keepalived_instances"][0]["notify_master"] = SECRET  # an unknown key is not copied either
    assert SECRET not in json.dumps(make(hv))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"keepalived_vrrp_version": 4}, "keepalived_vrrp_version=4 on node1: must be 2"),
        ({"keepalived_instance_defaults": {"priority": 100, "advert_int": 1.5}},
         "keepalived_instances[VI_1].advert_int=1.5 on node1: with keepalived_vrrp_version 2 it must be 1-255 whole "
         "seconds"),
        ({"keepalived_instance_defaults": {"priority": 0, "advert_int": 1}},
         "keepalived_instances[VI_1].priority=0 on node1"),
        ({"havip_vrrp_daemon": "vrrpd"}, "havip_vrrp_daemon='vrrpd' on node1: must be keepalived or agent"),
    ],
)
def test_what_cannot_be_planned_is_named(change, message):
    with pytest.raises(AnsibleFilterError, match=None) as err:
        make(cluster(**change))
    assert message in str(err.value)
    assert SECRET not in str(err.value)


def test_a_path_without_a_value_is_refused_not_guessed():
    defaults = plan_filter.role_defaults()
    del defaults["keepalived_state_dir"]
    with pytest.raises(AnsibleFilterError, match="keepalived_state_dir has no value for node1"):
        make(cluster(), defaults=defaults)


def test_nodes_that_disagree_are_named():
    hv = cluster()
    hv["node2"]["keepalived_vrrp_version"] = 3
    with pytest.raises(AnsibleFilterError, match="keepalived_vrrp_version differs"):
        make(hv)
    hv = cluster()
    hv["node2"]["keepalived_cluster_group"] = "db"
    with pytest.raises(AnsibleFilterError, match="different clusters"):
        make(hv)
    hv = cluster()
    hv["node2"]["keepalived_instances"] = [dict(hv["node2"]["keepalived_instances"][0], name="VI_2")]
    with pytest.raises(AnsibleFilterError, match=r"names differ between node1 \(\['VI_1'\]\) and node2"):
        make(hv)
    hv = cluster()
    hv["node2"]["keepalived_instances"] = [dict(hv["node2"]["keepalived_instances"][0], virtual_router_id=52)]
    with pytest.raises(AnsibleFilterError, match="virtual_router_id differs"):
        make(hv)
    with pytest.raises(AnsibleFilterError, match="'nope' is not an inventory host"):
        make(cluster(), hosts=("node1", "nope"))


def test_a_default_that_names_another_plan_variable_is_resolved():
    defaults = plan_filter.role_defaults()
    defaults["keepalived_state_dir"] = "{{ keepalived_config_dir }}/state"
    assert make(cluster(keepalived_config_dir="/opt/ka"), defaults=defaults)["node"]["node1"]["state_dir"] == (
        "/opt/ka/state")
    defaults["keepalived_state_dir"] = "{{ inventory_hostname }}"
    with pytest.raises(AnsibleFilterError, match="uses inventory_hostname, which the plan cannot resolve"):
        make(cluster(), defaults=defaults)


def test_the_roles_defaults_hold_every_value_the_plan_falls_back_on():
    defaults = plan_filter.role_defaults()
    for key in ("keepalived_cluster_group", "keepalived_instance_defaults", "keepalived_vrrp_version",
                "keepalived_vrrp_scripts", "keepalived_track_processes", "keepalived_config_dir",
                "keepalived_state_dir", "keepalived_notify_log", "vrrp_agent_service", "vrrp_agent_status_file"):
        assert key in defaults, key
    assert set(defaults["_keepalived_services"]) >= {"Debian", "RedHat"}


# --- the formula: once in the collection, plus the agent's stdlib copy ---------------------------


def _every_timing_input():
    """Every (advert_int, priority, version) a VRRP node can time with: VRRPv2 1-255 whole seconds,
    VRRPv3 1-4095 centiseconds, each with every priority 1-255 (255: the address owner)."""
    for version, (low, high) in vrrp_timing.WIRE_RANGE.items():
        per_second = vrrp_timing.WIRE_UNITS_PER_SECOND[version]
        for units in range(low, high + 1):
            for priority in range(1, 256):
                yield units / per_second, priority, version


def test_the_agents_copy_equals_the_collections_formula_over_the_whole_input_range():
    count = 0
    for advert, priority, version in _every_timing_input():
        assert machine.master_down_interval(advert, priority, version) == vrrp_timing.master_down_interval(
            advert, priority, version), (advert, priority, version)
        assert machine.skew_time(advert, priority, version) == vrrp_timing.skew_time(advert, priority, version)
        count += 1
    assert count == (255 + 4095) * 255


def test_the_agents_state_machine_times_with_its_copy():
    cfg = machine.MachineConfig(name="VI_1", vrid=51, priority=100, advert_int=0.2, primary_ip="172.16.16.5",
                                version=3)
    node = machine.VrrpInstance(cfg)
    assert node.master_down_interval == vrrp_timing.master_down_interval(0.2, 100, 3)
    node.master_adver_interval = 1.0  # learnt from a master advertising every second
    assert node.master_down_interval == vrrp_timing.master_down_interval(1.0, 100, 3)


@pytest.mark.parametrize(
    ("advert", "version", "expected"),
    [(1, 2, 1), (255, 2, 255), (1.0, 2, 1), (0.5, 2, None), (256, 2, None), (0, 2, None), (True, 2, None),
     (0.01, 3, 0.01), (40.95, 3, 40.95), (0.015, 3, None), (41, 3, None), ("1", 2, None), (1, 4, None)],
)
def test_what_each_version_carries_on_the_wire(advert, version, expected):
    assert vrrp_timing.effective_advert_int(advert, version) == expected
