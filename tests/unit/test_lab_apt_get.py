"""lab/apt-get.sh: the lab's installs wait for another apt run's lock, and fail on anything else.

A fresh CI machine's apt-daily can hold apt's locks when `make test` starts. apt_get runs here against
an apt-get on PATH that fails with apt's own lock message a given number of times.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAKE_APT = """#!/bin/sh
n=$(cat "$COUNT" 2>/dev/null || echo 0); echo $((n + 1)) > "$COUNT"
if [ "$n" -lt "$LOCKED" ]; then
    echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 42 (apt-get)" >&2
    echo "E: Unable to lock directory /var/lib/apt/lists/" >&2; exit 100
fi
if [ "$BROKEN" = 1 ]; then
    echo "E: The repository 'http://x bookworm Release' does not have a Release file." >&2; exit 100
fi
echo "W: a warning"  >&2; echo "apt-get $*"
"""


def apt_get(tmp_path: Path, locked: int, broken: bool = False) -> tuple[subprocess.CompletedProcess, int]:
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    fake.write_text(FAKE_APT)
    fake.chmod(0o755)
    count = tmp_path / "count"
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "COUNT": str(count), "LOCKED": str(locked),
           "BROKEN": "1" if broken else "0"}
    proc = subprocess.run(["bash", "-c", f". {ROOT}/lab/apt-get.sh; sleep() {{ :; }}; apt_get update -q"],
                          check=False, env=env, capture_output=True, text=True, timeout=60)
    return proc, int(count.read_text())


def test_a_held_lock_is_waited_for(tmp_path):
    proc, calls = apt_get(tmp_path, locked=2)
    assert proc.returncode == 0, proc.stderr
    assert calls == 3
    assert "Could not get lock" not in proc.stderr
    assert proc.stderr == "W: a warning\n"  # apt's warnings still reach the log; its chatter does not
    assert proc.stdout == ""


def test_any_other_failure_stops_at_once_with_apts_message(tmp_path):
    proc, calls = apt_get(tmp_path, locked=0, broken=True)
    assert proc.returncode == 1
    assert calls == 1
    assert "does not have a Release file" in proc.stderr
