"""The error codes Tencent documents, per action and common to all (error_codes.json beside this file).

The emulator answers only codes from these lists (tests/unit/emulator/test_emulator_error_codes.py
drives every error path and checks it); fault injection uses them to pick the documented code of a
fault ("task running", "module error") for the action at hand."""

from __future__ import annotations

import functools
import json
import pathlib

TABLE = pathlib.Path(__file__).with_name("error_codes.json")
# The "a task is running on this resource" codes, in the order of preference.
MUTEX_CODES = ("UnsupportedOperation.MutexOperationTaskRunning", "OperationDenied.MutexTaskRunning")
MODULE_ERROR = "InternalError.ModuleError"


@functools.cache
def _table() -> dict:
    return json.loads(TABLE.read_text(encoding="utf-8"))


def common() -> frozenset[str]:
    """Codes any action may answer (Tencent's common error codes)."""
    return frozenset(_table()["common"])


def actions() -> frozenset[str]:
    return frozenset(_table()["actions"])


def documented(action: str) -> frozenset[str]:
    """The codes ``action`` may answer: its own list plus the common ones."""
    return frozenset(_table()["actions"].get(action, ())) | common()


def mutex_code(action: str) -> str | None:
    """The action's documented "task running" code, or None if it documents none."""
    own = _table()["actions"].get(action, ())
    return next((code for code in MUTEX_CODES if code in own), None)


def documents_module_error(action: str) -> bool:
    return MODULE_ERROR in _table()["actions"].get(action, ())
