"""keepalived_firewall and the SELinux labels of the scripts, on the controller.

- Preflight: a bad keepalived_firewall / keepalived_firewall_zone / keepalived_selinux_label_scripts
  stops the role with a message naming the variable, the value and the rule, through the argument
  spec (the keepalived role) and through preflight's own check (what the vrrp_agent role runs, which
  includes preflight.yml without the keepalived role's argument spec); a chosen firewall that does not
  answer stops it too; nothing is written.
- SELinux (tasks/selinux.yml): with RedHat facts and SELinux enabled, the scripts get a persistent
  fcontext rule (semanage fcontext --add --type keepalived_unconfined_script_exec_t) and restorecon;
  a second run changes nothing; with Debian facts, or SELinux disabled, or the switch off, nothing runs.
  The real semanage/restorecon are replaced by stand-ins that keep state like them. Kept as stand-ins
  on purpose: the el Molecule scenario's EL-like nodes run the RedHat family's dnf, rpm and file
  layout on a Debian userland, without SELinux (no selinux-policy, no keepalived_t domain, no
  semanage), so the labels are the one RedHat path no scenario here can reach. What the scenario
  does reach went from here: RedHat facts with SELinux disabled (ansible-core's libselinux binding
  reports `disabled` there) -> no label is attempted. The RHEL policy's type and its
  /usr/libexec/keepalived default are cited in roles/_vrrp/tasks/selinux.yml.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.unit.playbook_runner import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


def ansible(*args: str, extra: dict, path_prefix: Path | None = None) -> subprocess.CompletedProcess:
    return ansible_playbook("-i", HERE / "inventory" / "localhost.yml", *args, extra_vars=extra,
                            path_prefix=path_prefix)


# --- preflight ---------------------------------------------------------------------------------

needs_root_apt = pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/bin/apt-cache").exists(),
    reason="the role's install decision asks apt as root (CI runs as root on Debian)",
)


def role_checks(tmp_path: Path, path_prefix: Path | None = None, **extra) -> subprocess.CompletedProcess:
    """The keepalived role with --tags keepalived_preflight (argument spec, preflight, decision)."""
    extra.setdefault("keepalived_config_dir", str(tmp_path / "etc-keepalived"))
    proc = ansible(str(HERE / "playbooks" / "keepalived_role.yml"), "--tags", "keepalived_preflight",
                   extra=extra, path_prefix=path_prefix)
    assert not (tmp_path / "etc-keepalived").exists()
    return proc


def preflight_only(tmp_path: Path, **extra) -> subprocess.CompletedProcess:
    """The keepalived role's `variables` entry point and the shared preflight, as the vrrp_agent role
    runs them, followed by a render of the templates into render_dir when it passes."""
    extra.setdefault("keepalived_config_dir", str(tmp_path / "etc-keepalived"))
    extra.setdefault("render_dir", str(tmp_path / "render"))
    proc = ansible(str(HERE / "playbooks" / "render_keepalived.yml"), extra=extra)
    assert not (tmp_path / "etc-keepalived").exists()
    # A failed check stops the play before the render writes anything.
    assert (tmp_path / "render").exists() == (proc.returncode == 0)
    return proc


@needs_root_apt
def test_unknown_firewall_is_refused_by_the_argument_spec(tmp_path):
    proc = role_checks(tmp_path, keepalived_firewall="ufw")
    assert proc.returncode != 0
    assert ("value of keepalived_firewall must be one of: none, auto, firewalld, nftables, iptables, got: ufw"
            in proc.stdout), proc.stdout


@pytest.mark.parametrize(
    ("extra", "wanted"),
    [
        ({"keepalived_firewall": "ufw"},
         "value of keepalived_firewall must be one of: none, auto, firewalld, nftables, iptables, got: ufw"),
        ({"keepalived_firewall": True},
         "value of keepalived_firewall must be one of: none, auto, firewalld, nftables, iptables, got: True"),
        ({"keepalived_firewall": "firewalld", "keepalived_firewall_zone": "my zone"},
         "keepalived_firewall_zone=my zone: must be empty or a firewalld zone name"),
        ({"keepalived_selinux_label_scripts": "maybe"},
         "argument 'keepalived_selinux_label_scripts' is of type str and we were unable to convert to bool"),
    ],
)
def test_preflight_refuses_bad_firewall_and_selinux_variables(tmp_path, extra, wanted):
    proc = preflight_only(tmp_path, **extra)
    assert proc.returncode != 0
    assert wanted in " ".join(proc.stdout.split()), proc.stdout
    # Stopped at that check: the instances were not even resolved.
    assert "Resolve the VRRP instances" not in proc.stdout


def test_preflight_accepts_each_firewall_choice_without_touching_anything(tmp_path):
    # none: no service facts, no firewall command.
    proc = preflight_only(tmp_path, keepalived_firewall="none")
    assert proc.returncode == 0, proc.stdout
    assert re.search(r"TASK \[.*Read the chosen firewall's state\] \*+\nskipping", proc.stdout), proc.stdout


@needs_root_apt
def test_a_chosen_firewall_that_does_not_answer_stops_the_role(tmp_path):
    # firewall-cmd answers "not running" with rc 252 when firewalld is stopped; a stand-in does the same.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "firewall-cmd"
    fake.write_text("#!/bin/sh\necho 'not running'\nexit 252\n")
    fake.chmod(0o755)
    proc = role_checks(tmp_path, path_prefix=bin_dir, keepalived_firewall="firewalld")
    assert proc.returncode != 0
    text = " ".join(proc.stdout.split())
    wanted = ("keepalived_firewall=firewalld: firewalld does not answer on node"
              " (`firewall-cmd --state`: rc 252: not running")
    assert wanted in text, text
    assert "Decide between" not in proc.stdout and "installing" not in proc.stdout


# --- SELinux -----------------------------------------------------------------------------------

STANDINS = {
    # semanage fcontext --list --locallist / --add|--modify --type T SPEC, with a state file.
    "semanage": r'''#!/bin/sh
echo "semanage $*" >> "$STANDIN_LOG"
state="$STANDIN_DIR/fcontext"
touch "$state"
case "$2" in
  --list) echo "SELinux fcontext type Context"; echo; cat "$state";;
  --add|--modify) grep -v "^$5 " "$state" > "$state.new"; mv "$state.new" "$state"
                  echo "$5    all files    system_u:object_r:$4:s0" >> "$state";;
esac
''',
    # restorecon -v FILE: relabels (and says so) only while the file's label differs from the rule's.
    "restorecon": r'''#!/bin/sh
echo "restorecon $*" >> "$STANDIN_LOG"
file="$2"
spec=$(printf '%s' "$file" | sed 's/\./\\./g')
type=$(S="$spec" awk '$1 == ENVIRON["S"] {print $NF}' "$STANDIN_DIR/fcontext" 2>/dev/null | cut -d: -f3)
[ -n "$type" ] || exit 0
if ! grep -qx "$file $type" "$STANDIN_DIR/labels" 2>/dev/null; then
  echo "$file $type" >> "$STANDIN_DIR/labels"
  echo "Relabeled $file from unconfined_u:object_r:etc_t:s0 to unconfined_u:object_r:$type:s0"
fi
''',
    "selinuxenabled": '#!/bin/sh\necho "selinuxenabled $*" >> "$STANDIN_LOG"\nexit 0\n',
}


@pytest.fixture
def standins(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in STANDINS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    os.environ["STANDIN_LOG"] = str(tmp_path / "calls.log")
    os.environ["STANDIN_DIR"] = str(tmp_path)
    yield bin_dir
    del os.environ["STANDIN_LOG"], os.environ["STANDIN_DIR"]


def selinux_run(tmp_path, bin_dir, family, status, **extra):
    extra = {"test_os_family": family, "test_selinux_status": status,
             "keepalived_config_dir": "/etc/keepalived", **extra}
    proc = ansible(str(HERE / "playbooks" / "keepalived_selinux.yml"), extra=extra, path_prefix=bin_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = tmp_path / "calls.log"
    calls = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    changed = int(re.search(r"changed=(\d+)", proc.stdout.split("PLAY RECAP")[1]).group(1))
    return calls, changed


TYPE = "keepalived_unconfined_script_exec_t"


def test_el_with_selinux_labels_both_scripts_persistently_then_changes_nothing(tmp_path, standins):
    calls, changed = selinux_run(tmp_path, standins, "RedHat", "enabled")
    assert calls == [
        "semanage fcontext --list --locallist",
        f"semanage fcontext --add --type {TYPE} /etc/keepalived/notify_action\\.sh",
        f"semanage fcontext --add --type {TYPE} /etc/keepalived/check_service\\.sh",
        "restorecon -v /etc/keepalived/notify_action.sh",
        "restorecon -v /etc/keepalived/check_service.sh",
    ]
    assert changed == 2  # the semanage task and the restorecon task (two items each)
    calls, changed = selinux_run(tmp_path, standins, "RedHat", "enabled")
    assert calls == [
        "semanage fcontext --list --locallist",
        "restorecon -v /etc/keepalived/notify_action.sh",
        "restorecon -v /etc/keepalived/check_service.sh",
    ]
    assert changed == 0


def test_a_local_rule_with_another_type_is_modified(tmp_path, standins):
    rule = "/etc/keepalived/notify_action\\.sh    all files    system_u:object_r:etc_t:s0\n"
    (tmp_path / "fcontext").write_text(rule)
    calls, _changed = selinux_run(tmp_path, standins, "RedHat", "enabled", keepalived_check_script_install=False)
    assert calls[:2] == [
        "semanage fcontext --list --locallist",
        f"semanage fcontext --modify --type {TYPE} /etc/keepalived/notify_action\\.sh",
    ]
    assert not any("check_service" in c for c in calls)


def test_missing_selinux_python_library_asks_selinuxenabled(tmp_path, standins):
    calls, changed = selinux_run(tmp_path, standins, "RedHat", "Missing selinux Python library")
    assert calls[0] == "selinuxenabled "
    assert any(c.startswith("semanage fcontext --add") for c in calls)
    assert changed == 2


@pytest.mark.parametrize(
    ("family", "status", "extra"),
    [
        ("Debian", "enabled", {}),
        ("Debian", "disabled", {}),
        # ("RedHat", "disabled"): proven on the EL-like nodes of molecule/el.
        ("RedHat", "enabled", {"keepalived_selinux_label_scripts": False}),
    ],
)
def test_nothing_runs_without_selinux_on_el(tmp_path, standins, family, status, extra):
    calls, changed = selinux_run(tmp_path, standins, family, status, **extra)
    assert calls == []
    assert changed == 0
