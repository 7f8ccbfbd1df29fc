"""Support for the module tests: run the collection's modules in-process, for real, against the emulator.

A uniquely named module (not conftest) so that other test directories' helpers never shadow it."""
import contextlib
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]
COLLECTIONS = ROOT / "build" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "havip" / "tencentcloud"
if not LINK.exists():  # what `make collection` does
    LINK.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.symlink(ROOT, LINK)
for path in (str(COLLECTIONS), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)


from lab.emulator.__main__ import build  # noqa: E402
from lab.emulator.admin import AdminClient  # noqa: E402
from lab.emulator.server import serve_in_thread  # noqa: E402
from lab.emulator.signature import Key, KeyRing  # noqa: E402

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 (lab/compat.sh runs these tests under the oldest one claimed)
    import json

    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args):
        """What 2.19's ansible.module_utils.testing.patch_module_args does: the module's arguments."""
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

__all__ = ["KEYS", "REGION", "SECRET_ID", "SECRET_KEY", "WORLD", "Lab", "build", "patch_module_args",
           "serve_in_thread"]

WORLD = ROOT / "lab" / "emulator" / "world.json"
SECRET_ID = "AKIDmodtest00000000000000000000000001"
SECRET_KEY = "module-secret-key-must-never-show-1"
REGION = "ap-guangzhou"
VPC = "vpc-lab00001"
SUBNET = "subnet-lab00001"
OTHER_SUBNET = "subnet-lab00002"
INS1, INS2 = "ins-havip001", "ins-havip002"
MAC1, MAC2 = "02:42:ac:10:10:05", "02:42:ac:10:10:06"
KEYS = KeyRing([Key(SECRET_ID, SECRET_KEY)])


class Lab(AdminClient):
    """A running emulator plus its admin endpoints (lab.emulator.admin)."""

    def __init__(self, server):
        super().__init__(server.url)
        self.server = server
        self.port = server.server_address[1]
