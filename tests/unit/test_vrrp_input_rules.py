"""Inputs that used to slip through the filter's checks (issue 11), each refused before any change.

Every message names the variable, the bad value and the rule (R-id); auth_pass never appears in
one, not even in part. The cloud-side rules (cluster membership, VRIDs across clusters, the cloud
variables) come from the same filter as the roles' preflight.
"""

from __future__ import annotations

import copy

import pytest
from test_vrrp_filters import DEFAULTS, HOSTVARS, SCRIPTS, errors, facts, vrrp

GOOD_SETTINGS = {
    "keepalived_router_id": "HAVIP-01",
    "keepalived_notification_emails": ["acassen@firewall.loc"],
    "keepalived_notification_email_from": "Alexandre.Cassen@firewall.loc",
    "keepalived_smtp_server": "192.168.200.1",
    "keepalived_smtp_connect_timeout": 30,
    "keepalived_script_user": "root",
    "keepalived_vrrp_skip_check_adv_addr": True,
    "keepalived_vrrp_garp_interval": 0,
    "keepalived_vrrp_gna_interval": 0.001,
    "keepalived_vrrp_garp_master_repeat": 0,
    "keepalived_config_dir": "/etc/keepalived",
    "keepalived_notify_log": "/var/log/keepalived.log",
    "keepalived_state_dir": "/var/keepalived",
}


def setting_errors(**changes):
    instances = vrrp.vrrp_instances([{"name": "VI_1", "virtual_router_id": 51, "auth_pass": "1111",
                                      "virtual_ipaddresses": ["172.16.16.12"]}], DEFAULTS, "node1", HOSTVARS,
                                    ["node1", "node2"])
    return vrrp.vrrp_config_errors(instances, SCRIPTS, HOSTVARS["node1"]["ansible_facts"],
                                   settings=dict(GOOD_SETTINGS, **changes))


def test_the_guides_settings_pass():
    assert setting_errors() == []


@pytest.mark.parametrize(
    ("vip", "expected"),
    [
        ("172.16.16.1", "172.16.16.1 is reserved in 172.16.16.0/24 (network 172.16.16.0, gateway 172.16.16.1, "
                        "broadcast 172.16.16.255); only 172.16.16.2 - 172.16.16.254 can be a HAVIP (R1)"),
        ("172.16.16.0", "172.16.16.0 is reserved in 172.16.16.0/24"),
        ("172.16.16.255/32", "172.16.16.255 is reserved in 172.16.16.0/24"),
        ("172.16.16.12/16", "172.16.16.12/16 is wider than eth0's subnet 172.16.16.0/24; the prefix must be /24 "
                            "or longer (R1)"),
        ("172.16.16.12/255.255.255.0", "'172.16.16.12/255.255.255.0' is not an IPv4 address (a.b.c.d or "
                                       "a.b.c.d/prefix) (R3)"),
        ("172.16.16.12 dev eth1", "'172.16.16.12 dev eth1' is not an IPv4 address"),
        ("172.16.16.12/33", "'172.16.16.12/33' is not an IPv4 address"),
    ],
)
def test_a_vip_the_vpc_reserves_or_wider_than_the_subnet_is_refused(vip, expected):
    found = errors({"virtual_ipaddresses": [vip]})
    assert any(f"keepalived_instances[VI_1].virtual_ipaddresses: {expected}" in m for m in found), found


@pytest.mark.parametrize("vip", ["172.16.16.2", "172.16.16.254", "172.16.16.12/24", "172.16.16.12/32"])
def test_the_first_and_last_usable_addresses_and_narrow_prefixes_pass(vip):
    assert errors({"virtual_ipaddresses": [vip]}) == []


def test_duplicate_unicast_peers_are_refused():
    found = errors({"unicast_peers": ["172.16.16.6", "172.16.16.6"]})
    assert found == ["keepalived_instances[VI_1].unicast_peers: 172.16.16.6 is listed twice; each advert would be "
                     "sent twice (R4a)"]


