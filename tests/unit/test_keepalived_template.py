"""The keepalived role's templates, rendered by Ansible with the guide's example (R3, R4, R7).

Runs the role's own preflight and templates through ansible-playbook on localhost, then checks
every R3 directive of the guide with the guide's value, runs the real `keepalived -t` on the
result, and runs the rendered notify_action.sh.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.playbook_runner import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = Path(__file__).parent / "playbooks"
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"


def run_playbook(render_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return ansible_playbook(
        "-i",
        Path(__file__).parent / "inventory" / "guide.yml",
        PLAYBOOKS / "render_keepalived.yml",
        "-e",
        f"render_dir={render_dir}",
        "-e",
        "keepalived_config_dir={{ render_dir }}/{{ inventory_hostname }}",
        *extra,
    )


def fresh_render_dir(name: str) -> Path:
    """An empty directory under build/test-render (see rendered()), one per xdist worker."""
    render_dir = ROOT / "build" / "test-render" / f"{name}-{os.getpid()}"
    shutil.rmtree(render_dir, ignore_errors=True)
    render_dir.mkdir(parents=True)
    return render_dir


@pytest.fixture(scope="module")
def rendered() -> Path:
    # Keepalived's script security refuses scripts under a world-writable directory such as /tmp:
    # render inside the checkout's build/ (root-owned, not group/other-writable).
    base = ROOT / "build" / "test-render"
    base.mkdir(parents=True, exist_ok=True)
    render_dir = base / f"guide-{os.getpid()}"  # one per xdist worker
    shutil.rmtree(render_dir, ignore_errors=True)
    render_dir.mkdir()
    proc = run_playbook(render_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return render_dir


def block(text: str, header: str) -> str:
    """The body of a top-level `header {` block, up to its closing brace at column 0."""
    match = re.search(rf"^{re.escape(header)} \{{\n(.*?)^\}}$", text, re.M | re.S)
    assert match, f"no block {header!r} in:\n{text}"
    return match.group(1)


def check_with_both_daemons(conf: Path) -> None:
    """The real `keepalived -t` and the agent's --check-config both accept ``conf``."""
    checked = subprocess.run([KEEPALIVED, "-t", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    agent = subprocess.run([sys.executable, "-m", "havip_vrrp", "--check-config", "-f", str(conf)],
                           capture_output=True, text=True, check=False,
                           env=dict(os.environ, PYTHONPATH=str(ROOT / "roles" / "vrrp_agent" / "files")))
    assert agent.returncode == 0, agent.stdout + agent.stderr


def directives(body: str) -> list[list[str]]:
    return [line.split() for line in body.splitlines() if line.strip()]


def test_global_defs_carry_the_guides_values(rendered):
    conf = (rendered / "HAVIP-01" / "keepalived.conf").read_text()
    body = block(conf, "global_defs")
    for email in ("acassen@firewall.loc", "failover@firewall.loc", "sysadmin@firewall.loc"):
        assert re.search(rf"notification_email \{{[^}}]*\n\s+{re.escape(email)}\n", body)
    lines = directives(body)
    assert ["notification_email_from", "Alexandre.Cassen@firewall.loc"] in lines
    assert ["smtp_server", "192.168.200.1"] in lines
    assert ["smtp_connect_timeout", "30"] in lines
    assert ["router_id", "LVS_DEVEL"] in lines
    assert ["vrrp_skip_check_adv_addr"] in lines
    # The guide's 0 intervals are rejected by Keepalived 2.2.7: never written as 0.
    assert not any(line[0] in ("vrrp_garp_interval", "vrrp_gna_interval") for line in lines)
    # Script security is what lets the notify and track scripts pass `keepalived -t`.
    assert ["enable_script_security"] in lines
    assert ["script_user", "root"] in lines
    # One VIP: no vrrp_garp_master_repeat (R4f applies with several), never vrrp_strict (R4e).
    assert not any(line[0] in ("vrrp_garp_master_repeat", "vrrp_strict") for line in lines)


def test_vrrp_script_checkhaproxy(rendered):
    conf = (rendered / "HAVIP-01" / "keepalived.conf").read_text()
    lines = directives(block(conf, "vrrp_script checkhaproxy"))
    assert ["script", f'"{rendered}/HAVIP-01/check_service.sh"'] in lines
    assert ["interval", "5"] in lines


@pytest.mark.parametrize(("host", "src", "peer"), [("HAVIP-01", "172.16.16.5", "172.16.16.6"),
                                                   ("HAVIP-02", "172.16.16.6", "172.16.16.5")])
def test_vrrp_instance_is_the_guides_except_addresses(rendered, host, src, peer):
    conf = (rendered / host / "keepalived.conf").read_text()
    body = block(conf, "vrrp_instance VI_1")
    lines = directives(body)
    for expected in (
        ["state", "BACKUP"],
        ["interface", "eth0"],
        ["virtual_router_id", "51"],
        ["nopreempt"],
        ["priority", "100"],
        ["advert_int", "5"],
        ["auth_type", "PASS"],
        ["auth_pass", "1111"],
        ["unicast_src_ip", src],
        ["garp_master_delay", "1"],
        ["garp_master_refresh", "5"],
    ):
        assert expected in lines, expected
    assert re.search(rf"unicast_peer \{{\n\s+{re.escape(peer)}\n\s+\}}", body)
    assert re.search(r"virtual_ipaddress \{\n\s+172\.16\.16\.12\n\s+\}", body)
    for state in ("MASTER", "BACKUP", "FAULT", "STOP"):
        assert [f"notify_{state.lower()}", f'"{rendered}/{host}/notify_action.sh', f'{state}"'] in lines
    assert re.search(r"track_script \{\n\s+checkhaproxy\n\s+\}", body)
    # The guide's `track_interface { eth0 }` names the own interface, which Keepalived rejects.
    assert "track_interface" not in body
    # preempt_delay is commented out in the guide (it needs state MASTER).
    assert "preempt_delay" not in body


def test_keepalived_accepts_the_rendered_config(rendered):
    conf = rendered / "HAVIP-01" / "keepalived.conf"
    proc = subprocess.run([KEEPALIVED, "-t", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_notify_action_writes_state_log_and_resets_the_counter(rendered, tmp_path):
    script = (rendered / "HAVIP-01" / "notify_action.sh").read_text()
    state_dir, log = tmp_path / "state", tmp_path / "keepalived.log"
    script = script.replace("log_file=/var/log/keepalived.log", f"log_file={log}")
    script = script.replace("state_dir=/var/keepalived", f"state_dir={state_dir}")
    copy = tmp_path / "notify_action.sh"
    copy.write_text(script)
    (state_dir / "vip_check_failed_count").parent.mkdir()
    (state_dir / "vip_check_failed_count").write_text("7")
    for arg in ("BACKUP", "MASTER", "BOGUS"):
        subprocess.run(["bash", str(copy), arg], check=True)
    assert (state_dir / "state").read_text() == "MASTER"
    # The guide's bug: `echo -n "0" FILE` without `>` never reset the counter (R7).
    assert (state_dir / "vip_check_failed_count").read_text() == "0"
    entries = log.read_text().splitlines()
    assert len(entries) == 3
    assert re.fullmatch(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]  notify_backup", entries[0])
    assert entries[1].endswith(" notify_master")
    assert entries[2].endswith("notify_action.sh: STATE ERROR!!!")


def test_several_vips_get_garp_master_repeat():
    render_dir = fresh_render_dir("multi")
    instances = ('[{"name": "VI_1", "virtual_router_id": 51, "auth_pass": "1111", '
                 '"virtual_ipaddresses": ["172.16.16.12", "172.16.16.13"]}]')
    proc = run_playbook(render_dir, "-e", f'{{"keepalived_instances": {instances}}}')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    conf = (render_dir / "HAVIP-01" / "keepalived.conf").read_text()
    assert ["vrrp_garp_master_repeat", "1"] in directives(block(conf, "global_defs"))


def test_vrrpv3_renders_version_and_no_authentication():
    """keepalived_vrrp_version 3 (sub-second advert_int): vrrp_version in global_defs, no
    authentication block (RFC 5798), accepted by the real `keepalived -t` and by the agent."""
    render_dir = fresh_render_dir("v3")
    instances = ('[{"name": "VI_1", "virtual_router_id": 51, "advert_int": 0.1, '
                 '"virtual_ipaddresses": ["172.16.16.12"]}]')
    proc = run_playbook(render_dir, "-e", f'{{"keepalived_vrrp_version": 3, "keepalived_instances": {instances}}}')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    conf = render_dir / "HAVIP-01" / "keepalived.conf"
    text = conf.read_text()
    assert ["vrrp_version", "3"] in directives(block(text, "global_defs"))
    body = block(text, "vrrp_instance VI_1")
    assert ["advert_int", "0.1"] in directives(body)
    assert "authentication" not in body and "auth_pass" not in body
    check_with_both_daemons(conf)


def test_vrrpv3_with_auth_pass_changes_nothing():
    """An auth_pass under VRRPv3 fails preflight, with the rule, before anything is written."""
    render_dir = fresh_render_dir("v3bad")
    instances = ('[{"name": "VI_1", "virtual_router_id": 51, "advert_int": 0.1, "auth_pass": "s3cr3tpw", '
                 '"virtual_ipaddresses": ["172.16.16.12"]}]')
    proc = run_playbook(render_dir, "-e", f'{{"keepalived_vrrp_version": 3, "keepalived_instances": {instances}}}')
    assert proc.returncode != 0
    assert "auth_pass: VRRPv3 has no authentication (RFC 5798)" in proc.stdout
    assert "s3cr3tpw" not in proc.stdout + proc.stderr
    assert not any(render_dir.rglob("keepalived.conf"))
