"""What the emulator remembers of the calls it answered: counts per action and the request log.

Both are in memory (a restart clears them) and read through /_lab/calls and /_lab/log."""

from __future__ import annotations

import collections
import threading

from .actions import MUTATING


class Calls:
    """Counts API calls per action (every authenticated call, faulted or not)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_action: collections.Counter = collections.Counter()
        self._faults: collections.Counter = collections.Counter()

    def record(self, action: str, fault: str | None) -> None:
        with self._lock:
            self._by_action[action] += 1
            if fault:
                self._faults[fault] += 1

    def reset(self) -> None:
        with self._lock:
            self._by_action.clear()
            self._faults.clear()

    def snapshot(self) -> dict:
        with self._lock:
            mutating = sum(n for a, n in self._by_action.items() if a in MUTATING)
            total = sum(self._by_action.values())
            return {"total": total, "mutating": mutating, "read": total - mutating,
                    "by_action": dict(sorted(self._by_action.items())), "faults": dict(sorted(self._faults.items()))}


SECRET_WORDS = ("secret", "password", "passwd", "token", "credential", "privatekey")
NOT_SECRET = frozenset({"clienttoken"})  # an idempotency key, not a credential


def scrub(value):
    """``value`` with every secret-looking field (by name) replaced by "********"."""
    if isinstance(value, dict):
        return {k: "********" if _secret_name(k) else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _secret_name(name) -> bool:
    folded = str(name).lower().replace("_", "").replace("-", "")
    return folded not in NOT_SECRET and any(word in folded for word in SECRET_WORDS)


class RequestLog:
    """The last ``size`` API requests: action, parameters minus secrets, outcome, injected fault.

    Every request that reaches ``POST /`` is logged, rejected ones (bad signature...) included;
    ``seq`` grows by one per entry so that readers can ask for what came after a point."""

    def __init__(self, size: int = 10000):
        self._lock = threading.Lock()
        self._entries: collections.deque = collections.deque(maxlen=size)
        self._seq = 0

    def record(self, **entry) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append({"seq": self._seq, **entry})

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()

    def snapshot(self, since: int = 0, action: str | None = None) -> dict:
        with self._lock:
            entries = [dict(e) for e in self._entries if e["seq"] > since and (action is None or e["action"] == action)]
            return {"last_seq": self._seq, "entries": entries}
