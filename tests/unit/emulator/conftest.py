"""Fixtures of the emulator tests (helpers live in emulator_support.py)."""
import pytest
from emulator_support import start_lab

from lab.emulator import error_codes


@pytest.fixture
def lab():
    running = start_lab()
    yield running
    # Whatever a test did, every error the emulator answered is one the action documents (issue 14).
    entries = running.server.log.snapshot()["entries"]
    running.server.shutdown()
    running.server.server_close()
    undocumented = sorted({(e["action"], e["outcome"]) for e in entries if e["outcome"] not in ("OK", "dropped")
                           and e["outcome"] not in error_codes.documented(e["action"])})
    assert not undocumented, f"error codes outside the actions' documented lists: {undocumented}"


@pytest.fixture
def api(lab):
    """call(action, **params) -> response dict, through the real SDK (call_json)."""
    client = lab.client()

    def call(action, **params):
        return client.call_json(action, params)["Response"]

    return call
