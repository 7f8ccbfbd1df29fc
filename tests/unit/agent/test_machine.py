"""The sans-IO VRRP state machine with virtual time (no sleeps): unit checks of each rule and a
simulated network of nodes driven by a tiny event loop (R3 nopreempt / preempt_delay / garp, R4c,
R4g, R5)."""

import heapq
import itertools

import pytest
from havip_vrrp import machine
from havip_vrrp.machine import (
    AddVips,
    Event,
    MachineConfig,
    RemoveVips,
    RunNotify,
    SendAdvert,
    SendGarp,
    SetTimer,
    State,
    StateChanged,
    VrrpInstance,
)
from havip_vrrp.packets import VrrpV2Advert, VrrpV3Advert

VIP = "172.16.16.12"
A = "172.16.16.5"
B = "172.16.16.6"


def cfg(ip=A, **kw):
    base = {"name": "VI_1", "vrid": 51, "priority": 100, "advert_int": 1.0, "primary_ip": ip, "vips": (VIP,)}
    base.update(kw)
    return MachineConfig(**base)


def v2(priority, advert_int=1):
    return VrrpV2Advert(51, priority, (VIP,), advert_int)


def kinds(actions, kind):
    return [a for a in actions if isinstance(a, kind)]


# --- unit rules ----------------------------------------------------------------------------------


def test_table_handlers_exist_and_targets_are_states():
    for (state, event), (target, handler, reason) in machine.TRANSITIONS.items():
        assert isinstance(state, State)
        assert isinstance(event, Event)
        assert isinstance(target, State)
        assert callable(getattr(VrrpInstance, handler))
        assert (target != state) == bool(reason), (state, event)  # every move says why


def test_next_state_is_data_and_an_unknown_event_is_an_error():
    assert machine.next_state(State.BACKUP, Event.MASTER_DOWN) == State.MASTER
    assert machine.next_state(State.MASTER, Event.ADVERT_HIGHER) == State.BACKUP
    assert machine.next_state(State.MASTER, Event.ADVERT_LOWER) == State.MASTER
    with pytest.raises(machine.UnexpectedEvent, match="master_down_timer in MASTER"):
        machine.next_state(State.MASTER, Event.MASTER_DOWN)
    node = VrrpInstance(cfg())
    with pytest.raises(machine.UnexpectedEvent):
        node._dispatch(Event.ADVER_TIMER, 0.0)  # INIT has no Adver_Timer
    # Every state answers every public input (adverts, tracking, reload, shutdown): no gap.
    for state in State:
        for event in (Event.ADVERT_HIGHER, Event.ADVERT_LOWER, Event.ADVERT_STOP, Event.SHUTDOWN, Event.RELOAD):
            machine.next_state(state, event)


def test_every_transition_the_machine_takes_is_the_tables():
    """Drive one node through start, election, fault, recovery and shutdown: each StateChanged
    goes where the table says for the event that caused it."""
    node = VrrpInstance(cfg(track_scripts=(("chk", 0),)))
    seen = []
    for actions in (
        node.start(0.0),
        node.tick(10.0),  # master down -> MASTER
        node.advert_received(10.5, v2(200), B),  # higher -> BACKUP
        node.track_changed(11.0, "chk", False),  # -> FAULT
        node.track_changed(12.0, "chk", True),  # -> BACKUP
        node.shutdown(13.0),
    ):
        seen += [(a.old, a.new) for a in kinds(actions, StateChanged)]
    assert seen == [
        (State.INIT, State.BACKUP), (State.BACKUP, State.MASTER), (State.MASTER, State.BACKUP),
        (State.BACKUP, State.FAULT), (State.FAULT, State.BACKUP), (State.BACKUP, State.INIT),
    ]


def test_timers_rfc3768():
    node = VrrpInstance(cfg(priority=100, advert_int=1.0))
    assert node.skew_time() == pytest.approx((256 - 100) / 256)
    assert node.master_down_interval == pytest.approx(3 + 156 / 256)
    node = VrrpInstance(cfg(priority=100, advert_int=5.0))  # the guide's advert_int 5
    assert node.skew_time() == pytest.approx(156 / 256)  # RFC 3768: seconds, not scaled by advert_int
    assert node.master_down_interval == pytest.approx(15 + 156 / 256)