def test_duplicate_vips_are_refused_within_and_across_instances():
    assert errors({"virtual_ipaddresses": ["172.16.16.12", "172.16.16.12/32"]}) == [
        "keepalived_instances: virtual_ipaddresses: 172.16.16.12 is listed twice on this node (R1, R4f)"]
    insts = [{"name": f"VI_{n}", "virtual_router_id": 50 + n, "auth_pass": "x", "virtual_ipaddresses": ["172.16.16.12"]}
             for n in (1, 2)]
    resolved = vrrp.vrrp_instances(insts, DEFAULTS, "node1", HOSTVARS, ["node1", "node2"])
    found = vrrp.vrrp_config_errors(resolved, SCRIPTS, facts("172.16.16.5"))
    assert found == ["keepalived_instances: virtual_ipaddresses: 172.16.16.12 is listed twice on this node (R1, R4f)"]


@pytest.mark.parametrize("value", ["n1\nvrrp_strict", "n1\rvrrp_strict", "n1\u2028vrrp_strict", "n1\x00",
                                   "n1 vrrp_strict", "n1}", 'n1"', "n1#x", ""])
def test_router_id_is_one_word_on_one_line(value):
    found = setting_errors(keepalived_router_id=value)
    assert len(found) == 1 and found[0].startswith(f"keepalived_router_id={value!r}: "), found
    assert found[0].endswith("(R3 router_id)")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("max_auto_priority 50\nvrrp_strict", "holds the control character '\\n'"),
        ("max_auto_priority 50\u0085vrrp_strict", "holds the control character '\\x85'"),
        ("}\nvrrp_strict", "holds the control character"),
        ("} vrrp_strict {", "must start with a keyword"),
        ("max_auto_priority 50 }", "holds a brace; a line may not open or close a block"),
        ('notify_fifo "/run/x', "holds an unbalanced '\"'"),
        ("# vrrp_strict", "must start with a keyword"),
    ],
)
def test_global_defs_extra_lines_cannot_smuggle_a_directive(line, expected):
    found = errors(extra=[line])
    assert found == [f"keepalived_global_defs_extra: {line!r} {expected}" + found[0].split(expected, 1)[1]], found
    assert found[0].endswith("(R3)")


def test_a_plain_extra_line_still_passes():
    assert errors(extra=["max_auto_priority 50", 'notify_fifo "/run/keepalived fifo"']) == []


PIECES = ("Qz", "Xy", "Wv")


@pytest.mark.parametrize(
    "secret",
    ["Qz{Xy}Wv", "Qz}Xy{Wv", 'Qz"XyWv', "Qz Xy Wv", "Qz\tXyWv", "Qz\\XyWv", "Qz\nXyWv", "QzXy'Wv", "Qz#XyWv",
     "QzXy!Wv"],
)
def test_auth_pass_with_syntax_characters_is_refused_and_never_shown(secret):
    found = errors({"auth_pass": secret})
    assert len(found) == 1 and found[0].startswith("keepalived_instances[VI_1].auth_pass: holds whitespace"), found
    assert "value not shown" in found[0] and "(R3 PASS authentication)" in found[0]
    assert not any(piece in found[0] for piece in PIECES)


