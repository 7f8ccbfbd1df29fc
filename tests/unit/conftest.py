"""Where the unit tests import the collection from, as ansible_collections.havip.tencentcloud.

In a checkout, `make collection` links the working tree under build/collections; in an installed
collection (ansible-galaxy collection install, then pytest from its directory) the tree is already
inside an ansible_collections/ directory, whose parent goes on the path."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = ROOT.parents[1].name == "ansible_collections"
COLLECTIONS = ROOT.parents[2] if INSTALLED else ROOT / "build" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