def test_timers_rfc5798_use_learnt_master_interval():
    node = VrrpInstance(cfg(priority=200, advert_int=1.0, version=3))
    node.start(0.0)
    node.advert_received(0.5, VrrpV3Advert(51, 250, (VIP,), 200), B)  # master advertises 2 s
    assert node.master_adver_interval == 2.0
    assert node.skew_time() == pytest.approx(((256 - 200) * 2.0) / 256)
    assert node.master_down_interval == pytest.approx(6 + 56 * 2.0 / 256)
    assert node.next_deadline == pytest.approx(0.5 + node.master_down_interval)


def test_start_backup_removes_stale_vip_and_notifies():
    node = VrrpInstance(cfg())
    actions = node.start(10.0)
    # The state change is announced first (the table's move), then the stale VIP goes.
    assert actions[:2] == [StateChanged(State.INIT, State.BACKUP, "start"), RemoveVips((VIP,))]
    assert node.state == State.BACKUP
    assert RunNotify("BACKUP", 100) in actions
    assert actions[-1] == SetTimer(10.0 + node.master_down_interval)


def test_owner_becomes_master_at_once():
    node = VrrpInstance(cfg(priority=255))
    actions = node.start(0.0)
    assert node.state == State.MASTER
    assert SendAdvert(255) in actions
    assert AddVips((VIP,)) in actions
    assert SendGarp("master", 5) in actions


def test_master_down_timer_makes_master_with_garp_schedule():
    node = VrrpInstance(cfg(garp_master_delay=1, garp_master_refresh=5, garp_master_repeat=1))
    node.start(0.0)
    mdi = node.master_down_interval
    assert node.tick(mdi - 0.01) == [SetTimer(mdi)]
    actions = node.tick(mdi)
    assert node.state == State.MASTER
    assert [type(a) for a in actions[:5]] == [StateChanged, SendAdvert, AddVips, SendGarp, RunNotify]
    assert SendGarp("master", 1) in actions
    sent = []
    now = mdi
    while now < mdi + 11:
        now = node.next_deadline
        sent.extend((round(now - mdi, 6), a) for a in node.tick(now) if isinstance(a, (SendGarp, SendAdvert)))
    garps = [(t, a.burst) for t, a in sent if isinstance(a, SendGarp)]
    # R3/R4c: garp_master_delay 1 then a refresh every garp_master_refresh 5 s.
    assert garps == [(1.0, "delayed"), (5.0, "refresh"), (10.0, "refresh")]
    adverts = [t for t, a in sent if isinstance(a, SendAdvert)]
    assert adverts == [float(i) for i in range(1, 12)]


def test_backup_accepts_higher_or_equal_and_discards_lower_when_preempting():
    node = VrrpInstance(cfg(priority=150))
    node.start(0.0)
    node.advert_received(1.0, v2(200), B)
    assert node.next_deadline == pytest.approx(1.0 + node.master_down_interval)
    node.advert_received(2.0, v2(150), B)  # equal: no preemption by a backup (RFC 3768 6.4.2)
    assert node.next_deadline == pytest.approx(2.0 + node.master_down_interval)
    node.advert_received(3.0, v2(100), B)  # lower: discarded, the timer keeps running
    assert node.next_deadline == pytest.approx(2.0 + node.master_down_interval)


def test_nopreempt_backup_accepts_lower_priority_master():
    node = VrrpInstance(cfg(priority=150, nopreempt=True))
    node.start(0.0)
    node.advert_received(3.0, v2(100), B)
    assert node.next_deadline == pytest.approx(3.0 + node.master_down_interval)


def test_priority_zero_advert_backup_waits_skew_time_only():
    node = VrrpInstance(cfg(priority=100))
    node.start(0.0)
    node.advert_received(1.0, v2(0), B)
    assert node.next_deadline == pytest.approx(1.0 + node.skew_time())


def master_node(**kw):
    node = VrrpInstance(cfg(priority=255, **kw) if "priority" not in kw else cfg(**kw))
    node.start(0.0)
    if node.state != State.MASTER:
        node.tick(node.next_deadline)
    assert node.state == State.MASTER
    return node