def test_auth_pass_length_is_counted_in_bytes():
    # 'ééééé' is 5 characters but 10 bytes: Keepalived would put only 8 on the wire.
    found = errors({"auth_pass": "ééééé"})
    assert found == ["keepalived_instances[VI_1].auth_pass: must be 1-8 bytes in UTF-8, got 10 (Keepalived cuts the "
                     "rest on the wire) (R3 PASS authentication); value not shown"]
    assert errors({"auth_pass": "éééé"}) == []


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("keepalived_notification_email_from", "a@b\nvrrp_strict", "holds the control character"),
        ("keepalived_notification_email_from", "nobody", "is not an e-mail address (user@domain)"),
        ("keepalived_smtp_server", "10.0.0.1 25 x", "must be a host name or address, optionally followed by a port"),
        ("keepalived_smtp_server", "10.0.0.1 99999", "must be a host name or address"),
        ("keepalived_smtp_connect_timeout", "30", "must be an integer 1-3600 seconds"),
        ("keepalived_script_user", "root\nvrrp_strict", "must be a user name, optionally followed by a group"),
        ("keepalived_script_user", "root wheel extra", "must be a user name"),
        ("keepalived_vrrp_skip_check_adv_addr", "false", "must be a boolean"),
        ("keepalived_vrrp_garp_interval", "0.5\nvrrp_strict", "must be a number of seconds 0-1"),
        ("keepalived_vrrp_gna_interval", 2, "must be a number of seconds 0-1"),
        ("keepalived_vrrp_garp_master_repeat", "1\nvrrp_strict", "must be an integer 0-255"),
        ("keepalived_config_dir", "etc/keepalived", "must be an absolute path"),
        ("keepalived_config_dir", "/etc/keep alived", "holds a space"),
        ("keepalived_config_dir", '/etc/k"x', "holds '\"'"),
        ("keepalived_notify_log", "/var/log/k\n.log", "holds the control character '\\n'"),
        ("keepalived_notify_log", "/var/log/k\x00.log", "holds the control character '\\x00'"),
        ("keepalived_notify_log", "/var/log/k eepalived.log", "holds ' '; logrotate and the agent's systemd unit"),
        ("keepalived_state_dir", "/var/%h", "holds '%'; logrotate and the agent's systemd unit"),
        ("keepalived_state_dir", "var/keepalived", "must be an absolute path"),
    ],
)
def test_each_templated_setting_is_checked(name, value, expected):
    found = setting_errors(**{name: value})
    assert len(found) == 1, found
    assert found[0].startswith(f"{name}={value!r}: {expected}"), found
    assert found[0].endswith(")")


def test_notification_emails_are_checked_one_by_one():
    found = setting_errors(keepalived_notification_emails=["a@b.c", "x@y }\nvrrp_strict"])
    assert found == ["keepalived_notification_emails[1]='x@y }\\nvrrp_strict': holds the control character '\\n'; "
                     "it would start a new line (a new directive) (R3 notification_email)"]


@pytest.mark.parametrize("path", ["/var/log/$(reboot).log", "/var/log/`id`;'x'.log", "/var/log/keepalived.log"])
def test_shell_characters_in_log_paths_pass_they_are_quoted(path):
    assert setting_errors(keepalived_notify_log=path, keepalived_state_dir=path) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"interface": "eth0\nvrrp_strict"}, "interface='eth0\\nvrrp_strict': must name the ENI"),
        ({"interface": "eth0 }"}, "interface='eth0 }': must name the ENI"),
        ({"track_interfaces": ["eth1 }"]}, "track_interfaces: 'eth1 }' is not an interface name (R3)"),
        ({"unicast_src_ip": 5}, "unicast_src_ip=5: is not an IPv4 address (a.b.c.d) (R3)"),
        ({"unicast_peers": ["172.16.16.6\nvrrp_strict"]}, "unicast_peers: '172.16.16.6\\nvrrp_strict' is not an IPv4"),
    ],
)
def test_instance_words_are_checked_even_without_facts(overrides, expected):
    resolved = vrrp.vrrp_instances([dict({"name": "VI_1", "virtual_router_id": 51, "auth_pass": "1111",
                                          "unicast_src_ip": "172.16.16.5", "unicast_peers": ["172.16.16.6"],
                                          "virtual_ipaddresses": ["172.16.16.12"]}, **overrides)],
                                   DEFAULTS, "node1", {}, ["node1", "node2"])
    found = vrrp.vrrp_config_errors(resolved, SCRIPTS, {})
    assert any(f"keepalived_instances[VI_1].{expected}" in m for m in found), found


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ({"script": '/bin/check "x'}, "script='/bin/check \"x': holds '\"'"),
        ({"script": "/bin/check\nvrrp_strict"}, "holds the control character '\\n'"),
        ({"script": "/bin/check }"}, "holds '}'"),
        ({"timeout": None}, "keepalived_vrrp_scripts[checkhaproxy].timeout=None: give a value or leave the key out"),
    ],
)
def test_script_commands_stay_inside_their_quotes(script, expected):
    found = errors(scripts=[dict(SCRIPTS[0], **script)])
    assert any(expected in m for m in found), found


