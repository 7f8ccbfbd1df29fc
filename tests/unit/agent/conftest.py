"""Make the agent package (shipped inside the vrrp_agent role) importable in the tests."""

import pathlib
import sys

import pytest

AGENT_DIR = pathlib.Path(__file__).resolve().parents[3] / "roles" / "vrrp_agent" / "files"
if str(AGENT_DIR) not in sys.path:
    sys.path.insert(0, str(AGENT_DIR))


@pytest.fixture
def pair(tmp_path):
    """Two network namespaces joined by a veth pair (test_interop.Pair), removed afterwards."""
    from .test_interop import Pair  # noqa: PLC0415 - after AGENT_DIR is on sys.path

    p = Pair(tmp_path)
    try:
        yield p
    finally:
        p.close()
