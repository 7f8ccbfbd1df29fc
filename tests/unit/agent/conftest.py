"""Make the agent package (shipped inside the vrrp_agent role) importable in the tests."""

import pathlib
import sys

AGENT_DIR = pathlib.Path(__file__).resolve().parents[3] / "roles" / "vrrp_agent" / "files"
if str(AGENT_DIR) not in sys.path:
    sys.path.insert(0, str(AGENT_DIR))
