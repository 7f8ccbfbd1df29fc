"""The MASTER's fast path (issue 13, idle cost): "advert timer due, nothing else changed".

A master at advert_int 0.1 s wakes ten times a second to send the same advert. The full turn of
the loop (daemon.Daemon.step: every deadline recomputed, machine.tick, the action records, their
dispatch) costs more than the send itself on a cold cache, and Keepalived's whole master costs
about as much as that send. After each full turn, :func:`arm` asks each machine whether its next
tick can only be its Adver_Timer (machine.VrrpInstance.adver_only) and keeps, per such master,
the advert's packets as the normal path built them (bytes and destinations: constant while the
configuration, the addresses and the priority are). :meth:`AdvertFastPath.run` then waits in
the same epoll set and, at each Adver_Timer, sends those packets and restarts the timer by
arithmetic (machine.VrrpInstance.fast_adver), with no allocation besides the clock's floats.

It hands back to the full turn, which then serves what is due as before, as soon as anything
else may happen: any input or signal (a ready file descriptor: VRRP packets, the signal wake-up
pipe, metrics clients, script ends, netlink), any other deadline (the machines' other timers,
the instances it does not serve, the daemon's chores: scripts, GARP repeats, retries, the status
file), a failed send, or the first advert sent. The pure core stays the authority: what the fast
path does at a timer is what tick() answers for it (tests/unit/agent/test_fastpath.py drives
both on the same inputs and compares the bytes sent and the timers set).
"""

from __future__ import annotations

import time

from .machine import State

_monotonic = time.monotonic
_SERVED = (State.MASTER, State.BACKUP)


class _Master:
    """One master the fast path serves: its runtime, the packets its adverts are, the deadline
    of its Adver_Timer and of its next other timer."""

    __slots__ = ("adver", "other", "packets", "runtime", "send")

    def __init__(self, runtime, packets: tuple, adver: float, other: float) -> None:
        self.runtime = runtime
        self.packets = packets
        self.send = runtime.sender.send_packets
        self.adver = adver
        self.other = other


class AdvertFastPath:
    """The masters served, the BACKUPs whose batches it reads (``followers``: runtimes on an
    interface read in batches, daemon.lazy), until ``until`` (the earliest deadline of anything
    else)."""

    __slots__ = ("daemon", "followers", "masters", "until")

    def __init__(self, daemon, masters: list, followers: list, until: float) -> None:
        self.daemon = daemon
        self.masters = masters
        self.followers = followers
        self.until = until

    def fire(self, now: float) -> bool:
        """Every Adver_Timer due at ``now`` (< until), as the full turn would serve it: the same
        packets sent, the same counters, the same timers (machine.fast_adver, Runtime.deadline
        = SetTimer(next_deadline)). False when the full turn must take over."""
        daemon = self.daemon
        go_on = True
        for master in self.masters:
            if master.adver > now:
                continue
            runtime = master.runtime
            adver = master.adver = runtime.machine.fast_adver(now)
            runtime.deadline = adver if adver < master.other else master.other
            if master.send(master.packets):
                runtime.sent += 1
                if runtime.sent == 1:  # as daemon._send_advert: the first one shows at once
                    daemon.status_due = now
                    go_on = False
            else:
                daemon.log_send_failed(runtime)
                go_on = False
            daemon.status_dirty = True  # as daemon.execute: the counters changed
        return go_on

    def _next(self) -> float:
        deadline = self.until
        for master in self.masters:
            deadline = min(deadline, master.adver)
        for runtime in self.followers:
            deadline = min(deadline, runtime.deadline)
        return deadline

    def run(self, poll) -> None:
        """Serve the Adver_Timers and the batches until anything else may be due; ``poll`` is
        the daemon's epoll (level-triggered: an input that ends the fast path is still ready for
        the full turn). Each wake-up does what the full turn does first: read the batches
        (Daemon.on_vrrp, where a repeated advert is a Follow); any other advert reaches a
        machine through Daemon.feed, and then the full turn takes over."""
        daemon = self.daemon
        lazy, on_vrrp, fed = daemon.lazy, daemon.on_vrrp, daemon.fed
        masters, followers = self.masters, self.followers
        # The usual daemon serves one instance: its deadline without the loops of _next.
        master = masters[0] if len(masters) == 1 and not followers else None
        backup = followers[0] if len(followers) == 1 and not masters else None
        while True:
            if master is not None and master.adver < self.until:
                deadline = master.adver
            elif backup is not None and backup.deadline < self.until:
                deadline = backup.deadline
            else:
                deadline = self._next()
            timeout = deadline - _monotonic()
            if poll(timeout if timeout > 0 else 0):
                return  # an input or a signal: served before a timer due as well, as in the full turn
            for interface in lazy:
                on_vrrp(interface)
            if daemon.fed != fed:
                return  # an advert that was not a repeat reached a machine
            now = _monotonic()
            if daemon.status_dirty and daemon.status_due < self.until:
                self.until = daemon.status_due  # the counters changed: the status file's chore
            if now >= self.until or daemon.stopping or daemon.reload_requested:
                return
            for runtime in followers:
                if runtime.deadline <= now:
                    return  # its Master_Down_Timer: the full turn ticks it
            if masters and not self.fire(now):
                return


