"""R2's package list refresh waits for another apt run, as a fresh CVM's cloud-init makes it do.

apt-get update fails at once while another process holds the lists' lock. On a first boot cloud-init or
unattended-upgrades often does; so did a parallel test in CI (one refresh failed the role). The role
retries while the lock is what fails, for keepalived_apt_lock_timeout seconds. Runs the role's checks
for real (--tags keepalived_preflight) on the controller, with apt's real lock held by this test.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from tests.unit import test_keepalived_source_inputs as source_inputs
from tests.unit.test_keepalived_source_inputs import SHA, run_role

pytestmark = source_inputs.pytestmark  # root, and apt to ask

LISTS = Path("/var/lib/apt/lists")
STAMPS = (Path("/var/lib/apt/periodic/update-success-stamp"), LISTS)
REFRESH_TASK = "Refresh the apt lists and ask again when what apt offers would not do"


@pytest.fixture
def stale_lists():
    """The package lists look two hours old, so an offer below keepalived_min_version refreshes them."""
    saved = {path: path.stat() for path in STAMPS if path.exists()}
    old = time.time() - 7200
    for path in saved:
        os.utime(path, (old, old))
    yield
    for path, stat in saved.items():
        # A refresh that rewrote the lists moved the stamp on: keep it then.
        if abs(path.stat().st_mtime - old) < 1:
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@contextlib.contextmanager
def lists_lock_held(seconds: float):
    """apt's own lock on the lists (an fcntl lock on lists/lock, as apt-get takes it) for a while."""
    with open(LISTS / "lock", "w") as handle:
        fcntl.lockf(handle, fcntl.LOCK_EX)
        released = threading.Timer(seconds, fcntl.lockf, (handle, fcntl.LOCK_UN))
        released.start()
        try:
            yield
        finally:
            released.cancel()
            fcntl.lockf(handle, fcntl.LOCK_UN)


def decide(tmp_path: Path, **extra):
    # The offer (Debian's keepalived) is below 99.0: the role refreshes the stale lists, then goes on to
    # the source branch, whose inputs are all good (the archive check comes after the decision).
    return run_role(tmp_path, keepalived_install_method="auto", keepalived_min_version="99.0",
                    keepalived_source_version="99.1", keepalived_source_sha256=SHA, **extra)


def test_the_refresh_waits_for_the_lock(tmp_path, stale_lists):
    with lists_lock_held(6):
        started = time.monotonic()
        proc = decide(tmp_path, keepalived_source_archive=str(tmp_path / "missing.tar.gz"))
        took = time.monotonic() - started
    out = " ".join(proc.stdout.split())
    assert f"TASK [havip.tencentcloud.keepalived : {REFRESH_TASK} (R2)] *" in proc.stdout
    assert "Could not get lock" not in out, proc.stdout
    # The refresh ran (changed) once the lock was released, and the decision followed it.
    assert "keepalived_min_version is 99.0: installing from source" in out, proc.stdout
    assert took >= 6, took
    # The role stopped where it should: at the source inputs, not at apt.
    assert "missing.tar.gz: no such file on the controller" in out, proc.stdout


def test_a_lock_held_past_the_timeout_fails_with_apts_message(tmp_path, stale_lists):
    with lists_lock_held(60):
        proc = decide(tmp_path, keepalived_apt_lock_timeout=3)
    assert proc.returncode != 0
    assert "Could not get lock /var/lib/apt/lists/lock" in proc.stdout, proc.stdout
    assert "installing from" not in proc.stdout


@pytest.mark.parametrize("value", [-1, 3601])
def test_a_bad_timeout_is_refused_first(tmp_path, value):
    proc = run_role(tmp_path, keepalived_apt_lock_timeout=value)
    assert proc.returncode != 0
    assert f"keepalived_apt_lock_timeout={value}: must be an integer 0-3600 seconds." in proc.stdout, proc.stdout
