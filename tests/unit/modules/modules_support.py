"""Support for the module tests: run the collection's modules in-process, for real, against the emulator.

A uniquely named module (not conftest) so that other test directories' helpers never shadow it."""
import contextlib
import json
import os
import pathlib
import sys
import urllib.request

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
from lab.emulator.server import serve_in_thread  # noqa: E402
from lab.emulator.signature import Key, KeyRing  # noqa: E402

__all__ = ["KEYS", "REGION", "SECRET_ID", "SECRET_KEY", "WORLD", "Lab", "build", "serve_in_thread"]

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


class Lab:
    def __init__(self, server):
        self.server = server
        self.port = server.server_address[1]
        self.url = server.url

    def admin(self, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.url + path, data=data, method="GET" if data is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def calls(self):
        return self.admin("/_lab/calls")

    def reset_calls(self):
        self.admin("/_lab/calls/reset", {})
