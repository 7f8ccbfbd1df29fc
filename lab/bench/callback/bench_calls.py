"""Counts, per host, the task results and the module calls that reached the node (bench: --parts roles, site).

A module call is a task (or loop item) that ran and whose action executes on the node: skipped
results, controller-side actions (set_fact, assert, debug, include_*, validate_argument_spec, ...)
and tasks delegated to localhost are not counted. Written as JSON to $HAVIP_BENCH_CALLS at the end.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_calls
type: aggregate
short_description: per-host task results and module calls on the node (lab/bench)
description: Counts per host; writes them as JSON to the file named by HAVIP_BENCH_CALLS.
requirements: [enable in ANSIBLE_CALLBACKS_ENABLED]
"""

CONTROLLER_ACTIONS = {
    "set_fact", "assert", "debug", "fail", "meta", "include_tasks", "import_tasks", "include_role", "import_role",
    "include_vars", "validate_argument_spec", "add_host", "group_by", "set_stats", "pause",
}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_calls"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)

    def _count(self, result, skipped: bool = False) -> None:
        host = result._host.get_name()
        self.results[host] += 1
        if skipped:
            return
        task = result._task
        action = task.action.rsplit(".", 1)[-1]
        if action in CONTROLLER_ACTIONS or task.delegate_to in ("localhost", "127.0.0.1"):
            return
        items = result._result.get("results")
        if isinstance(items, list):
            self.calls[host] += sum(1 for item in items if not item.get("skipped"))
        else:
            self.calls[host] += 1

    def v2_runner_on_ok(self, result) -> None:
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._count(result)

    def v2_runner_on_skipped(self, result) -> None:
        self._count(result, skipped=True)

    def v2_playbook_on_stats(self, stats) -> None:
        path = os.environ.get("HAVIP_BENCH_CALLS")
        if path:
            with open(path, "w", encoding="utf-8") as out:
                json.dump({"task_results": dict(self.results), "module_calls": dict(self.calls)}, out, indent=1)
