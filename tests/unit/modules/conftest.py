"""Fixtures of the module tests (helpers live in modules_support.py)."""
import contextlib
import importlib
import io
import json

import pytest
from modules_support import KEYS, REGION, SECRET_ID, SECRET_KEY, WORLD, Lab, build, patch_module_args, serve_in_thread


@pytest.fixture
def lab():
    server = build(str(WORLD), KEYS, task_delay=0.2, listen=("127.0.0.1", 0))
    serve_in_thread(server)
    yield Lab(server)
    server.shutdown()
    server.server_close()


class Result(dict):
    """A module's JSON result; ``raw`` is exactly what it printed."""

    raw = ""


@pytest.fixture
def run(lab):
    """run("havip", check_mode=False, diff=False, **options) -> the module's result."""

    def run_module(module_name, check_mode=False, diff=False, credentials=True, **options):
        args = dict(options)
        if credentials:
            args.update(secret_id=SECRET_ID, secret_key=SECRET_KEY, region=REGION,
                        endpoint=f"127.0.0.1:{lab.port}", scheme="http", retry_delay=0.01, request_timeout=10)
        args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
        module = importlib.import_module(f"ansible_collections.havip.tencentcloud.plugins.modules.{module_name}")
        out = io.StringIO()
        with patch_module_args(args), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            module.main()
        result = Result(json.loads(out.getvalue()))
        result.raw = out.getvalue()
        assert SECRET_KEY not in result.raw
        return result

    return run_module
