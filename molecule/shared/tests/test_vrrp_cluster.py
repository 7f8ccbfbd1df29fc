"""Verify a converged two-node VRRP cluster (shared by the Molecule scenarios).

Runs after converge and after every failover drill: the rendered configuration matches the
inventory's variables (R3), the daemon runs and accepts its configuration, exactly one node holds
each VIP (R5/R8), and the R7 state file agrees with who holds it.
"""
import os
import re

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = AnsibleRunner(INVENTORY)
NODES = RUNNER.get_hosts("cluster")
testinfra_hosts = NODES

CONFIG = "/etc/keepalived/keepalived.conf"


def node_vars(name):
    return RUNNER.get_variables(name)


def instances(name):
    return node_vars(name)["keepalived_instances"]


def own_ip(host):
    return host.interface("eth0").addresses[0]


def all_vips():
    return sorted({vip for inst in instances(NODES[0]) for vip in inst["virtual_ipaddresses"]})


def holders(vip):
    found = []
    for name in NODES:
        node = testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")
        if vip in node.interface("eth0").addresses:
            found.append(name)
    return found


def test_daemon_runs_and_is_enabled(host):
    daemon = host.service("keepalived")
    assert daemon.is_running
    assert daemon.is_enabled


def test_live_config_passes_keepalived_config_test(host):
    result = host.run(f"keepalived -t -f {CONFIG}")
    assert result.rc == 0, result.stderr


def test_config_is_private_and_root_owned(host):
    config = host.file(CONFIG)
    assert config.user == "root"
    assert config.mode & 0o007 == 0, oct(config.mode)


def test_config_matches_inventory(host):
    text = host.file(CONFIG).content_string
    me = own_ip(host)
    peers = sorted(own_ip(testinfra.get_host(f"ansible://{n}?ansible_inventory={INVENTORY}"))
                   for n in NODES if n != host.backend.get_hostname())
    assert "vrrp_strict" not in text  # R4e
    assert re.search(r"^\s*garp_master_delay 1$", text, re.M)  # R4c
    assert re.search(r"^\s*garp_master_refresh 5$", text, re.M)  # R4c
    for inst in instances(host.backend.get_hostname()):
        block = re.search(rf"vrrp_instance {re.escape(inst['name'])} \{{(.*?)\n\}}", text, re.S)
        assert block, f"vrrp_instance {inst['name']} missing"
        body = block.group(1)
        assert re.search(rf"^\s*virtual_router_id {inst['virtual_router_id']}$", body, re.M)
        assert re.search(rf"^\s*advert_int {inst.get('advert_int', 5)}$", body, re.M)
        assert re.search(r"^\s*state BACKUP$", body, re.M)
        assert re.search(r"^\s*nopreempt$", body, re.M)
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
    state = host.file("/var/keepalived/state").content_string.strip()
    holds = vip in host.interface("eth0").addresses
    assert state == ("MASTER" if holds else "BACKUP")
