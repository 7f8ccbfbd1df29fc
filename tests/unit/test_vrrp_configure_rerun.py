"""The shared configure tasks (roles/_vrrp/tasks/configure.yml) on the controller: one find reads the
installed files, and only a file whose content, owner or mode differs from this run's is written.

Issue 11 (cost of a run): a template task is two round trips to the node even when nothing changes;
a rerun now writes nothing and runs no template task, and a changed file is still written (and only
that one). keepalived_logrotate is off: its file lives in /etc/logrotate.d on the controller.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
# Each file and the title of the task that writes it.
TEMPLATES = {"notify_action.sh": "Install notify_action.sh", "check_service.sh": "Install the default health check",
             "keepalived.conf": "Write keepalived.conf"}


def converge(config_dir: Path, **extra) -> str:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    variables = {"keepalived_config_dir": str(config_dir), "keepalived_logrotate": False, **extra}
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(HERE / "inventory" / "localhost.yml"),
           str(HERE / "playbooks" / "vrrp_configure.yml"), "-e", json.dumps(variables)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def task_results(output: str, task: str) -> list[str]:
    """The result words (ok, changed, skipping, ...) of the task whose title contains `task`."""
    for block in output.split("TASK [")[1:]:
        title, body = [*block.split("\n", 1), ""][:2]
        if task in title:
            return re.findall(r"^(\w+): \[", body, re.M)
    return []


def written(output: str) -> set[str]:
    """The files whose template task ran (changed) in this output."""
    return {name for name, task in TEMPLATES.items() if "changed" in task_results(output, task)}


def config_dir(tmp_path: Path) -> Path:
    # Not under a world-writable parent: the path is only written, never run, but keep it private.
    path = tmp_path / "etc-keepalived"
    tmp_path.chmod(0o755)
    return path


def test_first_run_writes_every_file_then_a_rerun_writes_none(tmp_path):
    etc = config_dir(tmp_path)
    first = converge(etc)
    assert task_results(first, "Read the installed configuration files") == ["ok"], first
    assert written(first) == set(TEMPLATES)
    again = converge(etc)
    assert written(again) == set()
    assert "changed=0" in again.rsplit("PLAY RECAP", 1)[1]


def test_only_the_file_that_differs_is_written(tmp_path):
    etc = config_dir(tmp_path)
    converge(etc)
    (etc / "notify_action.sh").chmod(0o700)  # mode differs
    assert written(converge(etc)) == {"notify_action.sh"}
    assert (etc / "notify_action.sh").stat().st_mode & 0o777 == 0o755
    assert written(converge(etc, keepalived_router_id="other")) == {"keepalived.conf"}  # content differs
    assert "router_id other" in (etc / "keepalived.conf").read_text()


def test_auth_pass_never_reaches_the_output(tmp_path):
    out = converge(config_dir(tmp_path))
    assert "1111" not in out.replace("changed=", "")


def test_after_a_fresh_install_no_find_runs_and_each_template_still_decides(tmp_path):
    """_vrrp_fresh_install (the caller has just installed its daemon): the find is skipped, so a first
    converge saves a round trip; every template task runs and writes only a file that differs, so an
    earlier install's files are neither lost nor rewritten needlessly."""
    etc = config_dir(tmp_path)
    first = converge(etc, _vrrp_fresh_install=True)
    assert task_results(first, "Read the installed configuration files") == ["skipping"], first
    assert written(first) == set(TEMPLATES)
    again = converge(etc, _vrrp_fresh_install=True)
    assert written(again) == set()
    assert "changed=0" in again.rsplit("PLAY RECAP", 1)[1]
    (etc / "check_service.sh").write_text("#!/bin/sh\nexit 1\n")
    assert written(converge(etc, _vrrp_fresh_install=True)) == {"check_service.sh"}
