"""roles/_vrrp/tasks/start.yml against a stand-in systemctl (tests/unit/standins/systemctl.py): one VRRP
daemon per node (R5). A node moving between Keepalived and the agent stops and disables the other
daemon; a unit systemd does not know is left alone; a rerun that finds everything in place asks
systemd nothing but the one `show`.

This is the check that would have caught the block split that never split (a '\\n' in a Jinja
literal inside a YAML block scalar is not a newline), which left Keepalived enabled beside the agent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from playbook_runner import ansible_playbook

HERE = Path(__file__).parent
STANDINS = HERE / "standins"

KEEPALIVED_RUNNING = {"load": "loaded", "active": "active", "enabled": "enabled"}
STOPPED = {"load": "loaded", "active": "inactive", "enabled": "disabled"}


def start(tmp_path: Path, units: dict, unit: str, others: list[str], **extra) -> tuple[dict, list[str]]:
    state, log, bin_dir = tmp_path / "units.json", tmp_path / "calls.log", tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    systemctl = bin_dir / "systemctl"  # run by this interpreter, whatever python3 is on PATH
    systemctl.write_text(f"#!{sys.executable}\n" + (STANDINS / "systemctl.py").read_text())
    systemctl.chmod(0o755)
    state.write_text(json.dumps(units))
    log.write_text("")
    variables = {"_vrrp_unit": unit, "_vrrp_other_units": others, "ansible_python_interpreter": sys.executable,
                 **extra}
    proc = ansible_playbook(HERE / "playbooks" / "vrrp_start.yml", "-i", "localhost,", "-c", "local",
                            extra_vars=variables, path_prefix=bin_dir,
                            env={"STANDIN_UNITS": str(state), "STANDIN_LOG": str(log)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(state.read_text()), log.read_text().splitlines()


def test_moving_to_the_agent_stops_and_disables_keepalived(tmp_path):
    units, calls = start(tmp_path, {"keepalived": KEEPALIVED_RUNNING, "havip-vrrp-agent": STOPPED},
                         "havip-vrrp-agent", ["keepalived"])
    assert units == {"keepalived": STOPPED, "havip-vrrp-agent": KEEPALIVED_RUNNING}
    assert "stop keepalived" in calls and "disable keepalived" in calls, calls


def test_moving_back_to_keepalived_stops_and_disables_the_agent(tmp_path):
    units, _calls = start(tmp_path, {"keepalived": STOPPED, "havip-vrrp-agent": KEEPALIVED_RUNNING},
                          "keepalived", ["havip-vrrp-agent"])
    assert units == {"keepalived": KEEPALIVED_RUNNING, "havip-vrrp-agent": STOPPED}


def test_an_other_unit_systemd_does_not_know_is_left_alone(tmp_path):
    units, calls = start(tmp_path, {"havip-vrrp-agent": STOPPED}, "havip-vrrp-agent", ["keepalived"])
    assert units == {"havip-vrrp-agent": KEEPALIVED_RUNNING}
    assert not [c for c in calls if c.endswith("keepalived") and not c.startswith("show")], calls


def test_a_rerun_with_everything_in_place_only_asks(tmp_path):
    units, calls = start(tmp_path, {"keepalived": STOPPED, "havip-vrrp-agent": KEEPALIVED_RUNNING},
                         "havip-vrrp-agent", ["keepalived"])
    assert calls == [next(c for c in calls if c.startswith("show --property="))]  # the one show, no more
    # ... but an active unit that is not enabled is still enabled.
    units, calls = start(tmp_path, {"havip-vrrp-agent": {**KEEPALIVED_RUNNING, "enabled": "disabled"}},
                         "havip-vrrp-agent", ["keepalived"])
    assert units["havip-vrrp-agent"] == KEEPALIVED_RUNNING and "enable havip-vrrp-agent" in calls


def test_a_restart_due_reloads_systemd_and_starts_even_when_active(tmp_path):
    _units, calls = start(tmp_path, {"havip-vrrp-agent": KEEPALIVED_RUNNING}, "havip-vrrp-agent", [],
                          _vrrp_unit_daemon_reload=True)
    assert "daemon-reload" in calls


def test_an_other_daemon_that_failed_but_is_enabled_is_still_disabled(tmp_path):
    units, _calls = start(tmp_path, {"keepalived": {"load": "loaded", "active": "failed", "enabled": "enabled"},
                                     "havip-vrrp-agent": STOPPED}, "havip-vrrp-agent", ["keepalived"])
    assert units["keepalived"]["enabled"] == "disabled"
