"""Issue 12: the Keepalived options beyond the guide's example, and unknown keys (R3).

Unknown keys are refused by name, by the keepalived role's argument spec (suboptions; entry points
main and variables, which the vrrp_agent role runs) and by the vrrp_unknown_keys filter in the
shared preflight (for a run without the spec); nothing is written when one is refused.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_keepalived_template import (
    KEEPALIVED,
    block,
    check_with_both_daemons,
    directives,
    fresh_render_dir,
    run_playbook,
)

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
SECRET = "Sx7kq9Pz"

_spec = importlib.util.spec_from_file_location("vrrp_options", ROOT / "plugins" / "filter" / "vrrp_options.py")
options = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(options)

INSTANCE = {"name": "VI_1", "interface": "lo", "virtual_router_id": 51, "auth_pass": SECRET,
            "unicast_peers": ["127.0.0.2"], "virtual_ipaddresses": ["127.0.0.12"]}


def ansible(playbook: str, *args: str, extra: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    cmd = [PLAYBOOK, "-i", str(HERE / "inventory" / "localhost.yml"), str(HERE / "playbooks" / playbook), *args,
           "-e", json.dumps(extra)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


def flat(text: str) -> str:
    return " ".join(text.split())


# --- the filter --------------------------------------------------------------------------------


def test_known_keys_pass():
    assert options.vrrp_unknown_keys([INSTANCE], {"state": "BACKUP", "notify": True},
                                     [{"name": "chk", "script": "/bin/true", "interval": 1}]) == []


@pytest.mark.parametrize(
    ("instances", "defaults", "scripts", "wanted"),
    [
        ([{**INSTANCE, "virtual_ipaddress_excluded": ["10.0.0.9"]}], {}, [],
         "keepalived_instances[VI_1]: unknown key 'virtual_ipaddress_excluded'; did you mean 'virtual_ipaddresses'?"),
        ([{**INSTANCE, "priorty": 90}], {}, [],
         "keepalived_instances[VI_1]: unknown key 'priorty'; did you mean 'priority'?"),
        ([{"virtual_router_id": 7, "smtp_alert": True}], {}, [], "keepalived_instances[#0]: unknown key 'smtp_alert'"),
        ([INSTANCE], {"name": "X"}, [], "keepalived_instance_defaults: unknown key 'name'"),
        ([INSTANCE], {"lvs_sync_daemon_interface": "eth0"}, [],
         "keepalived_instance_defaults: unknown key 'lvs_sync_daemon_interface'"),
        ([INSTANCE], {}, [{"name": "chk", "script": "/bin/true", "interval": 1, "user": "nobody"}],
         "keepalived_vrrp_scripts[chk]: unknown key 'user'"),
    ],
)
def test_unknown_keys_are_named(instances, defaults, scripts, wanted):
    found = options.vrrp_unknown_keys(instances, defaults, scripts)
    assert len(found) == 1 and found[0].startswith(wanted), found
    assert "(R3)" in found[0] and SECRET not in found[0]


def test_every_documented_instance_key_is_known_and_nothing_else():
    """The argument spec's suboptions and the filter's lists are the same keys."""
    import yaml  # noqa: PLC0415
    from ansible.parsing.yaml.loader import AnsibleLoader  # noqa: PLC0415

    path = ROOT / "roles" / "keepalived" / "meta" / "argument_specs.yml"
    with path.open() as handle:
        spec = yaml.load(handle, Loader=AnsibleLoader)["argument_specs"]["main"]["options"]
    assert set(spec["keepalived_instances"]["options"]) == options.INSTANCE_KEYS
    assert set(spec["keepalived_instance_defaults"]["options"]) == options.INSTANCE_KEYS - {"name"}
    assert set(spec["keepalived_vrrp_scripts"]["options"]) == options.SCRIPT_KEYS
    assert spec["keepalived_instances"]["options"]["auth_pass"]["no_log"] is True


# --- the roles ---------------------------------------------------------------------------------


def test_the_argument_spec_refuses_an_unknown_key_by_name(tmp_path):
    proc = ansible("keepalived_role.yml", "--tags", "keepalived_preflight", "-vvv",
                   extra={"keepalived_config_dir": str(tmp_path / "etc"),
                          "keepalived_instances": [{**INSTANCE, "smtp_alert": True,
                                                    "virtual_ipaddress_excluded": ["127.0.0.13"]}]})
    text = flat(proc.stdout)
    assert proc.returncode != 0
    wanted = ("Validation of arguments failed: keepalived_instances.smtp_alert, "
              "keepalived_instances.virtual_ipaddress_excluded. Supported parameters include: advert_int, auth_pass,")
    assert wanted in text, text
    assert SECRET not in proc.stdout + proc.stderr
    assert not (tmp_path / "etc").exists()


def test_the_agent_path_refuses_an_unknown_key_by_name(tmp_path):
    # render_keepalived.yml runs the keepalived role's `variables` entry point, then the shared
    # preflight, as the vrrp_agent role does; the filter (tested above) backs the spec up.
    proc = ansible("render_keepalived.yml", "-vvv",
                   extra={"keepalived_config_dir": str(tmp_path / "etc"), "render_dir": str(tmp_path / "render"),
                          "keepalived_instances": [{**INSTANCE, "virtual_ipaddress_excluded": ["127.0.0.13"]}]})
    text = flat(proc.stdout)
    assert proc.returncode != 0
    assert "arg spec 'variables'" in text, text
    assert ("Validation of arguments failed: keepalived_instances.virtual_ipaddress_excluded. Supported parameters "
            "include:") in text, text
    assert SECRET not in proc.stdout + proc.stderr
    assert not (tmp_path / "render").exists()


# --- the default health check on a bare node (issue 12: no haproxy, both nodes in FAULT) ----------


def health_preflight(tmp_path: Path, **extra) -> subprocess.CompletedProcess:
    """preflight.yml (as both roles run it) on the controller with the health check's node look-up on."""
    extra = {"keepalived_config_dir": str(tmp_path / "etc"), "render_dir": str(tmp_path / "render"),
             "keepalived_check_preflight": True, **extra}
    proc = ansible("render_keepalived.yml", extra=extra)
    assert (tmp_path / "render").exists() == (proc.returncode == 0), proc.stdout
    return proc


