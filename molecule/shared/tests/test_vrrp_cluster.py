"""Verify a converged two-node VRRP cluster (shared by the Molecule scenarios).

Runs after converge and after every failover drill: the rendered configuration matches the
inventory's variables (R3), the daemon runs and accepts its configuration, exactly one node holds
each VIP (R5/R8), and the R7 state file agrees with who holds it.

Daemon-aware: ``havip_vrrp_daemon`` (keepalived, the default, or agent) says which VRRP daemon a
node runs - Keepalived (roles/keepalived) or the Python agent (roles/vrrp_agent).
"""
import functools
import json
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


AGENT_SERVICE = "havip-vrrp-agent"
AGENT_CLI = "/usr/local/sbin/havip-vrrp"


@functools.cache
def daemon_of(name):
    """keepalived or agent. A templated value (the interop scenario's migration step changes it
    between runs) is resolved by Ansible itself."""
    value = node_vars(name).get("havip_vrrp_daemon", "keepalived")
    if "{{" in str(value):
        node = testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")
        value = node.ansible("debug", "var=havip_vrrp_daemon", check=False)["havip_vrrp_daemon"]
    assert value in ("keepalived", "agent"), value
    return value


def daemon(host):
    return daemon_of(host.backend.host)


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


def install_method(host):
    """The method the scenario asks for: 'source' or the package (default and auto scenarios)."""
    return node_vars(host.backend.host).get("keepalived_install_method", "auto")


def binary(host):
    return "/usr/local/sbin/keepalived" if install_method(host) == "source" else "/usr/sbin/keepalived"


def test_live_config_passes_keepalived_config_test(host):
    if daemon(host) == "agent":
        result = host.run(f"{AGENT_CLI} --check-config -f {CONFIG}")
        assert result.rc == 0, result.stderr
        assert "OK, 1 vrrp_instance(s)" in result.stdout or "OK," in result.stdout
        return
    result = host.run(f"{binary(host)} -t -f {CONFIG}")
    assert result.rc == 0, result.stderr


def test_the_unit_runs_the_binary_of_the_chosen_method(host):
    """R2: package path: Debian's binary and unit; source path: the built binary, our unit, no package."""
    if daemon(host) == "agent":
        pytest.skip("the agent's unit is checked by test_agent_unit_runs_the_shipped_package")
    exec_start = host.run("systemctl show -p ExecStart --value keepalived").stdout
    main_pid = host.run("systemctl show -p MainPID --value keepalived").stdout.strip()
    running = host.run(f"readlink /proc/{main_pid}/exe").stdout.strip()
    package = host.package("keepalived")
    if install_method(host) == "source":
        wanted = node_vars(host.backend.host)["keepalived_source_version"]
        assert not package.is_installed
        assert "/usr/local/sbin/keepalived" in exec_start
        assert running == "/usr/local/sbin/keepalived"
        version = host.run("/usr/local/sbin/keepalived --version")
        assert f"Keepalived v{wanted}" in version.stdout + version.stderr
        assert host.file("/etc/systemd/system/keepalived.service").contains("source build")
    else:
        assert package.is_installed
        assert "/usr/sbin/keepalived" in exec_start
        assert running == "/usr/sbin/keepalived"
        assert not host.file("/usr/local/sbin/keepalived").exists


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


# --- the Python VRRP agent (roles/vrrp_agent) ----------------------------------------------------

def agent_only(host):
    if daemon(host) != "agent":
        pytest.skip("this node runs Keepalived")


