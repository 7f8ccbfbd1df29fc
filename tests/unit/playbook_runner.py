"""The one way the unit tests run ansible-playbook.

This virtualenv's ansible-playbook, with the collection under test found through build/collections
(`make collection` links the working tree there), no colour codes in the output (tests match text),
and the output captured for the test to read. A test that must not leak a secret names it: the
runner fails if it appears in stdout or stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / "build" / "collections"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def ansible_playbook(
    *args: str | Path,
    extra_vars: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    path_prefix: str | Path | None = None,
    secrets: Iterable[str] = (),
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Run `ansible-playbook *args [-e JSON(extra_vars)]`; a non-zero exit is the caller's to judge.

    env: variables added to this process's environment; path_prefix: a directory put first on PATH
    (stand-ins for system tools); secrets: strings that must appear nowhere in the output.
    """
    environ = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_NOCOLOR": "1", **(env or {})}
    if path_prefix:
        environ["PATH"] = f"{path_prefix}{os.pathsep}{environ['PATH']}"
    command = [ANSIBLE_PLAYBOOK, *map(str, args)]
    if extra_vars is not None:
        command += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(command, capture_output=True, text=True, env=environ, timeout=timeout, check=False)
    # The message names neither the secret nor the command line (its -e may carry one).
    for number, secret in enumerate(secrets, 1):
        if secret in proc.stdout + proc.stderr:
            raise AssertionError(f"secret {number} of {args[-1]!s:.200}'s run reached ansible-playbook's output")
    return proc
