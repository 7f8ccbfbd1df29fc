"""Faults injected into API calls (/_lab/faults) and Tencent's per-action request rate limit.

Fault kinds, each counted (the next N calls) or by rate (a share of calls, random, ``seed``-able):

==================  =============================================================================
name                effect
==================  =============================================================================
throttle            ``RequestLimitExceeded`` before the action runs
internal_error      ``InternalError`` before the action runs
module_error        ``InternalError.ModuleError`` before the action runs; only actions that
                    document it (DescribeHaVips, HaVipAssociateAddressIp, DescribeVpcTaskResult...)
mutex               the action's documented "task running" code before it runs
                    (``UnsupportedOperation.MutexOperationTaskRunning`` or
                    ``OperationDenied.MutexTaskRunning``); only actions that document one
lost                the action *runs*, then the answer is ``InternalError``
drop                the action *runs*, then the connection is closed without an answer, after
                    ``drop_after`` seconds (longer than the client's timeout: a timeout)
==================  =============================================================================

Counted: ``{"throttle": N, ...}``; rates: ``{"throttle_rate": r, ...}`` in [0, 1], plus
``slow_rate`` (the share of calls that get ``latency`` seconds added; 1 by default).
``actions`` limits the counted faults and global rates to those actions; ``per_action`` maps an
action to its own rates (and latency, drop_after), which replace the global ones for it.
Counted faults come first; a call draws its random faults only when none is due.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from collections.abc import Callable

from . import error_codes
from .params import ApiError

KINDS = ("throttle", "internal_error", "module_error", "mutex", "lost", "drop")
RATES = (*(kind + "_rate" for kind in KINDS), "slow_rate")
# What Faults.take returns for each kind (the answer's code, or what the server must do).
FAULT_OF = {"throttle": "RequestLimitExceeded", "internal_error": "InternalError",
            "module_error": error_codes.MODULE_ERROR, "mutex": "mutex", "lost": "lost", "drop": "drop"}
# Tencent's documented default rate limit of the VPC actions: "A maximum of 20 requests can be
# initiated per second for this API" (each action's reference page).
DEFAULT_RATE_LIMIT = 20


def applies(kind: str, action: str) -> bool:
    """Whether this fault kind may hit this action (only documented codes are ever answered)."""
    if kind == "module_error":
        return error_codes.documents_module_error(action)
    if kind == "mutex":
        return error_codes.mutex_code(action) is not None
    return True


def _number(value, low: float, high: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{what} must be a number within [{low:g}, {high:g}]")
    return float(value)


class Faults:
    """The fault configuration; thread-safe; changed at run time through /_lab/faults."""

    def __init__(self, seed=None):
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # noqa: S311 - fault draws, not cryptography
        self._clear()

    def _clear(self) -> None:
        self.counts = dict.fromkeys(KINDS, 0)
        self.latency = 0.0
        self.drop_after = 0.0
        self.actions: set[str] = set()
        self.rates = self._default_rates()
        self.per_action: dict[str, dict] = {}

    @staticmethod
    def _default_rates() -> dict:
        return {**dict.fromkeys(RATES, 0.0), "slow_rate": 1.0}

    @staticmethod
    def _parse_rates(spec: dict, base: dict, where: str) -> dict:
        rates = dict(base)
        for name in RATES:
            if name in spec:
                rates[name] = _number(spec[name], 0, 1, where + name)
        for name in ("latency", "drop_after"):
            if name in spec:
                rates[name] = _number(spec[name], 0, 60, f"{where}{name} (seconds)")
        return rates

    def _parse_counts(self, spec: dict) -> dict:
        counts = dict(self.counts)
        for name in KINDS:
            if name in spec:
                value = spec[name]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} must be a non-negative integer")
                counts[name] = value
        return counts

    def _parse_per_action(self, given) -> dict:
        given = given or {}
        if not isinstance(given, dict) or not all(isinstance(v, dict) for v in given.values()):
            raise ValueError("per_action must map action names to objects of rates")
        per_action = {action: self._parse_rates(item, self._default_rates(), f"per_action.{action}.")
                      for action, item in given.items()}
        for action, item in per_action.items():
            for kind in ("module_error", "mutex"):
                if item[kind + "_rate"] and not applies(kind, action):
                    raise ValueError(f"per_action.{action}.{kind}_rate: {action} does not document that error")
        return per_action

    def configure(self, spec: dict) -> dict:
        with self._lock:
            unknown = set(spec) - set(KINDS) - set(RATES) - {"latency", "drop_after", "actions", "per_action", "seed"}
            if unknown:
                raise ValueError(f"unknown fault settings {sorted(unknown)}")
            counts = self._parse_counts(spec)
            latency = _number(spec["latency"], 0, 60, "latency (seconds)") if "latency" in spec else self.latency
            drop_after = (_number(spec["drop_after"], 0, 60, "drop_after (seconds)") if "drop_after" in spec
                          else self.drop_after)
            rates = self._parse_rates(spec, self.rates, "")
            actions = self.actions
            if "actions" in spec:
                actions = spec["actions"] or []
                if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
                    raise ValueError("actions must be a list of action names")
                actions = set(actions)
            for kind in ("module_error", "mutex"):
                if counts[kind] and actions and not any(applies(kind, a) for a in actions):
                    raise ValueError(f"{kind}: none of {sorted(actions)} documents that error")
            per_action = self._parse_per_action(spec["per_action"]) if "per_action" in spec else self.per_action
            if "seed" in spec:
                if spec["seed"] is not None and (isinstance(spec["seed"], bool) or not isinstance(spec["seed"], int)):
                    raise ValueError("seed must be an integer or null")
                self._random.seed(spec["seed"])
            # Everything is valid: apply it at once.
            self.counts, self.latency, self.drop_after = counts, latency, drop_after
            self.rates, self.actions, self.per_action = rates, actions, per_action
            return self._snapshot()

    def reset(self) -> dict:
        with self._lock:
            self._clear()
            return self._snapshot()

    def snapshot(self) -> dict:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict:
        return {**self.counts, "latency": self.latency, "drop_after": self.drop_after,
                "actions": sorted(self.actions), **self.rates,
                "per_action": {a: dict(r) for a, r in sorted(self.per_action.items())}}

    def take(self, action: str) -> tuple[float, str | None, float]:
        """(latency to add, fault, drop_after): the fault is None (answer normally), an error code
        to answer before the action runs, "mutex" (the action's documented task-running code),
        "lost" (run, then answer InternalError) or "drop" (run, then close without answering)."""
        with self._lock:
            in_scope = not self.actions or action in self.actions
            if action in self.per_action:
                rates = self.per_action[action]
            elif in_scope:
                rates = self.rates
            else:
                return 0.0, None, 0.0
            latency = rates.get("latency", self.latency)
            drop_after = rates.get("drop_after", self.drop_after)
            if latency and self._random.random() >= rates["slow_rate"]:
                latency = 0.0
            if in_scope:
                for kind in KINDS:
                    if self.counts[kind] > 0 and applies(kind, action):
                        self.counts[kind] -= 1
                        return latency, FAULT_OF[kind], drop_after
            draw = self._random.random()
            for kind in KINDS:
                rate = rates[kind + "_rate"] if applies(kind, action) else 0.0
                if draw < rate:
                    return latency, FAULT_OF[kind], drop_after
                draw -= rate
            return latency, None, drop_after


class Dropped(Exception):
    """The "drop" fault: the action ran; the connection closes without an answer after ``after`` seconds."""

    def __init__(self, after: float):
        super().__init__(f"dropped after {after:g} s")
        self.after = after


def inject(action: str, run: Callable[[], dict], latency: float, fault: str | None, drop_after: float) -> dict:
    """Run an admitted call as its drawn fault (``Faults.take``) says: the latency first; an error
    code, or the action's "task running" code, instead of the action; or the action, then its answer
    lost (InternalError) or the connection dropped (``Dropped``); or simply the action's answer."""
    if latency:
        time.sleep(latency)
    if fault == "mutex":
        raise ApiError(error_codes.mutex_code(action),
                       "A mutually exclusive task is running on the resource (lab fault injection).")
    if fault not in (None, "lost", "drop"):
        raise ApiError(fault, f"{fault} (lab fault injection).")
    result = run()
    if fault == "lost":  # the action ran; its answer is lost on the way back
        raise ApiError("InternalError", "An internal error occurred (lab fault injection: the action ran).")
    if fault == "drop":
        raise Dropped(drop_after)
    return result


class RateLimiter:
    """Tencent's per-action request rate limit: more than ``limit`` calls of one action by one
    SecretId within one second answer RequestLimitExceeded. Every call counts, refused ones too
    (the docs do not say; a client that keeps hammering stays refused: the harsher reading)."""

    def __init__(self, default: int = DEFAULT_RATE_LIMIT, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self._calls: dict[tuple[str, str], collections.deque] = collections.defaultdict(collections.deque)
        self.limits: dict[str, int] = {"default": default}

    def configure(self, limits) -> dict:
        if not isinstance(limits, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10000 for v in limits.values()):
            raise ValueError('rate_limits maps "default" or action names to calls per second in [0, 10000] '
                             "(0: unlimited)")
        with self._lock:
            self.limits = {"default": self.limits["default"], **limits}
            return dict(self.limits)

    def limit(self, action: str) -> int:
        return self.limits.get(action, self.limits["default"])

    def allow(self, secret_id: str, action: str) -> bool:
        with self._lock:
            limit = self.limit(action)
            now = self._clock()
            window = self._calls[(secret_id, action)]
            while window and window[0] <= now - 1.0:
                window.popleft()
            window.append(now)
            return not limit or len(window) <= limit
