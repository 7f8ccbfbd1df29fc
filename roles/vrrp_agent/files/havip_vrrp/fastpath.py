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

_monotonic = time.monotonic


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
    """The masters served until ``until`` (the earliest deadline of anything else)."""

    __slots__ = ("daemon", "masters", "until")

    def __init__(self, daemon, masters: list, until: float) -> None:
        self.daemon = daemon
        self.masters = masters
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
            if not daemon.status_dirty:  # as daemon.execute: the counters changed
                daemon.status_dirty = True
                self.until = min(self.until, daemon.status_due)
        return go_on

    def run(self, poll) -> None:
        """Serve the Adver_Timers until anything else may be due; ``poll`` is the daemon's
        epoll (level-triggered: an input that ends the fast path is still ready for the full
        turn)."""
        daemon = self.daemon
        masters = self.masters
        single = masters[0] if len(masters) == 1 else None
        while True:
            deadline = single.adver if single is not None else min(m.adver for m in masters)
            timeout = deadline - _monotonic()
            if poll(timeout if timeout > 0 else 0):
                return  # an input or a signal: served before a timer due as well, as in the full turn
            now = _monotonic()
            if now >= self.until or daemon.stopping or daemon.reload_requested:
                return
            if now >= deadline and not self.fire(now):
                return


def arm(daemon, now: float) -> AdvertFastPath | None:
    """The fast path for the masters whose next tick can only be their Adver_Timer, or None.
    Called after a full turn; ``daemon.chores_at`` must be fresh (daemon.next_wakeup)."""
    masters = []
    until = daemon.chores_at
    for runtime in daemon.runtimes.values():
        plan = None if runtime.retry_at is not None else runtime.machine.adver_only()
        if plan is None:
            if runtime.deadline is not None and runtime.deadline < until:
                until = runtime.deadline
            continue
        priority, adver, other = plan
        if runtime.deadline != adver:
            return None  # the daemon's timer is not the machine's: leave it to the full turn
        masters.append(_Master(runtime, runtime.sender.packets(runtime.advert(priority)), adver, other))
        until = min(until, other)
    if not masters or min(m.adver for m in masters) >= until:
        return None
    return AdvertFastPath(daemon, masters, until)


class Follow:
    """A BACKUP's fast path (on_vrrp): the steady master's advert, once the machine has taken it
    and said that another copy can only move the Master_Down_Timer (VrrpInstance.follow_only).
    Each copy in a batch then costs a comparison of its bytes and the timer's arithmetic; the
    daemon drops this as soon as any input reaches a machine (Daemon.feed)."""

    __slots__ = ("interval", "packet", "priority", "runtime", "src")

    def __init__(self, runtime, packet: bytes, src: str, priority: int, interval: float) -> None:
        self.runtime = runtime
        self.packet = packet
        self.src = src
        self.priority = priority
        self.interval = interval

    def repeat(self, daemon, now: float) -> None:
        """A copy arrived at ``now``: what Daemon.feed(advert_received) would do with it."""
        runtime = self.runtime
        runtime.received += 1
        runtime.deadline = runtime.machine.fast_follow(now, self.src, self.priority, self.interval)
        daemon.status_dirty = True


def follow(runtime, packet: bytes, src: str, advert) -> Follow | None:
    """The Follow for ``packet`` (the key on_vrrp judged) when the machine, having just taken
    ``advert`` from ``src``, says a copy can only move its Master_Down_Timer; else None."""
    if runtime.retry_at is not None:
        return None
    interval = runtime.machine.follow_only(advert, src)
    return None if interval is None else Follow(runtime, packet, src, advert.priority, interval)