def test_agent_unit_runs_the_shipped_package(host):
    agent_only(host)
    show = host.run(f"systemctl show -p ExecStart -p Environment --value {AGENT_SERVICE}").stdout
    assert f"-m havip_vrrp run -f {CONFIG}" in show
    assert "PYTHONPATH=/usr/local/lib/havip-vrrp" in show
    main_pid = host.run(f"systemctl show -p MainPID --value {AGENT_SERVICE}").stdout.strip()
    cmdline = host.file(f"/proc/{main_pid}/cmdline").content.split(b"\0")
    assert b"havip_vrrp" in cmdline and b"run" in cmdline
    code = host.file("/usr/local/lib/havip-vrrp/havip_vrrp")
    assert code.is_directory and code.user == "root" and code.mode == 0o755
    modules = host.run("find /usr/local/lib/havip-vrrp -name '*.py' -printf '%u %m %f\\n'").stdout.split("\n")
    modules = [m for m in modules if m]
    assert len(modules) >= 10 and all(m.startswith("root 644 ") for m in modules), modules
    assert host.file("/usr/local/lib/havip-vrrp/havip_vrrp/__pycache__").exists is False


def test_agent_unit_is_hardened(host):
    agent_only(host)
    props = dict(
        line.split("=", 1)
        for line in host.run(
            f"systemctl show {AGENT_SERVICE} -p CapabilityBoundingSet -p AmbientCapabilities -p NoNewPrivileges"
            " -p ProtectSystem -p ProtectHome -p PrivateTmp -p ReadWritePaths -p Restart -p ExecReload -p User"
        ).stdout.splitlines()
        if "=" in line
    )
    assert sorted(props["CapabilityBoundingSet"].split()) == ["cap_net_admin", "cap_net_raw"]
    assert sorted(props["AmbientCapabilities"].split()) == ["cap_net_admin", "cap_net_raw"]
    assert props["NoNewPrivileges"] == "yes"
    assert props["ProtectSystem"] == "strict"
    assert props["ProtectHome"] == "yes"
    assert props["PrivateTmp"] == "yes"
    assert props["Restart"] == "on-failure"
    assert "kill -HUP" in props["ExecReload"]
    assert set(props["ReadWritePaths"].split()) >= {"/run/havip-vrrp", "/var/keepalived", "/var/log"}
    # The running process really has those capabilities and nothing else (CapBnd/CapEff in hex).
    main_pid = host.run(f"systemctl show -p MainPID --value {AGENT_SERVICE}").stdout.strip()
    caps = dict(line.split(":\t") for line in host.file(f"/proc/{main_pid}/status").content_string.splitlines()
                if line.startswith("Cap"))
    net_raw_admin = (1 << 12) | (1 << 13)  # CAP_NET_ADMIN 12, CAP_NET_RAW 13
    assert int(caps["CapBnd"], 16) == net_raw_admin
    assert int(caps["CapEff"], 16) == net_raw_admin
    # ProtectSystem=strict: the agent cannot write its own code or keepalived.conf.
    probe = host.run(f"nsenter -t {main_pid} -m sh -c 'touch /etc/keepalived/x 2>&1; touch /usr/local/lib/x 2>&1'")
    assert probe.stdout.count("Read-only file system") == 2, probe.stdout


def agent_status(host):
    result = host.run(f"{AGENT_CLI} status --json")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("vip", all_vips())
def test_agent_status_command_and_scripts_under_the_sandbox(host, vip):
    """`havip-vrrp status` agrees with who holds the VIP; the health check ran (exit 0) and the
    notify script wrote the R7 state file - both under the hardened unit."""
    agent_only(host)
    data = agent_status(host)
    holds = vip in host.interface("eth0").addresses
    inst = next(i for i in data["instances"].values() if vip in i["vips"])
    assert inst["state"] == ("MASTER" if holds else "BACKUP")
    assert inst["master_ip"]
    assert all(t["ok"] and t["last_result"] == "exit 0" for t in data["tracks"].values()), data["tracks"]
    assert host.file("/var/keepalived/state").content_string.strip() == inst["state"]
    text = host.run(f"{AGENT_CLI} status").stdout
    assert f"instance {next(n for n, i in data['instances'].items() if i is inst)}: {inst['state']}" in text
    assert "current master: " in text