def test_a_script_with_arguments_passes():
    assert errors(scripts=[dict(SCRIPTS[0], script="/usr/local/bin/check --port 80")]) == []


# --- the cloud play's rules (playbooks/cloud_havip.yml), from the same filter -----------------------


def test_cluster_membership():
    groups = {"web": ["web1", "web2"], "db": ["db1"]}
    assert vrrp.vrrp_cluster_errors("web1", "web", groups) == []
    assert vrrp.vrrp_cluster_errors("web1", "db", groups) == [
        "keepalived_cluster_group='db': web1 is not a member of that group; one group per primary/backup cluster, "
        "its other members are the unicast peers (R3, R4a)"]
    assert vrrp.vrrp_cluster_errors("web1", "cache", groups)[0].startswith(
        "keepalived_cluster_group='cache': no such inventory group on web1")


def test_vrid_clash_messages_are_one_wording_for_the_inventory_and_the_vpc():
    instances = [{"name": "VI_1", "virtual_router_id": 51}, {"virtual_router_id": 52}]
    assert vrrp.vrrp_vrid_errors(instances, {51: "web"}, cluster="db") == [
        "cluster db: keepalived_instances[VI_1].virtual_router_id=51: already used by cluster group 'web'; each "
        "primary/backup cluster in a VPC needs a unique virtual_router_id (R4d)"]
    tagged = vrrp.vrrp_tagged_vrids([{"name": "havip-legacy", "tags": {"havip:vrid": "52"}}])
    assert vrrp.vrrp_vrid_errors(instances, tagged, "HAVIP '{}' of vpc-1 (tag havip:vrid)") == [
        "keepalived_instances[1].virtual_router_id=52: already used by HAVIP 'havip-legacy' of vpc-1 (tag "
        "havip:vrid); each primary/backup cluster in a VPC needs a unique virtual_router_id (R4d)"]
    # The role's preflight says the same for the inventory's other clusters.
    found = errors({"virtual_router_id": 51}, foreign={51: "web"})
    assert found == ["keepalived_instances[VI_1].virtual_router_id=51: already used by cluster group 'web'; each "
                     "primary/backup cluster in a VPC needs a unique virtual_router_id (R4d)"]


CLOUD_NODE = {"havip_vpc_id": "vpc-1a", "havip_subnet_id": "subnet-2b", "havip_address": "",
              "keepalived_instances": [{"virtual_router_id": 51}]}


def test_cloud_variables_each_get_their_own_message():
    hostvars = {"n1": dict(CLOUD_NODE, havip_instance_id="ins-1"), "n2": dict(CLOUD_NODE, havip_instance_id="ins-2")}
    assert vrrp.havip_cloud_errors(hostvars, ["n1", "n2"], "web") == []
    bad = copy.deepcopy(hostvars)
    for node in bad.values():
        node.update(havip_vpc_id="vpc_1", havip_address="10.0.0.256")
    del bad["n2"]["havip_instance_id"]
    bad["n2"]["havip_subnet_id"] = "subnet-9z"
    assert vrrp.havip_cloud_errors(bad, ["n1", "n2"], "web") == [
        "cluster web: havip_vpc_id='vpc_1': must be a VPC id, vpc-... (R1)",
        "cluster web: havip_address='10.0.0.256': is not an IPv4 address (a.b.c.d); empty for an automatic "
        "address (R1)",
        "cluster web: havip_subnet_id differs between the nodes (n1: 'subnet-2b', n2: 'subnet-9z'); one cluster, one "
        "HAVIP (R1)",
        "cluster web: n2: havip_instance_id=None: must be the CVM's instance id, ins-... (R1)",
    ]
