"""The steady-state fast paths (issue 13, idle cost; fastpath.py) against the pure core, which
stays the authority: driven on the same inputs, the fast path and the machine's own answer
(tick, advert_received, carried out by Daemon.feed) send the same bytes and set the same timers,
counters and state. R4g: the cheaper loop must not change who is master, or when.

- A MASTER whose next timer is only its Adver_Timer: machine.adver_only / fast_adver, and the
  daemon's AdvertFastPath (prebuilt packets, the timer by arithmetic).
- A BACKUP reading its steady master's adverts in a batch: machine.follow_only / fast_follow,
  and the daemon's Follow (a repeated advert moves the Master_Down_Timer and nothing else)."""

import os
import time

import pytest
from havip_vrrp import daemon, fastpath
from havip_vrrp.config import parse
from havip_vrrp.io_socket import VrrpSender
from havip_vrrp.machine import MachineConfig, SendAdvert, SetTimer, State, VrrpInstance
from havip_vrrp.packets import VrrpV2Advert, VrrpV3Advert, pass_field
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_config import GUIDE_PRIMARY
from .test_hostile import Garp, Receiver
from .test_packets import ip_header

VIP = "172.16.16.12"
A = "172.16.16.5"
B = "172.16.16.6"


def snapshot(m: VrrpInstance) -> tuple:
    """Everything the machine holds that the fast paths may touch or must leave alone."""
    return (m.state, dict(m._timers), m.stats, m.preempt_time, m.master_adver_interval, m.effective_priority,
            dict(m._track_ok), dict(m._iface_up))


# --- the pure core: the fast moves against tick() and advert_received() -------------------------

