"""Fixtures of the emulator tests (helpers live in emulator_support.py)."""
import pytest
from emulator_support import start_lab


@pytest.fixture
def lab():
    running = start_lab()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture
def api(lab):
    """call(action, **params) -> response dict, through the real SDK (call_json)."""
    client = lab.client()

    def call(action, **params):
        return client.call_json(action, params)["Response"]

    return call
