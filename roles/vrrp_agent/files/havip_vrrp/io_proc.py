"""vrrp_track_process for the agent: how many processes of a name run, learnt without a script.

Keepalived uses the kernel's process connector, which answers only in the initial network and PID
namespaces (a container, such as the lab's nodes, gets "connection refused"). Here each matching
process is watched by a pidfd (Linux 5.3, Python 3.9): the kernel makes it readable when the
process ends, so a dead service is seen at once, in any namespace. A process that starts is
found by reading /proc: at once when a watched one ends (a restart may have begun already),
then every RESCAN seconds while the quorum is not met, or always when quorum_max is set or
pidfds are missing (older kernels or Pythons).

Matching follows keepalived.conf(5): the name as /proc/PID/status shows it, exactly; with
parameters, argv[0] and the parameters (param_match initial / partial); with full_command, the
whole command line. Zombies do not count.
"""

from __future__ import annotations

import math
import os

from .io_poll import EVENT_READ

RESCAN = 1.0  # seconds between /proc scans while waiting for processes to start


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:  # gone, or not ours to read
        return None


def process_matches(spec, comm: str, argv: list) -> bool:
    """Whether a process (its comm and argv) is one that ``spec`` (config.TrackProcess) counts."""
    words = list(spec.process)
    if spec.full_command:
        line = " ".join(argv)
        wanted = " ".join(words)
        return line.startswith(wanted) if spec.param_match == "initial" else line == wanted
    if len(words) == 1 and spec.param_match is None:
        return comm == words[0]
    return bool(argv) and argv[0] == words[0] and _params_match(spec.param_match, words[1:], argv[1:])


def _params_match(mode: str | None, params: list, have: list) -> bool:
    """Exact parameters; partial: the first ones are these; initial: and the last one may go on;
    param_match without parameters: none at all."""
    if not params:
        return not have if mode else True
    if mode == "partial":
        return have[: len(params)] == params
    if mode == "initial":
        return (len(have) >= len(params) and have[: len(params) - 1] == params[:-1]
                and have[len(params) - 1].startswith(params[-1]))
    return have == params


def scan(spec, proc: str = "/proc") -> set:
    """PIDs of the running (not zombie) processes that ``spec`` counts."""
    found = set()
    own = os.getpid()
    for entry in os.listdir(proc):
        if not entry.isdigit() or int(entry) == own:
            continue
        stat = _read(f"{proc}/{entry}/stat")
        if not stat:
            continue
        comm_part, _sep, rest = stat.rpartition(b")")
        if rest[1:2] in (b"Z", b"X"):  # a zombie is not running (Keepalived does not count it either)
            continue
        comm = comm_part.partition(b"(")[2].decode(errors="replace")
        argv = []
        if spec.full_command or len(spec.process) > 1 or spec.param_match:
            raw = _read(f"{proc}/{entry}/cmdline") or b""
            argv = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
        if process_matches(spec, comm, argv):
            found.add(int(entry))
    return found


class ProcessWatch:
    """One vrrp_track_process: the matching PIDs (each with its pidfd) and the OK state, with
    Keepalived's fork_delay / terminate_delay before a change counts."""

    def __init__(self, spec, selector, now: float, proc: str = "/proc") -> None:
        self.spec = spec
        self.selector = selector
        self.proc = proc
        self.fds: dict = {}  # pid -> pidfd (None without pidfd support)
        self.pending: tuple | None = None  # (ok, when): a change waiting for its delay
        self.next_scan = math.inf
        self._update(scan(spec, proc))
        self.ok = self.quorate  # the first answer counts at once, as Keepalived's start-up scan
        self._schedule_scan(now)

    @property
    def count(self) -> int:
        return len(self.fds)

    @property
    def quorate(self) -> bool:
        top = self.spec.quorum_max
        return self.count >= self.spec.quorum and (top is None or self.count <= top)

    @property
    def deadline(self) -> float:
        return min(self.next_scan, self.pending[1] if self.pending else math.inf)

    def _watch(self, pid: int) -> None:
        fd = None
        if hasattr(os, "pidfd_open"):
            try:
                fd = os.pidfd_open(pid)
            except OSError:  # ended meanwhile (ESRCH), or no pidfd support: the scans see it
                return
            self.selector.register(fd, EVENT_READ, ("proc", (self.spec.name, pid)))
        self.fds[pid] = fd

    def _forget(self, pid: int) -> None:
        fd = self.fds.pop(pid, None)
        if fd is not None:
            self.selector.discard(fd)

    def _update(self, pids: set) -> None:
        for pid in [p for p in self.fds if p not in pids]:
            self._forget(pid)
        for pid in sorted(pids - set(self.fds)):
            self._watch(pid)

    def _schedule_scan(self, now: float) -> None:
        always = self.spec.quorum_max is not None or any(fd is None for fd in self.fds.values()) or not hasattr(
            os, "pidfd_open")
        self.next_scan = now + RESCAN if always or not self.quorate else math.inf

    def _decide(self, now: float) -> bool | None:
        """Apply the delays; the new ok value when it changed, else None."""
        target = self.quorate
        if target == self.ok:
            self.pending = None
            return None
        delay = self.spec.fork_delay if target else self.spec.terminate_delay
        if self.pending is None or self.pending[0] != target:
            self.pending = (target, now + delay)
        if now < self.pending[1]:
            return None
        self.pending = None
        self.ok = target
        return target

    def on_exit(self, pid: int, now: float) -> bool | None:
        """A watched process ended (its pidfd is readable): look again at once, since a restart may
        have begun, then decide."""
        self._forget(pid)
        self._update(scan(self.spec, self.proc))
        self._schedule_scan(now)
        return self._decide(now)

    def poll(self, now: float) -> bool | None:
        if now >= self.next_scan:
            self._update(scan(self.spec, self.proc))
            self._schedule_scan(now)
        return self._decide(now)

    def close(self) -> None:
        for pid in list(self.fds):
            self._forget(pid)


class ProcessTracks:
    """Every vrrp_track_process of the configuration; the daemon's hooks call these methods and
    feed each returned (name, ok) change to the instances that track it."""

    def __init__(self, selector, proc: str = "/proc") -> None:
        self.selector = selector
        self.proc = proc
        self.watches: dict = {}

    def configure(self, specs: dict, now: float) -> None:
        """Keep the watches whose block did not change (their state too); start the others."""
        for name in list(self.watches):
            if specs.get(name) != self.watches[name].spec:
                self.watches.pop(name).close()
        for name, spec in specs.items():
            if name not in self.watches:
                self.watches[name] = ProcessWatch(spec, self.selector, now, self.proc)

    def ok(self, name: str) -> bool:
        return self.watches[name].ok

    def on_event(self, arg: tuple, now: float) -> list:
        name, pid = arg
        watch = self.watches.get(name)
        changed = watch.on_exit(pid, now) if watch else None
        return [] if changed is None else [(name, changed)]

    def poll(self, now: float) -> list:
        changes = []
        for name, watch in self.watches.items():
            if watch.deadline <= now:
                changed = watch.poll(now)
                if changed is not None:
                    changes.append((name, changed))
        return changes

    @property
    def deadline(self) -> float:
        return min((w.deadline for w in self.watches.values()), default=math.inf)

    def status(self) -> dict:
        return {n: {"ok": w.ok, "processes": w.count} for n, w in self.watches.items()}

    def close(self) -> None:
        for watch in self.watches.values():
            watch.close()
        self.watches = {}