configs = st.builds(
    lambda version, centis, priority, weight, delay, refresh, nopreempt, preempt_delay: MachineConfig(
        name="VI_1", vrid=51, priority=priority, primary_ip=A, vips=(VIP,), version=version,
        advert_int=(centis / 100) if version == 3 else float(max(1, centis // 100)),
        track_scripts=(("chk", weight),), garp_master_delay=delay, garp_master_refresh=refresh,
        nopreempt=nopreempt, preempt_delay=preempt_delay),
    version=st.sampled_from([2, 3]),
    centis=st.integers(1, 300),
    priority=st.integers(1, 254),
    weight=st.sampled_from([-30, 0, 20]),
    delay=st.sampled_from([0.0, 0.05, 1.0, 5.0]),
    refresh=st.sampled_from([0.0, 0.3, 5.0]),
    nopreempt=st.booleans(),
    preempt_delay=st.sampled_from([0.0, 0.5]),
)
inputs = st.lists(
    st.one_of(
        st.tuples(st.just("wake"), st.floats(0.0, 0.05)),  # woken this late after the deadline
        st.tuples(st.just("advert"), st.integers(0, 255), st.floats(0.0, 2.0)),
        st.tuples(st.just("track"), st.booleans(), st.floats(0.0, 2.0)),
    ),
    max_size=60,
)


def _advert(config, priority):
    if config.version == 3:
        return VrrpV3Advert(51, priority, (VIP,), round(config.advert_int * 100))
    return VrrpV2Advert(51, priority, (VIP,), int(config.advert_int))


@settings(max_examples=300, deadline=None)
@given(config=configs, steps=inputs)
def test_the_fast_moves_are_the_machines_answer(config, steps):
    """Two machines on the same inputs: ``core`` answers every one through the dispatch; ``fast``
    takes the fast move whenever its hook says it may. At each fast move the core's answer is
    exactly what the fast path carries out (SendAdvert at the priority adver_only gave, SetTimer
    at the deadline the daemon computes; SetTimer alone for a repeated advert), and afterwards
    both machines are the same in every field."""
    core, fast = VrrpInstance(config), VrrpInstance(config)
    now = 0.0
    assert core.start(now) == fast.start(now)
    follow = None  # (advert, src, interval) while fast may take a copy of it fast

    for step in steps:
        if step[0] == "wake":
            deadline = core.next_deadline
            if deadline is None:
                continue
            now = max(now, deadline + step[1])
            plan = fast.adver_only()
            answer = core.tick(now)
            if plan is not None and plan[1] <= now < plan[2]:
                priority, _adver, other = plan
                adver = fast.fast_adver(now)
                assert answer == [SendAdvert(priority), SetTimer(min(adver, other))]

            else:
                assert fast.tick(now) == answer
                follow = None
        elif step[0] == "advert":
            now += step[2]
            advert = _advert(config, step[1])
            answer = core.advert_received(now, advert, B)
            if follow is not None and follow[0] == advert:
                deadline = fast.fast_follow(now, B, advert.priority, follow[2])
                assert answer == [SetTimer(deadline)]

            else:
                assert fast.advert_received(now, advert, B) == answer
                interval = fast.follow_only(advert, B)
                follow = None if interval is None else (advert, B, interval)
        else:
            now += step[2]
            assert fast.track_changed(now, "chk", step[1]) == core.track_changed(now, "chk", step[1])
            follow = None
        assert snapshot(fast) == snapshot(core)


def test_the_hooks_say_no_outside_the_steady_states():
    """adver_only only for a MASTER whose next timer is the Adver_Timer alone; follow_only only
    for a BACKUP following the master it already follows."""
    m = VrrpInstance(MachineConfig("VI_1", 51, 100, 1.0, A, (VIP,), garp_master_delay=0.5))
    m.start(0.0)
    assert m.adver_only() is None  # BACKUP
    assert m.follow_only(VrrpV2Advert(51, 150, (VIP,), 1), B) is None  # not followed yet
    m.advert_received(0.1, VrrpV2Advert(51, 150, (VIP,), 1), B)
    assert m.follow_only(VrrpV2Advert(51, 150, (VIP,), 1), B) == pytest.approx(m.master_down_interval)
    assert m.follow_only(VrrpV2Advert(51, 150, (VIP,), 1), "172.16.16.7") is None  # another sender
    assert m.follow_only(VrrpV2Advert(51, 50, (VIP,), 1), B) is None  # a lower one may preempt
    assert m.follow_only(VrrpV2Advert(51, 0, (VIP,), 1), B) is None  # priority 0: Skew_Time
    m.tick(10.0)
    assert m.state == State.MASTER
    assert m.adver_only() is None  # the garp_master_delay timer (10.5) comes before the advert (11.0)
    m.tick(10.5)
    assert m.adver_only() == (100, 11.0, float("inf"))
    assert m.follow_only(VrrpV2Advert(51, 150, (VIP,), 1), B) is None  # MASTER


# --- the daemon: the bytes sent and the timers set -------------------------------------------------

V3_FAST = """global_defs {
    vrrp_version 3
    vrrp_garp_master_repeat 1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.1
    unicast_src_ip 172.16.16.5
    unicast_peer {
        172.16.16.6
        172.16.16.7
    }
    virtual_ipaddress {
        172.16.16.12
    }
    garp_master_delay 1
    garp_master_refresh 5
}
"""


class Sock:
    """Stands in for the raw socket under a real VrrpSender: records what would go out."""

    def __init__(self):
        self.sent = []
        self.times = []  # time.monotonic() of each packet sent
        self.fail = False

    def sendto(self, data, address):
        if self.fail:
            raise OSError(101, "Network is unreachable")
        self.sent.append((data, address))
        self.times.append(time.monotonic())
        return len(data)

    def close(self):
        pass


def recording_daemon(monkeypatch, text):
    monkeypatch.setattr(daemon.io_addr, "add_vip", lambda cidr, dev: None)
    monkeypatch.setattr(daemon.io_addr, "remove_vip", lambda cidr, dev: False)
    monkeypatch.setattr(daemon.NotifyRunner, "run", lambda self, argv, now, user=None: None)
    d = daemon.Daemon("/nonexistent", status_file="", metrics_port=None)
    d.conf = parse(text)
    mc = d.conf.machine_config("VI_1", A)
    sender = VrrpSender(mc.interface, mc.primary_ip, mc.unicast_peers, sock=Sock())
    runtime = daemon.Runtime(mc, sender=sender, garp=Garp())
    d.runtimes["VI_1"] = runtime
    d.next_iface_poll = 1e9  # no interface to poll here: no chore due
    return d, runtime, sender.sock


def _to_master(d, runtime):
    now = 0.0
    if runtime.machine.state == State.INIT:
        d.feed(runtime, now, runtime.machine.start)
    for _unused in range(10):
        if runtime.machine.state == State.MASTER:
            return now
        now = runtime.deadline
        d.feed(runtime, now, runtime.machine.tick)
    raise AssertionError(f"not MASTER: {runtime.machine.state}")


GUIDE_1S = GUIDE_PRIMARY.replace("advert_int 5", "advert_int 1")  # PASS authentication, VRRPv2


@pytest.mark.parametrize("text", [V3_FAST, GUIDE_1S], ids=["v3-0.1s-two-peers", "guide-v2-1s"])
def test_the_daemons_fast_path_sends_the_same_bytes_and_sets_the_same_timers(monkeypatch, text):
    """Two daemons, one through the full turn (Daemon.feed(tick)) at every deadline, one through
    AdvertFastPath.fire whenever fastpath.arm gives it one, each woken up to 20 ms late, for 600
    wake-ups (GARP delay and refresh timers, the status file's deadline, a send that
    fails in between): the same packets to the same destinations, the same counters, deadlines
    and machine."""
    import random  # noqa: PLC0415

    full, full_rt, full_sock = recording_daemon(monkeypatch, text)
    fast, fast_rt, fast_sock = recording_daemon(monkeypatch, text)
    now = _to_master(full, full_rt)
    assert _to_master(fast, fast_rt) == now
    rng = random.Random(13)
    fired = 0
    armed = None
    for wake in range(600):
        now = full_rt.deadline + rng.uniform(0.0, 0.02)
        if 300 < wake < 305:  # the network is down for a moment: the send fails on both
            full_sock.fail = fast_sock.fail = True
        else:
            full_sock.fail = fast_sock.fail = False
        full.feed(full_rt, now, full_rt.machine.tick)
        if armed is not None and armed.masters[0].adver <= now < armed.until:
            go_on = armed.fire(now)
            fired += 1
            if not go_on:
                armed = None
        else:
            fast.feed(fast_rt, now, fast_rt.machine.tick)
            armed = None
        assert fast_sock.sent == full_sock.sent
        assert (fast_rt.deadline, fast_rt.sent) == (full_rt.deadline, full_rt.sent)
        assert snapshot(fast_rt.machine) == snapshot(full_rt.machine)
        assert fast.status_dirty == full.status_dirty
        if armed is None:
            full.status_dirty = fast.status_dirty = False  # as a status write would leave it
            full.status_due = fast.status_due = now + daemon.STATUS_INTERVAL
            armed = fastpath.arm(fast, now)
    assert fired > 300  # most adverts went through the fast path
    peers = full_rt.config.unicast_peers
    assert {address for _data, address in fast_sock.sent} == {(peer, 0) for peer in peers}


def test_the_fast_path_waits_in_the_same_epoll_and_hands_back_to_the_full_turn(monkeypatch):
    """In real time: the fast path sends at each Adver_Timer (0.1 s) until the next other
    deadline, then returns; an input that is ready (here a pipe in the daemon's epoll set)
    hands back at once, without a send, and stays ready for the full turn."""
    d, runtime, sock = recording_daemon(monkeypatch, V3_FAST)
    _to_master(d, runtime)
    # The machine's clock is the daemon's: restart the Adver_Timer now.
    now = time.monotonic()
    d.feed(runtime, now, runtime.machine.reload, runtime.config)
    runtime.machine._timers = {"adver": now + 0.1, "garp_refresh": now + 5.0}
    runtime.deadline = runtime.machine.next_deadline
    d.status_due = now + daemon.STATUS_INTERVAL  # as after a status write
    armed = fastpath.arm(d, now)
    assert armed is not None
    armed.until = now + 0.55
    before = len(sock.sent)
    armed.run(d.selector.poll)
    elapsed = time.monotonic() - now
    times = sock.times[before::2]  # two peers: the first packet of each advert
    assert 0.55 <= elapsed < 0.75, elapsed
    # At 0.1, 0.2, 0.3, 0.4, 0.5 s on a quiet machine. Each advert restarts the timer from the time
    # it was sent, so on a loaded one a late wake-up delays the next (the 5th may then fall after
    # 0.55 s, left to the full turn): never early, never after the other deadline.
    gaps = [round(b - a, 3) for a, b in zip([now, *times], times, strict=False)]
    assert 3 <= len(times) <= 5, gaps
    assert all(gap >= 0.1 - 0.02 for gap in gaps), gaps  # a send may come late after its wake-up
    assert times[-1] < now + 0.55, gaps
    assert runtime.deadline == runtime.machine.next_deadline == pytest.approx(times[-1] + 0.1, abs=0.01)

    rfd, wfd = os.pipe()
    try:
        d.selector.register(rfd, daemon.EVENT_READ, ("test", None))
        os.write(wfd, b"x")
        armed = fastpath.arm(d, time.monotonic())
        before, start = len(sock.sent), time.monotonic()
        armed.run(d.selector.poll)
        assert time.monotonic() - start < 0.05
        assert len(sock.sent) == before
        assert d.selector.wait(0) == [("test", None)]
    finally:
        d.selector.unregister(rfd)
        os.close(rfd)
        os.close(wfd)


def test_no_fast_path_while_anything_else_is_due_first(monkeypatch):
    """fastpath.arm says no when the daemon's chores, another timer of the machine or an
    instance in error come first, and for a BACKUP whose socket is watched; a BACKUP read in
    batches is served until its Master_Down_Timer."""
    d, runtime, _sock = recording_daemon(monkeypatch, V3_FAST)
    d.feed(runtime, 0.0, runtime.machine.start)
    d.status_due = daemon.STATUS_INTERVAL  # as after a status write
    assert fastpath.arm(d, 0.0) is None  # a BACKUP whose socket is watched (not read in batches)
    d.lazy = ["eth0"]
    armed = fastpath.arm(d, 0.0)
    assert (armed.masters, armed.followers, armed._next()) == ([], [runtime], runtime.deadline)
    d.lazy = []
    now = _to_master(d, runtime)
    d.status_due = now + daemon.STATUS_INTERVAL
    assert fastpath.arm(d, now) is not None
    d.status_due = now  # a chore is due: the status file
    assert fastpath.arm(d, now) is None
    d.status_due = now + daemon.STATUS_INTERVAL
    runtime.machine._timers["garp_delay"] = now + 0.01  # another timer first
    assert fastpath.arm(d, now) is None
    del runtime.machine._timers["garp_delay"]
    assert fastpath.arm(d, now) is not None
    runtime.retry_at = now + 1.0  # an instance in error: the full turn retries it
    assert fastpath.arm(d, now) is None


# --- the BACKUP's batch: a repeated advert --------------------------------------------------------


class NoFollows(dict):
    """The reference daemon never keeps a Follow: every advert goes through Daemon.feed."""

    def __setitem__(self, key, value):
        pass


def _guide_packet(priority, src=B):
    advert = VrrpV2Advert(51, priority, (VIP,), 5, 1, pass_field("hAv1p5ec"))
    return ip_header(advert.pack(), src=src, dst=A)


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(st.tuples(st.sampled_from([200, 200, 200, 150, 90, 0]), st.floats(0.0, 4.0)),
                                 max_size=6),
                        min_size=1, max_size=20),
       track=st.lists(st.booleans(), max_size=20))