def test_agent_metrics_endpoint(host):
    agent_only(host)
    data = agent_status(host)
    fetch = host.run(
        "python3 -c 'import urllib.request, sys;"
        " sys.stdout.write(urllib.request.urlopen(\"http://127.0.0.1:9720/metrics\", timeout=5).read().decode())'"
    )
    assert fetch.rc == 0, fetch.stderr
    for name, inst in data["instances"].items():
        code = {"BACKUP": 1, "MASTER": 2}[inst["state"]]
        assert f'havip_vrrp_state{{instance="{name}",state="{inst["state"]}"}} {code}' in fetch.stdout
        assert re.search(rf'^havip_vrrp_adverts_(sent|received)_total{{instance="{name}"}} [1-9]', fetch.stdout, re.M)
    assert "# TYPE havip_vrrp_transitions_total counter" in fetch.stdout
    # Only on the node itself (vrrp_agent_metrics_address 127.0.0.1).
    listen = host.run("ss -Htln 'sport = :9720'").stdout
    assert "127.0.0.1:9720" in listen and "0.0.0.0:9720" not in listen


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


# --- keepalived_firewall: VRRP through the host firewall ------------------------------------------

def peers_of(host):
    me = host.backend.get_hostname()
    return sorted(own_ip(testinfra.get_host(f"ansible://{n}?ansible_inventory={INVENTORY}")) for n in NODES if n != me)


def lab_firewall(host):
    """The host firewall the scenario installed (molecule/shared/host_firewall.yml), or None."""
    kind = node_vars(host.backend.host).get("havip_lab_firewall")
    if not kind or node_vars(host.backend.host).get("keepalived_firewall", "none") == "none":
        pytest.skip("this scenario runs without a host firewall")
    return kind


def test_host_firewall_lets_vrrp_in_from_the_peers_only(host):
    """The role's rule comes first in the host's own input chain, names the peer(s) and protocol 112
    only, and is in the configuration loaded at boot; there is no other rule of the role."""
    kind = lab_firewall(host)
    peers = peers_of(host)
    if kind == "nftables":
        comment = "havip-vrrp " + ",".join(peers)
        chain = host.run("nft list chain inet filter input")
        assert chain.rc == 0, chain.stderr
        rules = [line.strip() for line in chain.stdout.splitlines()
                 if line.strip() and not line.strip().startswith(("table", "chain", "type", "}"))]
        saddr = peers[0] if len(peers) == 1 else "{ " + ", ".join(peers) + " }"
        assert rules[0] == f'ip saddr {saddr} ip protocol vrrp accept comment "{comment}"', rules
        assert sum("havip-vrrp" in r for r in rules) == 1, rules
        assert "policy drop" in chain.stdout
        include = host.file("/etc/nftables.d/havip-vrrp.nft").content_string
        wanted = f'insert rule inet filter input ip saddr {{ {", ".join(peers)} }} ip protocol 112 accept'
        assert f'{wanted} comment "{comment}"' in include, include
        conf = host.file("/etc/nftables.conf").content_string.splitlines()
        assert conf[-1] == 'include "/etc/nftables.d/havip-vrrp.nft"', conf[-3:]
        assert host.run("nft -c -f /etc/nftables.conf").rc == 0
    elif kind == "iptables":
        lines = host.run("iptables -S INPUT").stdout.splitlines()
        assert lines[0] == "-P INPUT DROP", lines
        ours = [line for line in lines if "havip-vrrp" in line]
        assert lines[1:1 + len(peers)] == ours, lines
        assert sorted(ours) == sorted(f"-A INPUT -s {p}/32 -p vrrp -m comment --comment havip-vrrp -j ACCEPT"
                                      for p in peers)
        saved = host.file("/etc/iptables/rules.v4").content_string.splitlines()
        assert [line for line in saved if "havip-vrrp" in line] == ours
    else:
        pytest.fail(f"unknown havip_lab_firewall {kind}")
