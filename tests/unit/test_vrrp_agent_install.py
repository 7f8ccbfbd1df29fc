"""roles/vrrp_agent/tasks/install.yml on the controller, into a temporary directory: the agent's modules
are copied, then compiled by the node's Python (vrrp_agent_python), so that the running agent loads
bytecode instead of compiling its modules at every start (the compiler's memory, about 2 MiB, would
stay resident: issue 13's RSS goal). Bytecode is checked-hash, of the node's own cache tag, and
nothing else is left in __pycache__; a rerun with everything in place changes nothing; only new code
asks for a restart. The R7 state directory the unit's ReadWritePaths names is read in the same round
trip as the code, and created or mended only when it is not a root-owned 0755 directory.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from playbook_runner import ansible_playbook

HERE = Path(__file__).parent
SOURCES = sorted(p.name for p in (HERE.parents[1] / "roles/vrrp_agent/files/havip_vrrp").glob("*.py"))
TAG = sys.implementation.cache_tag
CHECKED_HASH = 0b11  # the pyc header's flags (PEP 552): hash-based, checked against the source


def install(tmp_path: Path) -> tuple[str, bool]:
    """Run the install tasks; the output and whether a restart was asked for (then forgotten)."""
    restart_log = tmp_path / "restart.log"
    restart_log.unlink(missing_ok=True)
    proc = ansible_playbook(HERE / "playbooks" / "vrrp_agent_install.yml", "-i", "localhost,", "-c", "local",
                            extra_vars={"ansible_python_interpreter": sys.executable,
                                        "vrrp_agent_python": sys.executable,
                                        "vrrp_agent_install_dir": str(tmp_path / "lib"),
                                        "vrrp_agent_cli": str(tmp_path / "sbin" / "havip-vrrp"),
                                        "keepalived_state_dir": str(tmp_path / "state"),
                                        "restart_log": str(restart_log)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, restart_log.exists()


def changed(output: str) -> int:
    return int(re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", output).group(1))


def bytecode(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "lib/havip_vrrp/__pycache__").iterdir())


def loaded_from(tmp_path: Path) -> dict[str, str]:
    """Where the node's Python took each module's code object from, importing them as the agent does."""
    modules = ", ".join(f"havip_vrrp.{name[:-3]}" for name in SOURCES if name != "__init__.py")
    proc = subprocess.run([sys.executable, "-S", "-v", "-c", f"import {modules}"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "lib"), "PYTHONDONTWRITEBYTECODE": "1"},
                          check=True)
    found = re.findall(r"^# code object from '?([^'\n]+)'?$", proc.stderr, re.MULTILINE)
    code_dir = str(tmp_path / "lib/havip_vrrp")
    return {Path(p).name.split(".")[0] + ".py": p for p in found if p.startswith(code_dir)}


def assert_compiled_and_used(tmp_path: Path) -> None:
    assert bytecode(tmp_path) == sorted(f"{name[:-3]}.{TAG}.pyc" for name in SOURCES)
    for pyc in (tmp_path / "lib/havip_vrrp/__pycache__").iterdir():
        assert pyc.read_bytes()[4] == CHECKED_HASH, pyc
        assert pyc.stat().st_uid == 0 and oct(pyc.stat().st_mode & 0o777) == "0o644", pyc
    loaded = loaded_from(tmp_path)
    assert sorted(loaded) == SOURCES
    assert all("/__pycache__/" in path for path in loaded.values()), loaded


def test_the_install_compiles_once_and_only_new_code_restarts_the_agent(tmp_path):
    """One node's life, step by step (each step is an ansible-playbook run: one test, so that they
    are not repeated from a fresh install)."""
    cache = tmp_path / "lib/havip_vrrp/__pycache__"

    state_dir = tmp_path / "state"

    # A fresh install: copied, compiled by the node's Python, loaded from bytecode; the agent starts.
    # The state directory is created.
    _output, restart = install(tmp_path)
    assert restart
    assert_compiled_and_used(tmp_path)
    assert state_dir.is_dir() and state_dir.stat().st_uid == 0 and state_dir.stat().st_mode & 0o7777 == 0o755

    # A rerun with everything in place changes nothing.
    output, restart = install(tmp_path)
    assert changed(output) == 0, output
    assert not restart
    assert_compiled_and_used(tmp_path)

    # A missing bytecode file: __pycache__ is removed and compiled again, the agent is left alone.
    (cache / f"daemon.{TAG}.pyc").unlink()
    output, restart = install(tmp_path)
    assert changed(output) == 2, output
    assert not restart
    assert_compiled_and_used(tmp_path)

    # No bytecode at all (what the role's earlier versions installed): compiled, no restart.
    for pyc in cache.iterdir():
        pyc.unlink()
    cache.rmdir()
    output, restart = install(tmp_path)
    assert changed(output) == 1, output  # compiled (removing the absent __pycache__ changes nothing)
    assert not restart
    assert_compiled_and_used(tmp_path)

    # Bytecode of another Python, or of a module no longer shipped, is removed. A file beside the
    # modules that is not a module (it matches another of the find's patterns) is not the role's.
    (cache / "config.cpython-36.pyc").write_bytes(b"old")
    (cache / f"gone.{TAG}.pyc").write_bytes(b"old")
    foreign = tmp_path / "lib/havip_vrrp/state"
    foreign.write_text("not a module")
    output, restart = install(tmp_path)
    assert changed(output) == 2, output
    assert not restart
    assert_compiled_and_used(tmp_path)
    assert foreign.read_text() == "not a module"
    foreign.unlink()

    # A state directory whose mode changed is mended, alone; one that is gone is created again.
    state_dir.chmod(0o700)
    output, restart = install(tmp_path)
    assert changed(output) == 1, output
    assert not restart
    assert state_dir.stat().st_mode & 0o7777 == 0o755
    state_dir.rmdir()
    output, restart = install(tmp_path)
    assert changed(output) == 1, output
    assert state_dir.is_dir() and state_dir.stat().st_mode & 0o7777 == 0o755

    # A module edited on the node is replaced, compiled again, and restarts the agent.
    edited = tmp_path / "lib/havip_vrrp/config.py"
    edited.write_text(edited.read_text() + "\nEDITED = True\n")
    _output, restart = install(tmp_path)
    assert restart
    assert "EDITED" not in edited.read_text()
    assert_compiled_and_used(tmp_path)
