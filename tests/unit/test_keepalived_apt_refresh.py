"""R2's refresh of the apt lists, in the same round trip as the second question (issue 11: a first
converge on an image with empty lists makes one call for both).

Runs the script of decide.yml's task for real, in a private mount namespace where /var/lib/apt is a
tmpfs whose lists directory has the age each case needs, with an apt-get that records its calls."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TASK = "Refresh the apt lists and ask again when what apt offers would not do (R2)"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="needs root for a private mount namespace (CI runs as root)")


def task_vars():
    tasks = yaml.safe_load((ROOT / "roles" / "keepalived" / "tasks" / "decide.yml").read_text())
    (task,) = [task for task in tasks if task.get("name") == TASK]
    return task["vars"]


# apt's own words when another apt run holds the lists' lock (apt 2.6).
LOCKED = ("E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)\n"
          "E: Unable to lock directory /var/lib/apt/lists/")


def run(tmp_path: Path, first: str, lists_age_minutes: int, *, apt_fails: bool = False,
        stamp_age_minutes: int | None = None, locked: int = 0, lock_timeout: int = 120):
    """The script with `first` as the first offer; returns (exit status, stdout, apt-get's calls).
    ``stamp_age_minutes``: the age of apt's update-success stamp, None for no stamp. ``locked``: how
    many of apt-get's first calls fail on the lock (as another apt run makes them; sleep is a no-op)."""
    variables = task_vars()
    script = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(variables["_script"]).render(
        _refreshed=variables["_refreshed"],  # as Ansible templates the task's vars (one variable)
        keepalived_apt_lock_timeout=lock_timeout)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "apt-get.calls"
    (bin_dir / "apt-get").write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\n'
        f'if [ "$(wc -l < {calls})" -le {locked} ]; then printf "%s\\n" "{LOCKED}" >&2; exit 100; fi\n'
        f'exit {1 if apt_fails else 0}\n')
    (bin_dir / "apt-get").chmod(0o755)
    (bin_dir / "sleep").write_text("#!/bin/sh\n")
    (bin_dir / "sleep").chmod(0o755)
    now = int(time.time())
    stamp = "" if stamp_age_minutes is None else (
        'mkdir /var/lib/apt/periodic && touch -d "@$1" /var/lib/apt/periodic/update-success-stamp && ')
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs none /var/lib/apt && mkdir /var/lib/apt/lists && touch -d "@$0" /var/lib/apt/lists && '
         + stamp + 'shift && exec "$@"', str(now - lists_age_minutes * 60), str(now - (stamp_age_minutes or 0) * 60),
         "sh", "-c", script, "sh", first, "echo", "Candidate: 2.2.7"],
        check=False, capture_output=True, text=True, timeout=30,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    return proc.returncode, proc.stdout, calls.read_text().splitlines() if calls.exists() else []


def test_nothing_offered_refreshes_even_fresh_lists_then_asks_again(tmp_path):
    # Empty lists (fresh cloud images) are young: the age alone would not refresh them.
    rc, out, calls = run(tmp_path, "", lists_age_minutes=1)
    assert (rc, calls) == (0, ["update -qq"])
    assert out.splitlines() == [task_vars()["_refreshed"], "Candidate: 2.2.7"]


def test_an_old_offer_refreshes_lists_older_than_an_hour(tmp_path):
    rc, out, calls = run(tmp_path, "2.0.1", lists_age_minutes=61)
    assert (rc, calls) == (0, ["update -qq"])
    assert out.splitlines()[-1] == "Candidate: 2.2.7"


def test_an_old_offer_from_lists_younger_than_an_hour_is_asked_again_without_refresh(tmp_path):
    rc, out, calls = run(tmp_path, "2.0.1", lists_age_minutes=30)
    assert (rc, calls, out.splitlines()) == (0, [], ["Candidate: 2.2.7"])


def test_a_failed_refresh_fails_the_task_without_asking(tmp_path):
    rc, out, calls = run(tmp_path, "", lists_age_minutes=1, apt_fails=True)
    assert rc == 1
    assert calls == ["update -qq"]
    assert "Candidate" not in out


def test_the_update_success_stamp_is_the_age_when_apt_keeps_one(tmp_path):
    # apt's periodic stamp says when the lists were last refreshed successfully; a lists directory
    # touched since (a failed update, a package install) does not make them fresh.
    rc, _out, calls = run(tmp_path, "2.0.1", lists_age_minutes=1, stamp_age_minutes=61)
    assert (rc, calls) == (0, ["update -qq"])
    (tmp_path / "young").mkdir()
    rc, _out, calls = run(tmp_path / "young", "2.0.1", lists_age_minutes=61, stamp_age_minutes=30)
    assert (rc, calls) == (0, [])


def test_a_refresh_that_meets_apt_s_lock_is_retried_until_it_is_free(tmp_path):
    # cloud-init or unattended-upgrades on a fresh CVM; in CI, a parallel test (the compat run failed so).
    rc, out, calls = run(tmp_path, "", lists_age_minutes=1, locked=3)
    assert (rc, calls) == (0, ["update -qq"] * 4)
    assert out.splitlines() == [task_vars()["_refreshed"], "Candidate: 2.2.7"]


def test_a_lock_held_past_keepalived_apt_lock_timeout_fails_with_apt_s_message(tmp_path):
    rc, out, calls = run(tmp_path, "", lists_age_minutes=1, locked=99, lock_timeout=0)
    assert rc == 100
    assert calls == ["update -qq"]
    assert "Candidate" not in out


def test_any_other_failure_is_not_retried(tmp_path):
    rc, _out, calls = run(tmp_path, "", lists_age_minutes=1, apt_fails=True, lock_timeout=600)
    assert (rc, calls) == (1, ["update -qq"])
