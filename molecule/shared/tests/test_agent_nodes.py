"""The collection's Python VRRP agent (roles/vrrp_agent), on the nodes that run it."""
import re

import pytest
from vrrp_inventory import AGENT_CLI, AGENT_SERVICE, CONFIG, agent_status, all_vips, nodes_running, own_vips

testinfra_hosts = nodes_running("agent")


def test_agent_unit_runs_the_shipped_package(host):
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
    # Compiled on the node by its own Python (checked-hash), and loaded from there: an agent that compiles
    # its modules at start keeps the compiler's memory (issue 13's RSS).
    cache = host.run("find /usr/local/lib/havip-vrrp/havip_vrrp/__pycache__ -name '*.pyc' -printf '%u %m %f\\n'")
    tag = host.check_output("/usr/bin/python3 -c 'import sys; print(sys.implementation.cache_tag)'")
    expected = sorted(f"root 644 {m.rsplit(' ', 1)[1][:-3]}.{tag}.pyc" for m in modules)
    assert sorted(line for line in cache.stdout.split("\n") if line) == expected, cache.stdout
    imports = ",".join(f"havip_vrrp.{m.rsplit(' ', 1)[1][:-3]}" for m in modules if not m.endswith(" __init__.py"))
    loaded = host.run("PYTHONPATH=/usr/local/lib/havip-vrrp PYTHONDONTWRITEBYTECODE=1"
                      f" /usr/bin/python3 -S -v -c 'import {imports}'")
    assert loaded.rc == 0, loaded.stderr
    sources = re.findall(r"^# code object from '?(/usr/local/lib/havip-vrrp/[^'\n]+)'?$", loaded.stderr, re.MULTILINE)
    assert len(sources) == len(modules) and all("/__pycache__/" in s for s in sources), sources


def test_agent_unit_is_hardened(host):
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


@pytest.mark.parametrize("vip", all_vips())
def test_agent_status_command_and_scripts_under_the_sandbox(host, vip):
    """`havip-vrrp status` agrees with who holds the VIP; the health check ran (exit 0) and the
    notify script wrote the R7 state file - both under the hardened unit."""
    holds = vip in host.interface("eth0").addresses
    if vip not in own_vips(host.backend.get_hostname()):
        assert not holds, f"{vip} belongs to another cluster"
        return
    data = agent_status(host)
    inst = next(i for i in data["instances"].values() if vip in i["vips"])
    assert inst["state"] == ("MASTER" if holds else "BACKUP")
    assert inst["master_ip"]
    assert all(t["ok"] and t["last_result"] == "exit 0" for t in data["tracks"].values()), data["tracks"]
    assert host.file("/var/keepalived/state").content_string.strip() == inst["state"]
    text = host.run(f"{AGENT_CLI} status").stdout
    assert f"instance {next(n for n, i in data['instances'].items() if i is inst)}: {inst['state']}" in text
    assert "current master: " in text


def test_agent_metrics_endpoint(host):
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