def test_master_answers_lower_priority_at_once():
    node = master_node(priority=150)
    assert node.advert_received(5.0, v2(100), B)[:-1] == [SendAdvert(150)]
    assert node.state == State.MASTER


def test_master_answers_priority_zero_and_restarts_adver_timer():
    node = master_node(priority=150)
    assert node.advert_received(5.5, v2(0), B)[:-1] == [SendAdvert(150)]
    assert node.next_deadline == 6.5


def test_master_steps_down_on_higher_priority():
    node = master_node(priority=150)
    actions = node.advert_received(5.0, v2(200), B)
    assert node.state == State.BACKUP
    assert RemoveVips((VIP,)) in actions
    assert RunNotify("BACKUP", 150) in actions
    assert node.stats.master_ip == B


def test_equal_priority_higher_address_wins():
    low = master_node(priority=100, primary_ip=A)
    low.advert_received(5.0, v2(100), B)  # B > A
    assert low.state == State.BACKUP
    high = master_node(priority=100, primary_ip=B)
    assert high.advert_received(5.0, v2(100), A)[:-1] == [SendAdvert(100)]
    assert high.state == State.MASTER


def test_track_script_weight_changes_priority_and_master_advertises():
    node = master_node(priority=100, track_scripts=(("chk", -30), ("up", 20)))
    assert node.effective_priority == 120
    actions = node.track_changed(5.0, "chk", ok=False)
    assert node.effective_priority == 90
    assert SendAdvert(90) in actions
    node.track_changed(6.0, "up", ok=False)
    assert node.effective_priority == 70


def test_track_failure_weight_zero_faults_and_recovers_to_backup():
    node = master_node(priority=100, track_scripts=(("checkhaproxy", 0),))
    actions = node.track_changed(5.0, "checkhaproxy", ok=False)
    assert node.state == State.FAULT
    assert SendAdvert(0) in actions
    assert RemoveVips((VIP,)) in actions
    assert RunNotify("FAULT", 100) in actions
    assert node.advert_received(6.0, v2(100), B) == [SetTimer(None)]  # ignored in FAULT
    actions = node.track_changed(7.0, "checkhaproxy", ok=True)
    assert node.state == State.BACKUP
    assert RunNotify("BACKUP", 100) in actions


def test_interface_down_faults():
    node = VrrpInstance(cfg(interface="eth0", track_interfaces=(("eth1", 0),)))
    node.start(0.0)
    node.interface_changed(1.0, "eth1", up=False)
    assert node.state == State.FAULT
    node.interface_changed(2.0, "eth1", up=True)
    assert node.state == State.BACKUP
    node.interface_changed(3.0, "eth0", up=False)
    assert node.state == State.FAULT


def test_start_faulted():
    node = VrrpInstance(cfg(track_scripts=(("chk", 0),)))
    node.track_changed(0.0, "chk", ok=False)
    assert node.state == State.INIT
    node.start(0.0)
    assert node.state == State.FAULT


def test_shutdown_master_sends_priority_zero_and_notifies_stop():
    node = master_node(priority=150)
    actions = node.shutdown(9.0)
    assert node.state == State.INIT
    assert actions[1:4] == [SendAdvert(0), RemoveVips((VIP,)), RunNotify("STOP", 150)]
    assert actions[-1] == SetTimer(None)


def test_reload_keeps_state_and_moves_vips():
    node = master_node(priority=150)
    transitions = node.stats.transitions
    actions = node.reload(5.0, cfg(priority=160, vips=(VIP, "172.16.16.13")))
    assert node.state == State.MASTER
    assert node.stats.transitions == transitions
    assert AddVips(("172.16.16.13",)) in actions
    assert not kinds(actions, StateChanged)
    assert SendAdvert(160) in actions  # priority change announced
    actions = node.reload(6.0, cfg(priority=160, vips=("172.16.16.13",)))
    assert RemoveVips((VIP,)) in actions


def test_reload_adding_weight_zero_failing_check_faults():
    node = master_node(priority=150, track_scripts=(("a", 0),))
    node.track_changed(1.0, "a", ok=True)
    node.reload(2.0, cfg(priority=150, track_scripts=(("a", 0),)))
    assert node.state == State.MASTER