def test_a_backups_batch_is_taken_as_the_machine_takes_each_advert(batches, track):
    """Two daemons on the guide's configuration read the same batches (a steady master at 200,
    a priority change, a lower advert, priority 0), with track changes and timers in between:
    the one that takes repeated adverts through Follow ends each batch exactly as the one that
    feeds every advert to the machine."""
    pair = []
    for _unused in range(2):
        d = daemon.Daemon("/nonexistent", status_file="", metrics_port=None)
        d.conf = parse(GUIDE_PRIMARY)
        mc = d.conf.machine_config("VI_1", A)
        runtime = daemon.Runtime(mc, sender=VrrpSender(mc.interface, A, mc.unicast_peers, sock=Sock()), garp=Garp())
        d.runtimes["VI_1"] = runtime
        d.receivers["eth0"] = Receiver([], 0.0)
        runtime.machine.start(0.0)
        runtime.deadline = runtime.machine.next_deadline
        pair.append((d, runtime))
    pair[0][0].follows = NoFollows()
    now = 0.0
    for index, batch in enumerate(batches):
        arrivals = []
        for priority, gap in batch:
            now += gap
            arrivals.append((_guide_packet(priority), now))
        for d, runtime in pair:
            if runtime.machine.state != State.BACKUP:
                continue
            d.receivers["eth0"].packets = list(arrivals)
            d.on_vrrp("eth0")
            if runtime.deadline is not None and runtime.deadline <= now:
                d.feed(runtime, now, runtime.machine.tick)
            if index < len(track) and index % 3 == 2:
                d.feed(runtime, now, runtime.machine.track_changed, "checkhaproxy", track[index])
        (_full, full_rt), (_fast, fast_rt) = pair
        assert snapshot(fast_rt.machine) == snapshot(full_rt.machine)
        assert (fast_rt.deadline, fast_rt.received) == (full_rt.deadline, full_rt.received)
        assert fast_rt.sender.sock.sent == full_rt.sender.sock.sent


