"""lab/compat_core_free.py, the proof behind the tests lab/compat.sh leaves to `make unit`: collecting a
file that imports ansible-core, or that runs an ansible-* command, fails with the reason; a file that
imports neither (nor the collection's pure plugin_utils) passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def collect(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    test = tmp_path / "test_sample.py"
    test.write_text(body + "\n\ndef test_nothing():\n    pass\n")
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-p", "lab.compat_core_free", "--rootdir", str(tmp_path), str(test)],
                          check=False, capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'build' / 'collections'}"})


def test_a_file_that_imports_ansible_core_is_refused(tmp_path):
    proc = collect(tmp_path, "from ansible.module_utils.common.text.converters import to_text")
    assert proc.returncode != 0, proc.stdout
    assert "ansible-core was imported while collecting them: ansible" in proc.stderr, proc.stderr


def test_a_file_that_runs_an_ansible_command_is_refused(tmp_path):
    proc = collect(tmp_path, 'import subprocess\nCOMMAND = ["ansible-playbook", "site.yml"]')
    assert proc.returncode != 0, proc.stdout
    assert "test_sample.py:2 runs ansible-playbook" in proc.stderr, proc.stderr


def test_a_core_free_file_passes(tmp_path):
    proc = collect(tmp_path, "import socket\n"
                             "from ansible_collections.havip.tencentcloud.plugins.plugin_utils import vrrp_timing")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 test collected" in proc.stdout, proc.stdout