def test_unknown_events_are_ignored():
    node = VrrpInstance(cfg())
    assert node.advert_received(0.0, v2(100), B) == [SetTimer(None)]
    assert node.tick(1.0) == [SetTimer(None)]
    assert node.shutdown(1.0) == [SetTimer(None)]


# --- a simulated network -------------------------------------------------------------------------


class Net:
    """Nodes exchanging adverts through a priority queue of timed events (virtual time)."""

    def __init__(self, latency=0.001):
        self.latency = latency
        self.nodes = {}
        self.queue = []
        self.seq = itertools.count()
        self.now = 0.0
        self.alive = set()
        self.cut = set()  # frozensets of node pairs whose link is down
        self.vips = {}
        self.became_master = {}
        self.received = {}

    def add(self, config, start_at=0.0):
        ip = config.primary_ip
        self.nodes[ip] = VrrpInstance(config)
        self.vips[ip] = set()
        self.became_master[ip] = []
        self.received[ip] = []
        self.push(start_at, "start", ip)

    def push(self, when, kind, ip, payload=None):
        heapq.heappush(self.queue, (when, next(self.seq), kind, ip, payload))

    def apply(self, ip, actions):
        node = self.nodes[ip]
        for action in actions:
            if isinstance(action, SetTimer) and action.deadline is not None:
                self.push(action.deadline, "tick", ip, action.deadline)
            elif isinstance(action, SendAdvert):
                cls = VrrpV3Advert if node.config.version == 3 else VrrpV2Advert
                interval = int(node.config.advert_int * (100 if node.config.version == 3 else 1))
                advert = cls(node.config.vrid, action.priority, node.config.vips, interval)
                for other in self.nodes:
                    if other != ip and frozenset((ip, other)) not in self.cut:
                        self.push(self.now + self.latency, "advert", other, (advert, ip))
            elif isinstance(action, AddVips):
                self.vips[ip].update(action.vips)
            elif isinstance(action, RemoveVips):
                self.vips[ip].difference_update(action.vips)
            elif isinstance(action, StateChanged) and action.new == State.MASTER:
                self.became_master[ip].append(self.now)

    def run_until(self, until):
        while self.queue and self.queue[0][0] <= until:
            when, _unused, kind, ip, payload = heapq.heappop(self.queue)
            self.now = when
            node = self.nodes[ip]
            if kind == "start":
                self.alive.add(ip)
                self.apply(ip, node.start(when))
                continue
            if ip not in self.alive:
                continue
            if kind == "tick":
                if node.next_deadline == payload:  # a later SetTimer replaced this one
                    self.apply(ip, node.tick(when))
            elif kind == "advert":
                advert, src = payload
                self.received[ip].append((when, advert.priority))
                self.apply(ip, node.advert_received(when, advert, src))
            elif kind == "call":
                self.apply(ip, payload(node, when))
        self.now = until

    def call(self, when, ip, fn):
        self.push(when, "call", ip, fn)

    def crash(self, ip):
        self.alive.discard(ip)

    def masters(self):
        return sorted(ip for ip in self.alive if self.nodes[ip].state == State.MASTER)

    def vip_holders(self):
        return sorted(ip for ip in self.alive if self.vips[ip])


def guide_pair(advert_int=1.0, **kw):
    """R3: both BACKUP, priority 100, nopreempt, unicast peers; A started first (R5)."""
    net = Net()
    net.add(cfg(A, advert_int=advert_int, nopreempt=True, **kw), start_at=0.0)
    net.add(cfg(B, advert_int=advert_int, nopreempt=True, **kw), start_at=0.3)
    return net


def test_single_master_at_equilibrium_node_started_first_wins():
    net = guide_pair()
    net.run_until(60.0)
    assert net.masters() == [A]  # R5: the node started first becomes the primary
    assert net.vip_holders() == [A]
    assert net.nodes[B].state == State.BACKUP
    assert len(net.became_master[A]) == 1
    assert net.became_master[A][0] == pytest.approx(net.nodes[A].master_down_interval)