def arm(daemon, now: float) -> AdvertFastPath | None:
    """The fast path for the masters whose next tick can only be their Adver_Timer and the
    BACKUPs read in batches, or None. Called after a full turn, at ``now``."""
    lazy = daemon.lazy
    if not any(r.machine.state in _SERVED for r in daemon.runtimes.values()):
        return None
    daemon.next_wakeup(now)  # chores_at as it stands after the full turn
    masters, followers = [], []
    until = daemon.chores_at
    for runtime in daemon.runtimes.values():
        plan = None if runtime.retry_at is not None else runtime.machine.adver_only()
        if plan is not None:
            priority, adver, other = plan
            if runtime.deadline != adver:
                return None  # the daemon's timer is not the machine's: leave it to the full turn
            masters.append(_Master(runtime, runtime.sender.packets(runtime.advert(priority)), adver, other))
            until = min(until, other)
        elif (runtime.machine.state is State.BACKUP and runtime.retry_at is None and runtime.deadline is not None
              and runtime.config.interface in lazy):
            followers.append(runtime)
        elif runtime.deadline is not None:
            until = min(until, runtime.deadline)
    fast = AdvertFastPath(daemon, masters, followers, until)
    if not (masters or followers) or until <= now or fast._next() <= now:
        return None  # nothing to serve, or something is due already: the full turn
    return fast


class Follow:
    """A BACKUP's fast path (on_vrrp): the steady master's advert, once the machine has taken it
    and said that another copy can only move the Master_Down_Timer (VrrpInstance.follow_only).
    Each copy in a batch then costs a comparison of its bytes and the timer's arithmetic; the
    daemon drops this as soon as any input reaches a machine (Daemon.feed)."""

    __slots__ = ("head", "interval", "length", "middle", "priority", "runtime", "src", "tail")

    def __init__(self, runtime, packet: bytes, src: str, priority: int, interval: float) -> None:
        self.runtime = runtime
        # ``packet`` is the IP packet without its ID (bytes 4-5) and checksum (10-11): its parts,
        # compared in place (same) without building the key of each copy.
        self.head, self.middle, self.tail = packet[:4], packet[4:8], packet[8:]
        self.length = len(packet) + 4
        self.src = src
        self.priority = priority
        self.interval = interval

    def same(self, raw: bytes) -> bool:
        """Whether the IP packet ``raw`` is a copy: equal but for its ID and checksum."""
        return (len(raw) == self.length and raw.startswith(self.tail, 12) and raw.startswith(self.middle, 6)
                and raw.startswith(self.head))

    def repeat(self, daemon, now: float, copies: int) -> None:
        """``copies`` copies arrived, the last at ``now``: what Daemon.feed(advert_received) would
        do with each in turn (each only moves the timer: the last one's move stands)."""
        runtime = self.runtime
        runtime.received += copies
        runtime.deadline = runtime.machine.fast_follow(now, self.src, self.priority, self.interval)
        daemon.status_dirty = True


def follow(runtime, packet: bytes, src: str, advert) -> Follow | None:
    """The Follow for ``packet`` (the key on_vrrp judged) when the machine, having just taken
    ``advert`` from ``src``, says a copy can only move its Master_Down_Timer; else None."""
    if runtime.retry_at is not None:
        return None
    interval = runtime.machine.follow_only(advert, src)
    return None if interval is None else Follow(runtime, packet, src, advert.priority, interval)