def test_a_node_without_the_checked_process_stops_in_preflight(tmp_path):
    proc = health_preflight(tmp_path, keepalived_check_process="haproxy-not-here")
    text = flat(proc.stdout)
    assert proc.returncode != 0
    assert ("node: keepalived_check_process=haproxy-not-here: no running process and no program of that name on "
            "this node; the default health check") in text, text
    assert "keepalived_check_port=" not in text
    for choice in ("keepalived_check_process - the service", "keepalived_check_port - its TCP port",
                   "keepalived_check_script_install - false", "no health check - keepalived_vrrp_scripts []",
                   "keepalived_check_preflight - false"):
        assert choice in text, text


def test_a_port_nothing_listens_on_stops_in_preflight_and_a_listening_one_passes(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        ok = health_preflight(tmp_path / "ok", keepalived_check_process="", keepalived_check_port=port)
    assert ok.returncode == 0, ok.stdout
    closed = health_preflight(tmp_path / "closed", keepalived_check_process="", keepalived_check_port=port)
    text = flat(closed.stdout)
    assert closed.returncode != 0
    assert (f"keepalived_check_port={port}: nothing accepts TCP connections on 127.0.0.1:{port}; the default "
            "health check") in text, text


@pytest.mark.parametrize(
    "extra",
    [
        {"keepalived_check_process": "sh"},  # a program of that name exists (not running is fine)
        {"keepalived_check_process": "haproxy-not-here", "keepalived_check_preflight": False},
        # No instance tracks the default script: nothing to look for.
        {"keepalived_check_process": "haproxy-not-here",
         "keepalived_instance_defaults": {"interface": "lo", "state": "BACKUP", "nopreempt": True, "priority": 100,
                                          "advert_int": 1, "garp_master_delay": 1, "garp_master_refresh": 5,
                                          "track_scripts": [], "notify": True}},
    ],
)
def test_health_check_preflight_passes(tmp_path, extra):
    proc = health_preflight(tmp_path, **extra)
    assert proc.returncode == 0, proc.stdout


# --- track_process (vrrp_track_process) -------------------------------------------------------

TRACKS = [{"name": "haproxy", "process": "haproxy", "weight": 0, "quorum": 1, "delay": 0.5},
          {"name": "workers", "process": "/usr/sbin/nginx -g daemon", "full_command": True, "weight": -20,
           "quorum": 2, "quorum_max": 8}]


def test_track_process_is_rendered_and_accepted_by_both_daemons():
    render_dir = fresh_render_dir("track-process")
    instances = [{"name": "VI_1", "virtual_router_id": 51, "auth_pass": "1111", "virtual_ipaddresses": ["172.16.16.12"],
                  "track_processes": ["haproxy", "workers"]}]
    proc = run_playbook(render_dir, "-e", json.dumps({"keepalived_instances": instances,
                                                      "keepalived_track_processes": TRACKS}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    conf = render_dir / "HAVIP-01" / "keepalived.conf"
    text = conf.read_text()
    assert directives(block(text, "vrrp_track_process haproxy")) == [
        ["process", "haproxy"], ["weight", "0"], ["quorum", "1"], ["delay", "0.5"]]
    assert directives(block(text, "vrrp_track_process workers")) == [
        ["process", "/usr/sbin/nginx", "-g", "daemon"], ["weight", "-20"], ["quorum", "2"], ["quorum_max", "8"],
        ["full_command"]]
    body = block(text, "vrrp_instance VI_1")
    assert re.search(r"track_process \{\n\s+haproxy\n\s+workers\n\s+\}", body), body
    check_with_both_daemons(conf)


@pytest.mark.parametrize(
    ("tracks", "tracked", "wanted"),
    [
        ([{"name": "hp", "process": "haproxy-with-a-long-name"}], ["hp"],
         "keepalived_track_processes[hp].process='haproxy-with-a-long-name': 24 characters; the kernel keeps 15"),
        ([{"name": "hp", "process": "nginx -g x"}], ["hp"],
         "keepalived_track_processes[hp].process='nginx -g x': must be a process name"),
        ([{"name": "hp", "process": "bad\"name"}], ["hp"], "keepalived_track_processes[hp].process='bad\"name'"),
        ([{"name": "hp", "process": "haproxy", "weight": 300}], ["hp"],
         "keepalived_track_processes[hp].weight=300: must be an integer -253..253"),
        ([{"name": "hp", "process": "haproxy", "quorum": 3, "quorum_max": 2}], ["hp"],
         "keepalived_track_processes[hp].quorum_max=2: must be an integer from quorum (3)"),
        ([{"name": "hp", "process": "haproxy", "delay": -1}], ["hp"],
         "keepalived_track_processes[hp].delay=-1: must be 0-3600 seconds"),
        ([{"name": "hp", "process": "haproxy"}, {"name": "hp", "process": "nginx"}], ["hp"],
         "keepalived_track_processes: name 'hp' is defined twice"),
        ([], ["nginx"],
         "keepalived_instances[VI_1].track_processes: 'nginx' is not defined in keepalived_track_processes"),
    ],
)
def test_track_process_rules_are_named(tracks, tracked, wanted):
    found = options.vrrp_option_errors([{"name": "VI_1", "track_processes": tracked}], tracks)
    assert any(e.startswith(wanted) for e in found), found
    assert all("(R3)" in e for e in found)


# --- several instances, vrrp_sync_group, notify commands, track_interface, weights, dont_track_primary ----

TWO = [{"name": "VI_1", "virtual_router_id": 51, "auth_pass": "1111", "virtual_ipaddresses": ["172.16.16.12"],
        "notify_script": "/bin/true --from VI_1"},
       {"name": "VI_2", "virtual_router_id": 52, "auth_pass": "2222", "virtual_ipaddresses": ["172.16.16.13"],
        "notify": False, "notify_master": "/bin/true master", "notify_backup": "/bin/true backup",
        "notify_fault": "/bin/true fault", "notify_stop": "/bin/true stop", "dont_track_primary": True,
        "track_interfaces": ["lo"]}]
CHECK_WEIGHTED = [{"name": "checkhaproxy", "script": "/bin/true", "interval": 5, "weight": -20}]


def render(name: str, **variables) -> Path:
    render_dir = fresh_render_dir(name)
    proc = run_playbook(render_dir, "-e", json.dumps(variables))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return render_dir / "HAVIP-01" / "keepalived.conf"


def test_instances_notify_commands_track_interface_weights_and_dont_track_primary_for_both_daemons():
    conf = render("options", keepalived_instances=TWO, keepalived_vrrp_scripts=CHECK_WEIGHTED)
    text = conf.read_text()
    one, two = block(text, "vrrp_instance VI_1"), block(text, "vrrp_instance VI_2")
    assert ["notify", '"/bin/true', '--from', 'VI_1"'] in directives(one)
    assert ["notify_master", f'"{conf.parent}/notify_action.sh', 'MASTER"'] in directives(one)  # R7 stays
    for state in ("master", "backup", "fault", "stop"):
        assert [f"notify_{state}", '"/bin/true', f'{state}"'] in directives(two)
    assert "notify_action.sh" not in two
    assert ["dont_track_primary"] in directives(two) and ["dont_track_primary"] not in directives(one)
    assert re.search(r"track_interface \{\n\s+lo\n\s+\}", two)
    assert ["weight", "-20"] in directives(block(text, "vrrp_script checkhaproxy"))
    check_with_both_daemons(conf)


def test_a_sync_group_is_rendered_accepted_by_keepalived_and_refused_by_the_agent_by_name():
    groups = [{"name": "G1", "instances": ["VI_1", "VI_2"]}]
    conf = render("sync", keepalived_instances=TWO, keepalived_vrrp_sync_groups=groups)
    assert directives(block(conf.read_text(), "vrrp_sync_group G1")) == [["group", "{"], ["VI_1"], ["VI_2"], ["}"]]
    checked = subprocess.run([KEEPALIVED, "-t", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    agent = subprocess.run([sys.executable, "-m", "havip_vrrp", "--check-config", "-f", str(conf)],
                           capture_output=True, text=True, check=False,
                           env=dict(os.environ, PYTHONPATH=str(ROOT / "roles" / "vrrp_agent" / "files")))
    assert agent.returncode == 1
    assert "vrrp_sync_group is not supported by the agent: instances that change state together need Keepalived" \
        in agent.stderr, agent.stderr


@pytest.mark.parametrize(
    ("groups", "instances", "scripts", "wanted"),
    [
        ([{"name": "G1", "instances": ["VI_1"]}], TWO, [],
         "keepalived_vrrp_sync_groups[G1].instances=['VI_1']: a sync group needs at least two instances"),
        ([{"name": "G1", "instances": ["VI_1", "VI_9"]}], TWO, [],
         "keepalived_vrrp_sync_groups[G1].instances: 'VI_9' is not one of keepalived_instances"),
        ([{"name": "G1", "instances": ["VI_1", "VI_2"]}, {"name": "G2", "instances": ["VI_2", "VI_1"]}], TWO, [],
         "keepalived_vrrp_sync_groups[G2].instances: 'VI_2' is already in sync group 'G1'"),
        ([{"name": "G1", "instances": ["VI_1", "VI_2"]}], [{**TWO[0], "track_scripts": ["checkhaproxy"]}, TWO[1]],
         CHECK_WEIGHTED, "keepalived_vrrp_sync_groups[G1]: VI_1 tracks script 'checkhaproxy' with weight -20"),
        ([{"name": "bad name", "instances": ["VI_1", "VI_2"]}], TWO, [], "keepalived_vrrp_sync_groups[bad name].name"),
        ([], [{**TWO[0], "notify": True, "notify_master": "/bin/true"}], [],
         "keepalived_instances[VI_1].notify_master: notify: true already writes notify_master"),
        ([], [{**TWO[0], "notify": False, "notify_fault": "/bin/true\n}\nvrrp_strict"}], [],
         "keepalived_instances[VI_1].notify_fault='/bin/true\\n}\\nvrrp_strict': must be an absolute path"),
        ([], [{**TWO[0], "notify_script": "relative.sh"}], [],
         "keepalived_instances[VI_1].notify_script='relative.sh'"),
        ([], [{**TWO[0], "dont_track_primary": "yes"}], [], "keepalived_instances[VI_1].dont_track_primary='yes'"),
    ],
)
def test_sync_group_and_notify_rules_are_named(groups, instances, scripts, wanted):
    found = options.vrrp_option_errors(instances, [], groups, scripts)
    assert any(e.startswith(wanted) for e in found), found
    assert all("(R3" in e for e in found)


# --- track_file (Keepalived only) ----------------------------------------------------------------


def agent_check(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "havip_vrrp", "--check-config", "-f", str(conf)],
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "roles" / "vrrp_agent" / "files")))


def test_track_file_is_rendered_accepted_by_keepalived_and_refused_by_the_agent_by_name(tmp_path):
    files = [{"name": "maintenance", "file": str(ROOT / "build" / "test-render" / "maintenance"), "weight": 0,
              "init_value": 0}]
    instances = [{**TWO[0], "track_files": ["maintenance"]}]
    conf = render("track-file", keepalived_instances=instances, keepalived_track_files=files)
    text = conf.read_text()
    assert directives(block(text, "vrrp_track_file maintenance")) == [
        ["file", f'"{files[0]["file"]}"'], ["weight", "0"], ["init_file", "0"]]
    assert re.search(r"track_file \{\n\s+maintenance\n\s+\}", block(text, "vrrp_instance VI_1"))
    checked = subprocess.run([KEEPALIVED, "-t", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    agent = agent_check(conf)
    assert agent.returncode == 1
    assert "vrrp_track_file is not supported by the agent: use a vrrp_script that tests the file" in agent.stderr


@pytest.mark.parametrize(
    ("files", "tracked", "wanted"),
    [
        ([{"name": "m", "file": "relative"}], ["m"], "keepalived_track_files[m].file='relative': must be an absolute"),
        ([{"name": "m", "file": "/run/m", "weight": 999}], ["m"], "keepalived_track_files[m].weight=999"),
        ([{"name": "m", "file": "/run/m", "init_value": "zero"}], ["m"], "keepalived_track_files[m].init_value='zero'"),
        ([{"name": "m", "file": "/run/m"}, {"name": "m", "file": "/run/n"}], ["m"],
         "keepalived_track_files: name 'm' is defined twice"),
        ([], ["m"], "keepalived_instances[VI_1].track_files: 'm' is not defined in keepalived_track_files"),
    ],
)
def test_track_file_rules_are_named(files, tracked, wanted):
    found = options.vrrp_option_errors([{"name": "VI_1", "track_files": tracked}], [], [], [], files)
    assert any(e.startswith(wanted) for e in found), found


def test_unknown_keys_in_the_new_blocks_are_named():
    found = options.vrrp_unknown_keys([], None, None, track_processes=[{"name": "p", "process": "x", "reverse": True}],
                                      sync_groups=[{"name": "G", "instances": [], "smtp_alert": True}],
                                      track_files=[{"name": "f", "file": "/x", "init_file": 0}])
    assert [e.split(";")[0].split(" Known")[0] for e in found] == [
        "keepalived_track_files[f]: unknown key 'init_file'",
        "keepalived_vrrp_sync_groups[G]: unknown key 'smtp_alert'",
        "keepalived_track_processes[p]: unknown key 'reverse'"]