def test_a_steady_master_s_batch_costs_no_dispatch(monkeypatch):
    """The batch of a steady master's adverts: the first is judged and fed to the machine, the
    copies only move the Master_Down_Timer (no call into the dispatch)."""
    d = daemon.Daemon("/nonexistent", status_file="", metrics_port=None)
    d.conf = parse(GUIDE_PRIMARY)
    mc = d.conf.machine_config("VI_1", A)
    runtime = daemon.Runtime(mc, sender=VrrpSender(mc.interface, A, mc.unicast_peers, sock=Sock()), garp=Garp())
    d.runtimes["VI_1"] = runtime
    runtime.machine.start(0.0)
    d.receivers["eth0"] = Receiver([], 0.0)
    d.receivers["eth0"].packets = [(_guide_packet(200), t) for t in (1.0, 6.0, 11.0)]
    d.on_vrrp("eth0")
    assert "eth0" in d.follows
    calls = []
    monkeypatch.setattr(runtime.machine, "_dispatch", lambda *a, **k: calls.append(a) or [])
    d.receivers["eth0"].packets = [(_guide_packet(200), t) for t in (16.0, 21.0)]
    d.on_vrrp("eth0")
    assert calls == []
    assert runtime.received == 5
    assert runtime.deadline == pytest.approx(21.0 + runtime.machine.master_down_interval)
    assert runtime.machine.stats.peers[B] == (200, 21.0)


