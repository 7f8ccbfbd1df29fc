"""Verify converged VRRP clusters (shared by the Molecule scenarios), on every node.

Runs after converge and after every failover drill: the rendered configuration matches the
inventory's variables (R3), the daemon runs and accepts its configuration, exactly one node holds
each VIP (R5/R8), and the R7 state file agrees with who holds it. Checks of one daemon's own unit
live in test_keepalived_nodes.py and test_agent_nodes.py (run on those nodes only).
"""
import re

import pytest
from vrrp_inventory import (
    AGENT_CLI,
    AGENT_SERVICE,
    CONFIG,
    NODES,
    agent_status,
    all_vips,
    binary,
    daemon,
    holders,
    instances,
    node_vars,
    own_ip,
    own_vips,
    peer_ips,
)

testinfra_hosts = NODES


def service_name(host):
    return AGENT_SERVICE if daemon(host) == "agent" else "keepalived"


def test_daemon_runs_and_is_enabled(host):
    daemon_unit = host.service(service_name(host))
    assert daemon_unit.is_running
    assert daemon_unit.is_enabled


def test_one_vrrp_daemon_per_node(host):
    """Keepalived and the agent never run side by side on a node (they would both answer the VRID)."""
    other = "keepalived" if daemon(host) == "agent" else AGENT_SERVICE
    state = host.run(f"systemctl is-active {other}").stdout.strip()
    enabled = host.run(f"systemctl is-enabled {other}").stdout.strip()
    assert state != "active", f"{other} is {state}"
    assert enabled != "enabled", f"{other} is {enabled}"


def test_live_config_passes_keepalived_config_test(host):
    if daemon(host) == "agent":
        result = host.run(f"{AGENT_CLI} --check-config -f {CONFIG}")
        assert result.rc == 0, result.stderr
        assert "OK, 1 vrrp_instance(s)" in result.stdout or "OK," in result.stdout
        return
    result = host.run(f"{binary(host)} -t -f {CONFIG}")
    assert result.rc == 0, result.stderr


def test_config_is_private_and_root_owned(host):
    config = host.file(CONFIG)
    assert config.user == "root"
    assert config.mode & 0o007 == 0, oct(config.mode)


def test_config_matches_inventory(host):
    text = host.file(CONFIG).content_string
    me = own_ip(host)
    name = host.backend.get_hostname()
    peers = peer_ips(name)
    version = int(node_vars(name).get("keepalived_vrrp_version", 2))
    assert "vrrp_strict" not in text  # R4e
    assert bool(re.search(r"^\s*vrrp_version 3$", text, re.M)) == (version == 3)
    assert re.search(r"^\s*garp_master_delay 1$", text, re.M)  # R4c
    assert re.search(r"^\s*garp_master_refresh 5$", text, re.M)  # R4c
    for inst in instances(name):
        block = re.search(rf"vrrp_instance {re.escape(inst['name'])} \{{(.*?)\n\}}", text, re.S)
        assert block, f"vrrp_instance {inst['name']} missing"
        body = block.group(1)
        assert re.search(rf"^\s*virtual_router_id {inst['virtual_router_id']}$", body, re.M)
        assert re.search(rf"^\s*advert_int {inst.get('advert_int', 5)}$", body, re.M)
        assert re.search(r"^\s*state BACKUP$", body, re.M)
        assert re.search(r"^\s*nopreempt$", body, re.M)
        # PASS authentication with the guide's VRRPv2 (R3); none with VRRPv3 (RFC 5798).
        assert bool(re.search(r"^\s*auth_type PASS$", body, re.M)) == (version == 2)
        assert re.search(rf"^\s*unicast_src_ip {re.escape(me)}$", body, re.M)  # R4a
        peer_block = re.search(r"unicast_peer \{(.*?)\}", body, re.S).group(1).split()
        assert sorted(peer_block) == peers
        vip_block = re.search(r"virtual_ipaddress \{(.*?)\}", body, re.S).group(1)
        assert sorted(v.split("/")[0] for v in vip_block.split()) == sorted(inst["virtual_ipaddresses"])


def test_notify_script_is_safe_and_executable(host):
    script = host.file("/etc/keepalived/notify_action.sh")
    assert script.user == "root"
    assert script.mode & 0o111 == 0o111  # R7: executable by all
    assert script.mode & 0o022 == 0  # script security: not writable by group/others


def test_notify_log_is_rotated(host):
    assert host.file("/etc/logrotate.d/keepalived-notify").contains("/var/log/keepalived.log")  # R4i


@pytest.mark.parametrize("vip", all_vips())
def test_exactly_one_node_holds_the_vip(vip):
    assert len(holders(vip)) == 1, f"{vip} held by {holders(vip)}"


@pytest.mark.parametrize("vip", all_vips())
def test_state_file_agrees_with_the_vip(host, vip):
    holds = vip in host.interface("eth0").addresses
    if vip not in own_vips(host.backend.get_hostname()):
        assert not holds, f"{vip} belongs to another cluster"
        return
    state = host.file("/var/keepalived/state").content_string.strip()
    assert state == ("MASTER" if holds else "BACKUP")


# Drops that would mean the peer speaks another dialect (interop: Keepalived <-> agent).
WIRE_ERRORS = ("truncated", "bad_version", "bad_type", "bad_checksum", "bad_ttl", "bad_vrid", "bad_auth",
               "bad_length", "bad_address_count")


def test_the_peers_adverts_are_accepted(host):
    """Each node accepts the other's advertisements (unicast, PASS auth): a BACKUP has received
    some, and neither daemon counts a packet or authentication error. Keepalived's counters come
    from its statistics dump (SIGUSR2 writes /tmp/keepalived.stats), the agent's from its status."""
    state = host.file("/var/keepalived/state").content_string.strip()
    if daemon(host) == "agent":
        data = agent_status(host)
        received = sum(inst["adverts_received"] for inst in data["instances"].values())
        errors = {k: v for k, v in data.get("adverts_dropped", {}).items() if k in WIRE_ERRORS and v}
    else:
        dump = host.run("kill -USR2 $(systemctl show -p MainPID --value keepalived) && sleep 1 && "
                        "cat /tmp/keepalived.stats")
        assert dump.rc == 0, dump.stderr
        received = int(re.search(r"Advertisements:\s+Received: (\d+)", dump.stdout).group(1))
        sections = re.search(r"Packet Errors:(.*?)Priority Zero:", dump.stdout, re.S).group(1)
        errors = {k.strip(): int(v) for k, v in re.findall(r"^\s+([A-Za-z ]+): (\d+)$", sections, re.M) if int(v)}
    if state == "BACKUP":
        assert received > 0, f"{host.backend.host} is BACKUP but has received no advertisement"
    assert not errors, errors