def test_higher_priority_wins_without_nopreempt():
    net = Net()
    net.add(cfg(A, priority=100), start_at=0.0)
    net.add(cfg(B, priority=200), start_at=10.0)
    net.run_until(40.0)
    assert net.masters() == [B]
    assert net.vip_holders() == [B]
    # B discards A's lower-priority adverts: it takes over when its own Master_Down_Timer fires.
    assert net.became_master[B] == [pytest.approx(10.0 + net.nodes[B].master_down_interval)]


@pytest.mark.parametrize("advert_int", [1.0, 5.0])
def test_failover_time_equals_master_down_interval(advert_int):
    net = guide_pair(advert_int=advert_int)
    net.run_until(100.0)
    assert net.masters() == [A]
    crash_at = 100.0
    net.crash(A)
    net.run_until(200.0)
    last_advert = max(t for t, _unused in net.received[B] if t <= crash_at)
    takeover = net.became_master[B][-1]
    assert takeover - last_advert == pytest.approx(net.nodes[B].master_down_interval)
    assert net.masters() == [B]


def test_shutdown_failover_takes_skew_time():
    net = guide_pair(advert_int=5.0)
    net.run_until(100.0)
    net.call(100.0, A, lambda node, now: node.shutdown(now))
    net.run_until(200.0)
    takeover = net.became_master[B][-1]
    assert takeover - (100.0 + net.latency) == pytest.approx(net.nodes[B].skew_time())
    assert net.nodes[A].state == State.INIT
    assert net.vips[A] == set()


def test_nopreempt_keeps_lower_priority_master():
    net = Net()
    net.add(cfg(A, priority=100), start_at=0.0)
    net.add(cfg(B, priority=200, nopreempt=True), start_at=10.0)
    net.run_until(60.0)
    assert net.masters() == [A]
    assert net.became_master[B] == []


def test_preempt_delay():
    net = Net()
    net.add(cfg(A, priority=100), start_at=0.0)
    net.add(cfg(B, priority=200, preempt_delay=10.0), start_at=10.0)
    net.run_until(60.0)
    assert net.masters() == [B]
    first_seen = min(t for t, _unused in net.received[B])
    takeover = net.became_master[B][0]
    mdi = net.nodes[B].master_down_interval
    assert first_seen + 10.0 <= takeover <= first_seen + 10.0 + 1.0 + mdi


def test_split_brain_resolves_on_heal():
    net = guide_pair()
    net.run_until(20.0)
    net.cut.add(frozenset((A, B)))
    net.run_until(40.0)
    assert net.masters() == [A, B]  # partition: active-active (R4g)
    assert net.vip_holders() == [A, B]
    net.cut.clear()
    net.run_until(40.0 + 1.0 + 2 * net.latency)  # one advert interval heals it
    assert net.masters() == [B]  # equal priority: the higher primary address wins
    assert net.vip_holders() == [B]
    net.run_until(80.0)
    assert net.masters() == [B]


def test_track_failure_moves_master_in_skew_time():
    net = Net()
    net.add(cfg(A, priority=150, track_scripts=(("checkhaproxy", 0),)), start_at=0.0)
    net.add(cfg(B, priority=100), start_at=1.0)
    net.run_until(30.0)
    assert net.masters() == [A]
    net.call(30.0, A, lambda node, now: node.track_changed(now, "checkhaproxy", ok=False))
    net.run_until(60.0)
    assert net.masters() == [B]
    assert net.nodes[A].state == State.FAULT
    assert net.became_master[B][0] - 30.0 == pytest.approx(net.latency + net.nodes[B].skew_time())
    net.call(60.0, A, lambda node, now: node.track_changed(now, "checkhaproxy", ok=True))
    net.run_until(100.0)
    assert net.masters() == [A]  # A preempts again (no nopreempt)


def test_three_nodes_vrrpv3():
    net = Net()
    for ip, prio in [(A, 100), (B, 150), ("172.16.16.7", 120)]:
        net.add(cfg(ip, priority=prio, version=3), start_at=0.0)
    net.run_until(30.0)
    assert net.masters() == [B]
    net.crash(B)
    net.run_until(60.0)
    assert net.masters() == ["172.16.16.7"]
    assert net.vip_holders() == ["172.16.16.7"]