V3_BACKUP = V3_FAST.replace("priority 150", "priority 100")


def test_a_batched_backup_is_served_until_its_master_down_timer_or_a_new_advert(monkeypatch):
    """In real time, VRRPv3 at 0.1 s: a BACKUP that follows a master at 200 wakes at its
    Master_Down_Timer, reads the repeats (the timer moves on, no machine input), and hands back
    to the full turn when the timer is due with nothing read, or when an advert that is not a
    repeat (here priority 0) reached the machine."""
    d, runtime, _sock = recording_daemon(monkeypatch, V3_BACKUP)
    d.lazy = ["eth0"]
    d.receivers["eth0"] = Receiver([], 0.0)
    start = time.monotonic()
    d.feed(runtime, start, runtime.machine.start)

    def packet(priority):
        return ip_header(VrrpV3Advert(51, priority, (VIP,), 10).pack(B, A), src=B, dst=A)

    d.receivers["eth0"].packets = [(packet(200), start)]
    d.on_vrrp("eth0")
    assert "eth0" in d.follows
    d.status_due = start + daemon.STATUS_INTERVAL  # the first advert's status write is done
    interval = runtime.machine.master_down_interval
    armed = fastpath.arm(d, start)
    assert armed.followers == [runtime]
    fed = d.fed
    d.receivers["eth0"].packets = [(packet(200), start + 0.1), (packet(200), start + 0.2)]
    armed.run(d.selector.poll)
    elapsed = time.monotonic() - start
    assert d.fed == fed and runtime.received == 3
    assert runtime.deadline == pytest.approx(start + 0.2 + interval)  # moved by the repeats read
    assert start + 0.2 + interval <= time.monotonic() < start + 0.2 + interval + 0.15, elapsed
    assert runtime.machine.state == State.BACKUP  # the full turn ticks the timer, not the fast path

    now = time.monotonic()
    d.receivers["eth0"].packets = [(packet(200), now)]
    d.on_vrrp("eth0")
    armed = fastpath.arm(d, now)
    d.receivers["eth0"].packets = [(packet(0), now + 0.01)]  # the master leaves: Skew_Time
    armed.run(d.selector.poll)
    assert d.fed == fed + 1  # the repeat before it did not reach the machine
    assert runtime.deadline == pytest.approx(now + 0.01 + runtime.machine.skew_time())
