"""The guide's rules (R3, R4) as the keepalived role checks them before changing anything.

Each bad input must produce a message naming the variable, the bad value and the rule, and
auth_pass must never appear in any message.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

# vrrp.py imports the collection's timing module (plugins/plugin_utils), as Ansible would load it.
_COLLECTIONS = str(Path(__file__).resolve().parents[2] / "build" / "collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
_spec = importlib.util.spec_from_file_location(
    "vrrp_filters", Path(__file__).resolve().parents[2] / "plugins" / "filter" / "vrrp.py"
)
vrrp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vrrp)

DEFAULTS = {
    "state": "BACKUP", "interface": "eth0", "nopreempt": True, "priority": 100, "advert_int": 5,
    "garp_master_delay": 1, "garp_master_refresh": 5, "track_interfaces": [], "track_scripts": ["checkhaproxy"],
    "notify": True,
}
SCRIPTS = [{"name": "checkhaproxy", "script": "/etc/keepalived/check_service.sh", "interval": 5, "timeout": 4}]
SECRET = "Zq7#pw"  # has a '#': invalid, and must still never be echoed


def facts(ip):
    return {"interfaces": ["lo", "eth0"], "eth0": {"ipv4": {"address": ip, "netmask": "255.255.255.0"}}}


HOSTVARS = {
    "node1": {"ansible_facts": facts("172.16.16.5")},
    "node2": {"ansible_facts": facts("172.16.16.6")},
}


def plan(overrides=None, host="node1", hostvars=None):
    inst = {"name": "VI_1", "virtual_router_id": 51, "auth_pass": "1111", "virtual_ipaddresses": ["172.16.16.12"]}
    inst.update(overrides or {})
    hv = hostvars or HOSTVARS
    return vrrp.vrrp_instances([inst], DEFAULTS, host, hv, ["node1", "node2"])


def errors(overrides=None, *, scripts=None, foreign=None, extra=None, host="node1", version=2):
    resolved = plan(overrides, host)
    return vrrp.vrrp_config_errors(resolved, SCRIPTS if scripts is None else scripts,
                                   HOSTVARS[host]["ansible_facts"], foreign, global_extra=extra, vrrp_version=version)


def test_the_guides_cluster_passes_and_peers_are_derived():
    assert errors() == []
    assert plan()[0]["unicast_src_ip"] == "172.16.16.5"
    assert plan()[0]["unicast_peers"] == ["172.16.16.6"]
    assert plan(host="node2")[0]["unicast_peers"] == ["172.16.16.5"]


def test_own_interface_is_dropped_from_track_interface():
    assert plan({"track_interfaces": ["eth0", "eth1"]})[0]["track_interfaces"] == ["eth1"]


def test_explicit_src_ip_wins_over_facts():
    hv = copy.deepcopy(HOSTVARS)
    hv["node2"]["keepalived_unicast_src_ip"] = "172.16.16.66"
    assert vrrp.vrrp_instances([{"name": "VI_1"}], DEFAULTS, "node1", hv, ["node1", "node2"])[0][
        "unicast_peers"] == ["172.16.16.66"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"virtual_router_id": 0}, "virtual_router_id=0: must be an integer 1-255 (R4d)"),
        ({"virtual_router_id": 256}, "virtual_router_id=256"),
        ({"state": "MASTER"}, "nopreempt needs state BACKUP (R3)"),
        ({"state": "PRIMARY"}, "state='PRIMARY': must be BACKUP or MASTER"),
        ({"preempt_delay": 10}, "preempt_delay=10: has no effect with nopreempt"),
        ({"priority": 255}, "priority=255: must be an integer 1-254"),
        ({"advert_int": 0}, "advert_int=0: must be an integer 1-255 seconds"),
        ({"advert_int": "5"}, "advert_int='5'"),
        ({"auth_pass": "123456789"}, "auth_pass: must be 1-8 bytes in UTF-8, got 9"),
        ({"auth_pass": ""}, "auth_pass: must be 1-8 bytes"),
        ({"interface": "eth9"}, "interface='eth9': no such interface on this host"),
        ({"virtual_ipaddresses": ["10.0.0.12"]},
         "10.0.0.12 is outside eth0's subnet 172.16.16.0/24; a HAVIP is subnet-scoped (R1)"),
        ({"virtual_ipaddresses": ["172.16.16.6"]}, "172.16.16.6 is a node's own address"),
        ({"virtual_ipaddresses": ["not-an-ip"]}, "'not-an-ip' is not an IPv4 address"),
        ({"virtual_ipaddresses": []}, "at least one HAVIP is needed"),
        ({"virtual_ipaddresses": [f"172.16.16.{i}" for i in range(20, 26)]}, "at most 5 HAVIPs per ENI (R4f)"),
        ({"unicast_peers": ["172.16.16.5"]}, "172.16.16.5 is this node's own address"),
        ({"garp_master_delay": 0}, "garp_master_delay=0: must be an integer 1-3600"),
        ({"garp_master_refresh": None}, "garp_master_refresh=None"),
        ({"track_scripts": ["chk_nginx"]}, "'chk_nginx' is not defined in keepalived_vrrp_scripts"),
        ({"name": "VI 1"}, "name 'VI 1' must be letters"),
    ],
)
def test_each_broken_rule_is_named(overrides, expected):
    found = errors(overrides)
    assert any(expected in msg for msg in found), found


def test_auth_pass_is_never_echoed():
    found = errors({"auth_pass": SECRET, "virtual_router_id": 0, "advert_int": 0})
    assert len(found) == 3
    assert all(SECRET not in msg for msg in found)


def test_unicast_peers_need_facts_or_an_address():
    hv = {"node1": HOSTVARS["node1"], "node2": {}}
    resolved = vrrp.vrrp_instances([{"name": "VI_1", "virtual_router_id": 51, "auth_pass": "x",
                                     "virtual_ipaddresses": ["172.16.16.12"]}], DEFAULTS, "node1", hv,
                                   ["node1", "node2"])
    found = vrrp.vrrp_config_errors(resolved, SCRIPTS, facts("172.16.16.5"))
    assert any("a peer's address cannot be derived" in msg for msg in found), found


def test_a_single_node_group_is_not_unicast():
    resolved = vrrp.vrrp_instances([{"name": "VI_1", "virtual_router_id": 51, "auth_pass": "x",
                                     "virtual_ipaddresses": ["172.16.16.12"]}], DEFAULTS, "node1", HOSTVARS,
                                   ["node1"])
    found = vrrp.vrrp_config_errors(resolved, SCRIPTS, facts("172.16.16.5"))
    assert any("unicast_peers: empty; VRRP must be unicast" in msg for msg in found), found


def test_vrid_collision_with_another_cluster_is_refused():
    hv = {
        "a1": {"keepalived_cluster_group": "web", "keepalived_instances": [{"virtual_router_id": 51}]},
        "a2": {"keepalived_cluster_group": "web", "keepalived_instances": [{"virtual_router_id": 51}]},
        "b1": {"keepalived_cluster_group": "db", "keepalived_instances": [{"virtual_router_id": 52}]},
        "probe": {},
    }
    foreign = vrrp.vrrp_foreign_vrids(hv, list(hv), "db", ["b1"])
    assert foreign == {51: "web"}
    found = errors({"virtual_router_id": 51}, foreign=foreign)
    assert any("already used by cluster group 'web'" in msg and "(R4d)" in msg for msg in found), found
    assert errors({"virtual_router_id": 52}, foreign=foreign) == []


def test_duplicate_vrids_and_names_on_one_node():
    inst = {"name": "VI_1", "virtual_router_id": 51, "auth_pass": "x", "virtual_ipaddresses": ["172.16.16.12"]}
    resolved = vrrp.vrrp_instances([inst, dict(inst)], DEFAULTS, "node1", HOSTVARS, ["node1", "node2"])
    found = vrrp.vrrp_config_errors(resolved, SCRIPTS, facts("172.16.16.5"))
    assert any("virtual_router_id 51 is used twice" in msg for msg in found), found
    assert any("name 'VI_1' is used twice" in msg for msg in found), found


def test_vips_are_counted_per_interface_across_instances():
    insts = [{"name": f"VI_{n}", "virtual_router_id": 50 + n, "auth_pass": "x",
              "virtual_ipaddresses": [f"172.16.16.{20 + 2 * n}", f"172.16.16.{21 + 2 * n}"]} for n in range(3)]
    resolved = vrrp.vrrp_instances(insts, DEFAULTS, "node1", HOSTVARS, ["node1", "node2"])
    found = vrrp.vrrp_config_errors(resolved, SCRIPTS, facts("172.16.16.5"))
    assert found == ["keepalived_instances: 6 VIPs on interface eth0 (172.16.16.20, 172.16.16.21, 172.16.16.22, "
                     "172.16.16.23, 172.16.16.24, 172.16.16.25); at most 5 HAVIPs per ENI (R4f)"]


@pytest.mark.parametrize("advert", [0.01, 0.1, 0.35, 1, 2.5, 40.95])
def test_vrrpv3_takes_centisecond_advert_int_without_auth(advert):
    assert errors({"advert_int": advert, "auth_pass": None}, version=3) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"advert_int": 0.005, "auth_pass": None},
         "advert_int=0.005: with keepalived_vrrp_version 3 must be 0.01-40.95"),
        ({"advert_int": 0.125, "auth_pass": None}, "advert_int=0.125: with keepalived_vrrp_version 3"),
        ({"advert_int": 41, "auth_pass": None}, "advert_int=41: with keepalived_vrrp_version 3"),
        ({"advert_int": "0.1", "auth_pass": None}, "advert_int='0.1': with keepalived_vrrp_version 3"),
        ({"advert_int": 0.1}, "auth_pass: VRRPv3 has no authentication (RFC 5798)"),
    ],
)
def test_vrrpv3_rules(overrides, expected):
    found = errors(overrides, version=3)
    assert any(expected in msg for msg in found), found
    assert all("1111" not in msg for msg in found)


def test_vrrpv2_refuses_sub_second_advert_int():
    found = errors({"advert_int": 0.1})
    assert any("advert_int=0.1: must be an integer 1-255 seconds with VRRPv2" in msg for msg in found), found


@pytest.mark.parametrize("version", [1, 4, "3", True])
def test_unknown_vrrp_version_is_refused(version):
    found = errors(version=version)
    assert any(msg.startswith(f"keepalived_vrrp_version={version!r}: must be 2") for msg in found), found


def test_vrrp_version_in_global_defs_extra_is_refused():
    found = errors(extra=["vrrp_version 3"])
    assert found == ["keepalived_global_defs_extra: 'vrrp_version 3' is refused; set keepalived_vrrp_version, "
                     "which the advert_int and auth_pass checks follow (R4g)"]


def test_vrrp_strict_is_refused():
    found = errors(extra=["vrrp_strict"])
    assert found == ["keepalived_global_defs_extra: 'vrrp_strict' is refused; it breaks unicast VRRP (R4e)"]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ({"interval": 0}, "interval=0: must be an integer 1-3600 seconds (R4h)"),
        ({"timeout": 10}, "timeout=10: must be 1 s up to the interval (5)"),
        ({"fall": 0}, "fall=0: must be an integer 1-255"),
        ({"weight": 300}, "weight=300: must be an integer -253..253"),
        ({"script": "check.sh"}, "script='check.sh': must be an absolute path"),
    ],
)
def test_script_rules(script, expected):
    bad = [dict(SCRIPTS[0], **script)]
    found = errors(scripts=bad)
    assert any(expected in msg for msg in found), found


def test_garp_master_repeat_is_automatic_with_several_vips():
    one = [{"virtual_ipaddresses": ["172.16.16.12"]}]
    two = [{"virtual_ipaddresses": ["172.16.16.12", "172.16.16.13"]}]
    assert vrrp.vrrp_garp_master_repeat(one, 0) is None
    assert vrrp.vrrp_garp_master_repeat(two, 0) == 1
    assert vrrp.vrrp_garp_master_repeat(one, 3) == 3


def test_unicast_src_ip_must_be_an_address_of_the_host():
    """Issue 13 finding 3: preflight accepted a unicast_src_ip the host lacks (the daemon fails to
    bind it at start or at a reload). Checked against ansible_all_ipv4_addresses."""
    own = dict(HOSTVARS["node1"]["ansible_facts"], all_ipv4_addresses=["172.16.16.5", "10.9.0.1"])
    resolved = plan()
    assert vrrp.vrrp_config_errors(resolved, SCRIPTS, own) == []
    resolved[0]["unicast_src_ip"] = "10.9.0.1"  # another address of the host: fine
    assert vrrp.vrrp_config_errors(resolved, SCRIPTS, own) == []
    resolved[0]["unicast_src_ip"] = "172.16.16.55"
    errs = vrrp.vrrp_config_errors(resolved, SCRIPTS, own)
    assert errs == ["keepalived_instances[VI_1].unicast_src_ip=172.16.16.55: not an address of this host "
                    "(ansible_all_ipv4_addresses: 172.16.16.5, 10.9.0.1); set keepalived_unicast_src_ip to one "
                    "of them (R3, R4a)"], errs
    # Loopback is left out of ansible_all_ipv4_addresses; the interface facts still count.
    own = dict(own, interfaces=["lo", "eth0"], lo={"ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"}})
    resolved[0]["unicast_src_ip"] = "127.0.0.1"
    assert not any("not an address of this host" in e for e in vrrp.vrrp_config_errors(resolved, SCRIPTS, own))
