"""A pytest plugin for lab/compat.sh: proves that the test files it leaves out under the oldest
ansible-core cannot be changed by ansible-core's version.

    pytest --collect-only -q -p lab.compat_core_free FILE...

Collecting imports every test module and conftest given, with everything they import. The run fails
when any of that loaded ansible-core (the `ansible` package), or when a file names an ansible-*
command (a test that runs ansible-playbook depends on the venv's ansible-core without importing it).
The collection's own pure modules (ansible_collections.havip..., importing nothing of ansible-core)
are allowed: their code is the same under every ansible-core.
"""

from __future__ import annotations

import re
import sys

import pytest

COMMAND = re.compile(r"\bansible-(playbook|doc|galaxy|test|inventory|runner|console|config|pull|vault)\b")


def core_modules() -> list[str]:
    return sorted(name for name in sys.modules if name == "ansible" or name.startswith("ansible."))


def pytest_collection_finish(session: pytest.Session) -> None:
    problems = []
    loaded = core_modules()
    if loaded:
        problems.append(f"ansible-core was imported while collecting them: {', '.join(loaded[:5])}")
    for path in sorted({item.path for item in session.items}):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            found = COMMAND.search(line)
            if found:
                problems.append(f"{path}:{number} runs {found.group(0)}")
    if problems:
        raise pytest.UsageError(
            "lab/compat: these tests depend on ansible-core, so they must run under the oldest one too "
            "(remove them from lab/compat.sh's core_free list):\n  " + "\n  ".join(problems))
