"""The failover drill checks every variable on the controller before anything runs on a node (R8).

Runs the drill's first play (playbooks/drill/check_vars.yml) for real with ansible-playbook: good
variables pass; each bad one stops the drill with a message that names the variable, the value and
the rule, all problems in one failure.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "playbooks" / "drill" / "check_vars.yml"

INVENTORY = {
    "all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {
            "cluster": {
                "hosts": {"node1": {}, "node2": {}},
                "vars": {
                    "keepalived_check_port": 80,
                    "keepalived_instances": [
                        {"name": "VI_1", "virtual_router_id": 51, "virtual_ipaddresses": ["172.16.16.12/24 dev eth0"]},
                    ],
                },
            },
            "three": {"hosts": {"node1": {}, "node2": {}, "node3": {}}},
            "probes": {"hosts": {"probe": {}}},
        },
    },
}


def check(tmp_path: Path, pwd: str | None = None, **extra) -> subprocess.CompletedProcess:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    env["PWD"] = str(tmp_path) if pwd is None else pwd
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(CHECK),
           "-e", json.dumps(extra)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)


def assert_says(result: subprocess.CompletedProcess, *expected: str) -> None:
    """The run failed and its output names each expected problem (whitespace folded)."""
    assert result.returncode != 0, result.stdout
    out = " ".join(result.stdout.split())
    for text in expected:
        assert text in out, (text, out)


def test_good_variables_pass_and_the_port_defaults_to_the_health_check(tmp_path):
    result = check(tmp_path, drill_vip="172.16.16.12", drill_probe_host="probe")
    assert result.returncode == 0, result.stdout
    result = check(tmp_path, drill_vip="172.16.16.12", drill_probe_host="probe", drill_probe_method="icmp",
                   drill_kind="health", drill_health_service="haproxy.service", drill_margin_s=0.5,
                   drill_report_dir=str(tmp_path / "reports"))
    assert result.returncode == 0, result.stdout


def test_every_bad_value_is_named_with_its_rule_in_one_failure(tmp_path):
    result = check(tmp_path, drill_vip="300.1.1.1", drill_probe_host="node1", drill_probe_method="udp",
                   drill_kind="pause", drill_margin_s="-1",
                   drill_report_dir="reports", drill_probe_path="tmp/probe", drill_daemon_service="keep alived")
    assert_says(
        result,
        "drill_vip=300.1.1.1: must be an IPv4 address",
        "drill_probe_host=node1: is a node of cluster",
        "drill_probe_method=udp: must be tcp (a TCP port of the VIP) or icmp",
        "drill_kind=pause: must be one of stop, health, kill, reboot, link",
        "drill_margin_s=-1: must be a number of seconds >= 0",
        "drill_report_dir=reports: must be an absolute path",
        "drill_probe_path=tmp/probe: must be an absolute path",
        "drill_daemon_service (or vrrp_agent_service)=['keep alived']: must be a systemd unit name",
        "(R8).",
    )


def test_missing_required_variables_say_what_to_give(tmp_path):
    inventory_port = INVENTORY["all"]["children"]["cluster"]["vars"]
    inventory_port["keepalived_check_port"] = 0
    try:
        result = check(tmp_path, pwd="")
    finally:
        inventory_port["keepalived_check_port"] = 80
    assert_says(
        result,
        "drill_vip is required",
        "drill_probe_host is required: an inventory host with python3 inside the cluster's subnet",
        "drill_probe_port=0: drill_probe_method=tcp needs a TCP port 1-65535",
        "or set drill_probe_method=icmp",
        "drill_report_dir is not set and PWD is empty",
    )


def test_cluster_vip_kind_and_report_place_rules(tmp_path):
    result = check(tmp_path, drill_cluster_group="three", drill_vip="172.16.16.13", drill_probe_host="nobody",
                   drill_kind="kill")
    assert_says(result, "drill_cluster_group=three: the group has 3 host(s)",
                "drill_probe_host=nobody: not a host of the inventory", "drill_kind=kill: lab only")

    result = check(tmp_path, drill_vip="172.16.16.13", drill_probe_host="probe", drill_kind="health",
                   drill_report_dir="/home/u/.ansible/collections/ansible_collections/havip/tencentcloud/x")
    assert_says(result, "drill_health_service=: drill_kind=health needs the systemd unit the health check watches",
                "inside an Ansible collections tree")


def test_the_vip_and_the_drill_kind_are_checked_against_the_clusters_plan(tmp_path):
    result = check(tmp_path, drill_vip="172.16.16.13", drill_probe_host="probe", drill_interface="eth0; reboot")
    assert_says(result,
                "drill_vip=172.16.16.13: not one of the cluster's VIPs ['172.16.16.12'] (keepalived_instances, R3)",
                "drill_interface=eth0; reboot: must be a network interface name")
    result = check(tmp_path, drill_vip="172.16.16.12", drill_probe_host="probe", drill_kind="health",
                   drill_health_service="web",
                   keepalived_instances=[{"name": "VI_1", "virtual_router_id": 51, "track_scripts": [],
                                          "virtual_ipaddresses": ["172.16.16.12"]}])
    assert_says(result, "drill_kind=health: instance VI_1 of 172.16.16.12 tracks no health check script")
    # Issue 12: a tracked process is a health check too; the drill accepts an instance with only one.
    result = check(tmp_path, drill_vip="172.16.16.12", drill_probe_host="probe", drill_kind="health",
                   drill_health_service="web", keepalived_track_processes=[{"name": "web", "process": "nginx"}],
                   keepalived_instances=[{"name": "VI_1", "virtual_router_id": 51, "track_scripts": [],
                                          "track_processes": ["web"], "virtual_ipaddresses": ["172.16.16.12"]}])
    assert result.returncode == 0, result.stdout

    result = check(tmp_path, drill_cluster_group="nogroup", drill_vip="172.16.16.12", drill_probe_host="probe")
    assert_says(result, "drill_cluster_group=nogroup: must name an inventory group")
