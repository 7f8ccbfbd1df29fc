"""The VRRP instance state machine, sans-IO (in the style of python-hyper/h11).

No socket, no clock, no subprocess here: every method takes the current time ``now`` (seconds,
any monotonic origin) and returns a list of action objects for the I/O layer to carry out. All
transitions are data in :data:`TRANSITIONS`: ``(state, event) -> (next state, handler, reason)``;
an event without an entry is an error (:class:`UnexpectedEvent`), never silently ignored.

Protocol rules: RFC 3768 (VRRPv2) section 6, RFC 5798 (VRRPv3) section 6, with Keepalived's
behaviour where the project relies on it (guide point R3: nopreempt, preempt_delay, track_script
weights, garp_master_delay / garp_master_repeat / garp_master_refresh; R4c: the GARP parameters).
"""

from __future__ import annotations

import enum
import math
import socket

from .records import dataclass, field, replace

PRIORITY_STOP = 0
PRIORITY_OWNER = 255
MAX_ADVERT_CENTISECONDS = 0x0FFF  # RFC 5798 5.2.7: 12 bits of centiseconds


class State(str, enum.Enum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"


class Event(str, enum.Enum):
    START = "start"
    START_OWNER = "start_as_owner"  # priority 255: the address owner (RFC 3768 6.4.1)
    START_FAULTED = "start_faulted"  # a weight-0 check or interface already failed
    ADVERT_HIGHER = "advert_higher"  # a peer that wins the election against us
    ADVERT_LOWER = "advert_lower"  # a peer that loses it (lower priority, or equal and lower address)
    ADVERT_STOP = "advert_priority_zero"  # the master is leaving (priority 0)
    MASTER_DOWN = "master_down_timer"
    ADVER_TIMER = "adver_timer"
    GARP_DELAY = "garp_delay_timer"
    GARP_REFRESH = "garp_refresh_timer"
    FAULT = "fault"
    RECOVER = "recover"
    RECOVER_OWNER = "recover_as_owner"
    PRIORITY_CHANGED = "priority_changed"
    SHUTDOWN = "shutdown"
    RELOAD = "reload"


class UnexpectedEvent(RuntimeError):
    """An event without an entry in :data:`TRANSITIONS` for the current state: a bug in the caller
    or the core, never silently ignored (the daemon puts the instance in FAULT and logs it)."""


# --- actions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendAdvert:
    priority: int


@dataclass(frozen=True)
class AddVips:
    vips: tuple[str, ...]


@dataclass(frozen=True)
class RemoveVips:
    vips: tuple[str, ...]


@dataclass(frozen=True)
class SendGarp:
    """Gratuitous ARP for every VIP, ``repeat`` times; ``burst`` says which (master, delayed,
    refresh), so that the I/O layer can log it."""

    burst: str
    repeat: int


@dataclass(frozen=True)
class RunNotify:
    state: str  # MASTER, BACKUP, FAULT or STOP (Keepalived's notify_* and generic notify)
    priority: int


@dataclass(frozen=True)
class SetTimer:
    deadline: float | None  # when tick() must be called next; None: no timer pending


@dataclass(frozen=True)
class StateChanged:
    old: State
    new: State
    reason: str


# --- timing (RFC 3768 6.1, RFC 5798 6.1) ---------------------------------------------------------
# The agent's stdlib copy of plugins/plugin_utils/vrrp_timing.py (the agent cannot import the
# collection on a node); tests/unit/test_vrrp_plan.py shows both equal over every input.


def skew_time(advert_int: float, priority: int, version: int) -> float:
    """Skew_Time in seconds. RFC 3768 6.1 (VRRPv2): (256 - Priority) / 256 seconds, whatever the
    interval (Keepalived's VRRPv2 timer does the same). RFC 5798 6.1 (VRRPv3):
    (256 - Priority) x Master_Adver_Interval / 256."""
    if version == 3:
        return (256 - priority) * advert_int / 256
    return (256 - priority) / 256


def master_down_interval(advert_int: float, priority: int, version: int) -> float:
    """Master_Down_Interval in seconds: 3 x the master's advert interval + Skew_Time."""
    return 3 * advert_int + skew_time(advert_int, priority, version)


# --- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MachineConfig:
    """What the state machine needs from a ``vrrp_instance`` block."""

    name: str
    vrid: int
    priority: int
    advert_int: float
    primary_ip: str
    vips: tuple[str, ...] = ()
    interface: str = ""
    version: int = 2
    initial_state: str = "BACKUP"
    nopreempt: bool = False
    preempt_delay: float = 0.0
    garp_master_delay: float = 5.0  # Keepalived's default
    garp_master_repeat: int = 5  # Keepalived's default
    garp_master_refresh: float = 0.0  # Keepalived's default: no refresh
    garp_master_refresh_repeat: int = 1
    track_scripts: tuple[tuple[str, int], ...] = ()  # (name, weight); weight 0: failure => FAULT
    track_interfaces: tuple[tuple[str, int], ...] = ()
    dont_track_primary: bool = False  # Keepalived's: the own interface down does not mean FAULT
    # What the packet rules (protocol.py) and the I/O layer need: one object per instance.
    auth_pass: str | None = None  # VRRPv2 PASS authentication (RFC 3768 5.3.6)
    unicast_peers: tuple[str, ...] = ()  # empty: multicast (RFC 3768 5.2.2)
    check_addresses: bool = True  # False: Keepalived's vrrp_skip_check_adv_addr
    vip_devices: tuple[tuple[str, str], ...] = ()  # (address/prefix, device) of each VIP
    notify_scripts: tuple[tuple[str, str], ...] = ()  # (MASTER|BACKUP|FAULT|STOP|ANY, command)
    garp_interval: float = 0.0  # vrrp_garp_interval: pause between the GARPs of one burst

    def __post_init__(self) -> None:
        if not 1 <= self.vrid <= 255:
            raise ValueError("virtual_router_id must be 1-255")
        if not 1 <= self.priority <= 255:
            raise ValueError("priority must be 1-255")
        if self.advert_int <= 0:
            raise ValueError("advert_int must be positive")
        if self.version not in (2, 3):
            raise ValueError("version must be 2 or 3")
        if self.version == 3 and not 1 <= round(self.advert_int * 100) <= MAX_ADVERT_CENTISECONDS:
            raise ValueError("VRRPv3 advert_int must be 0.01-40.95 s (RFC 5798 5.2.7: 1-4095 centiseconds)")
        if self.version == 2 and (self.advert_int != int(self.advert_int) or not 1 <= self.advert_int <= 255):
            raise ValueError("VRRPv2 advert_int must be 1-255 whole seconds (RFC 3768 5.3.7)")


@dataclass
class Stats:
    transitions: int = 0
    state_since: float | None = None
    master_since: float | None = None
    last_failover: float | None = None  # when this node last became MASTER
    master_ip: str | None = None  # the master last heard from (or ourselves)
    last_reason: str = ""
    peers: dict = field(default_factory=dict)  # src -> (priority, last seen)


# --- the table -----------------------------------------------------------------------------------

_S = State
_E = Event
# (state, event) -> (next state, handler, reason). The next state is data: the dispatcher moves
# there (StateChanged first) and the handler only adds the actions and timers of that move. An
# event without an entry raises UnexpectedEvent; the entries with _ignore say where an event is
# harmless on purpose (RFC 3768 6.4: INIT and FAULT do not take part in the election).
TRANSITIONS: dict[tuple[State, Event], tuple[State, str, str]] = {
    (_S.INIT, _E.START): (_S.BACKUP, "_start_backup", "start"),
    (_S.INIT, _E.START_OWNER): (_S.MASTER, "_become_master", "start as address owner"),
    (_S.INIT, _E.START_FAULTED): (_S.FAULT, "_start_fault", "start with a failed check"),
    (_S.INIT, _E.ADVERT_HIGHER): (_S.INIT, "_ignore", ""),
    (_S.INIT, _E.ADVERT_LOWER): (_S.INIT, "_ignore", ""),
    (_S.INIT, _E.ADVERT_STOP): (_S.INIT, "_ignore", ""),
    (_S.INIT, _E.PRIORITY_CHANGED): (_S.INIT, "_ignore", ""),
    (_S.INIT, _E.SHUTDOWN): (_S.INIT, "_ignore", ""),
    (_S.INIT, _E.RELOAD): (_S.INIT, "_on_reload", ""),
    (_S.BACKUP, _E.ADVERT_HIGHER): (_S.BACKUP, "_backup_follow", ""),
    (_S.BACKUP, _E.ADVERT_LOWER): (_S.BACKUP, "_backup_on_lower", ""),
    (_S.BACKUP, _E.ADVERT_STOP): (_S.BACKUP, "_backup_on_stop", ""),
    (_S.BACKUP, _E.MASTER_DOWN): (_S.MASTER, "_become_master", "master down timer expired"),
    (_S.BACKUP, _E.PRIORITY_CHANGED): (_S.BACKUP, "_ignore", ""),
    (_S.BACKUP, _E.FAULT): (_S.FAULT, "_enter_fault", "{reason}"),
    (_S.BACKUP, _E.SHUTDOWN): (_S.INIT, "_stop", "shutdown"),
    (_S.BACKUP, _E.RELOAD): (_S.BACKUP, "_on_reload", ""),
    (_S.MASTER, _E.ADVERT_HIGHER): (_S.BACKUP, "_master_step_down", "higher priority advert from {src}"),
    (_S.MASTER, _E.ADVERT_LOWER): (_S.MASTER, "_master_answer", ""),
    (_S.MASTER, _E.ADVERT_STOP): (_S.MASTER, "_master_send_advert", ""),
    (_S.MASTER, _E.ADVER_TIMER): (_S.MASTER, "_master_send_advert", ""),
    (_S.MASTER, _E.GARP_DELAY): (_S.MASTER, "_garp_delayed", ""),
    (_S.MASTER, _E.GARP_REFRESH): (_S.MASTER, "_garp_refresh", ""),
    (_S.MASTER, _E.PRIORITY_CHANGED): (_S.MASTER, "_master_send_advert", ""),
    (_S.MASTER, _E.FAULT): (_S.FAULT, "_master_enter_fault", "{reason}"),
    (_S.MASTER, _E.SHUTDOWN): (_S.INIT, "_master_stop", "shutdown"),
    (_S.MASTER, _E.RELOAD): (_S.MASTER, "_on_reload", ""),
    (_S.FAULT, _E.ADVERT_HIGHER): (_S.FAULT, "_ignore", ""),
    (_S.FAULT, _E.ADVERT_LOWER): (_S.FAULT, "_ignore", ""),
    (_S.FAULT, _E.ADVERT_STOP): (_S.FAULT, "_ignore", ""),
    (_S.FAULT, _E.PRIORITY_CHANGED): (_S.FAULT, "_ignore", ""),
    (_S.FAULT, _E.RECOVER): (_S.BACKUP, "_recover_backup", "tracked checks recovered"),
    (_S.FAULT, _E.RECOVER_OWNER): (_S.MASTER, "_become_master", "recovered, address owner"),
    (_S.FAULT, _E.SHUTDOWN): (_S.INIT, "_stop", "shutdown"),
    (_S.FAULT, _E.RELOAD): (_S.FAULT, "_on_reload", ""),
}

# Timer name -> the event it raises, in the order they are served when due together.
TIMER_EVENTS = (
    ("master_down", Event.MASTER_DOWN),
    ("adver", Event.ADVER_TIMER),
    ("garp_delay", Event.GARP_DELAY),
    ("garp_refresh", Event.GARP_REFRESH),
)


def next_state(state: State, event: Event) -> State:
    """The table as a function: where ``event`` takes an instance in ``state``."""
    try:
        return TRANSITIONS[(state, event)][0]
    except KeyError:
        raise UnexpectedEvent(f"no transition for {event.value} in {state.value}") from None


def advert_event(state: State, advert, src: str, our_priority: int, our_ip: str) -> Event:
    """Classify a received (already accepted) advert against our effective priority: priority 0
    (RFC 3768 6.4.2/6.4.3), one that wins the election (ADVERT_HIGHER) or one that loses it. A
    BACKUP follows an equal priority (RFC 3768 6.4.2, Keepalived: ``priority >= effective``); a
    MASTER breaks the tie by the higher primary address (RFC 3768 6.4.3)."""
    if advert.priority == PRIORITY_STOP:
        return Event.ADVERT_STOP
    if advert.priority > our_priority:
        return Event.ADVERT_HIGHER
    if advert.priority == our_priority and (
        state != State.MASTER or socket.inet_aton(src) > socket.inet_aton(our_ip)  # numeric order of the octets
    ):
        return Event.ADVERT_HIGHER
    return Event.ADVERT_LOWER


class VrrpInstance:
    """One VRRP instance (one VRID on one interface)."""

    def __init__(self, config: MachineConfig) -> None:
        self.config = config
        self.state = State.INIT
        self.stats = Stats()
        self.master_adver_interval = config.advert_int  # RFC 5798 6.1: learnt from the master
        self.preempt_time: float | None = None
        self._timers: dict[str, float] = {}
        self._track_ok: dict[str, bool] = {}
        self._iface_up: dict[str, bool] = {}
        self.internal_error: str | None = None  # an I/O failure the daemon reported (see set_error)

    # --- derived values (RFC 3768 6.1, RFC 5798 6.1) ------------------------------------------

    @property
    def effective_priority(self) -> int:
        """Base priority plus the track_script / track_interface weights (Keepalived): a positive
        weight is added while the check succeeds, a negative one while it fails; the result stays
        in 1..254. The address owner (255) is not changed by weights."""
        base = self.config.priority
        if base == PRIORITY_OWNER:
            return base
        total = base
        for name, weight in self.config.track_scripts:
            total += _weight_applied(weight, self._track_ok.get(name, True))
        for name, weight in self.config.track_interfaces:
            total += _weight_applied(weight, self._iface_up.get(name, True))
        return max(1, min(254, total))

    @property
    def fault_reason(self) -> str | None:
        """Why the instance must be in FAULT, or None: a weight-0 tracked script failing, a
        weight-0 tracked interface (or the instance's own interface) down, or an internal error."""
        if self.internal_error:
            return f"internal error: {self.internal_error}"
        for name, weight in self.config.track_scripts:
            if weight == 0 and not self._track_ok.get(name, True):
                kind, _sep, short = name.rpartition(":")  # config.py names a vrrp_track_process process:NAME
                return f"track_process {short} failed" if kind == "process" else f"track_script {name} failed"
        for name, weight in self.config.track_interfaces:
            if weight == 0 and not self._iface_up.get(name, True):
                return f"track_interface {name} down"
        own = self.config.interface
        if own and not self.config.dont_track_primary and not self._iface_up.get(own, True):
            return f"interface {self.config.interface} down"
        return None

    @property
    def faulted(self) -> bool:
        return self.fault_reason is not None

    def skew_time(self, priority: int | None = None) -> float:
        prio = self.effective_priority if priority is None else priority
        return skew_time(self._down_interval_base, prio, self.config.version)

    @property
    def master_down_interval(self) -> float:
        return master_down_interval(self._down_interval_base, self.effective_priority, self.config.version)

    @property
    def _down_interval_base(self) -> float:
        # VRRPv3 backups time the master by the interval it advertises (RFC 5798 6.4.2).
        return self.master_adver_interval if self.config.version == 3 else self.config.advert_int

    @property
    def next_deadline(self) -> float | None:
        return min(self._timers.values()) if self._timers else None

    # --- public event API ------------------------------------------------------------------------

    def start(self, now: float) -> list:
        if self.faulted:
            event = Event.START_FAULTED
        elif self.config.priority == PRIORITY_OWNER:
            event = Event.START_OWNER
        else:
            event = Event.START
        return self._dispatch(event, now)

    def advert_received(self, now: float, advert, src: str) -> list:
        """``advert`` has ``priority`` and ``interval`` (seconds), e.g. a packets.VrrpV2Advert that
        passed protocol.accept; ``src`` is the sender's IP address."""
        self.stats.peers[src] = (advert.priority, now)
        event = advert_event(self.state, advert, src, self.effective_priority, self.config.primary_ip)
        return self._dispatch(event, now, advert=advert, src=src)

    def tick(self, now: float) -> list:
        actions: list = []
        for name, event in TIMER_EVENTS:
            deadline = self._timers.get(name)
            if deadline is not None and deadline <= now:
                del self._timers[name]
                actions.extend(self._dispatch(event, now, set_timer=False))
        actions.append(SetTimer(self.next_deadline))
        return actions

    def track_changed(self, now: float, name: str, ok: bool) -> list:
        return self._tracking_changed(now, lambda: self._track_ok.__setitem__(name, ok))

    def interface_changed(self, now: float, name: str, up: bool) -> list:
        return self._tracking_changed(now, lambda: self._iface_up.__setitem__(name, up))

    def set_error(self, now: float, error: str | None) -> list:
        """An I/O failure while carrying out this instance's actions (``error``) puts it in FAULT,
        as a failed weight-0 check does; None (the cause has gone) lets it recover."""
        return self._tracking_changed(now, lambda: setattr(self, "internal_error", error))

    def shutdown(self, now: float) -> list:
        return self._dispatch(Event.SHUTDOWN, now)

    def reload(self, now: float, config: MachineConfig) -> list:
        """Apply a new configuration of the same instance without a state change (SIGHUP)."""
        before = self.effective_priority
        actions = self._dispatch(Event.RELOAD, now, config=config, set_timer=False)
        actions.extend(self._after_tracking(now, before))
        actions.append(SetTimer(self.next_deadline))
        return actions

    # --- the daemon's fast path (fastpath.py) ------------------------------------------------------

    def adver_only(self) -> tuple[int, float, float] | None:
        """What the next tick() does when it can only be this MASTER's Adver_Timer: (the priority
        it advertises, the Adver_Timer's deadline, the earliest other timer or inf), or None when
        the next tick may do anything else. For any ``now`` from the Adver_Timer until (not at) that other
        timer, tick(now) answers [SendAdvert(priority), SetTimer(min(now + advert_int, other))]
        and changes nothing but the Adver_Timer; fast_adver(now) makes the same change without
        the dispatch (test_fastpath.py drives both on the same inputs and compares them)."""
        adver = self._timers.get("adver")
        if self.state is not State.MASTER or adver is None:
            return None
        other = min((t for name, t in self._timers.items() if name != "adver"), default=math.inf)
        if other <= adver:
            return None
        return self.effective_priority, adver, other

    def fast_adver(self, now: float) -> float:
        """The Adver_Timer's move alone (see adver_only): restart it; its new deadline."""
        deadline = self._timers["adver"] = now + self.config.advert_int
        return deadline

    def follow_only(self, advert, src: str) -> float | None:
        """Called after advert_received(advert, src): when another copy of that advert (same
        sender, priority and interval) can only move this BACKUP's Master_Down_Timer, the
        Master_Down_Interval it moves it by; else None. A copy arriving at ``now`` is then
        advert_received(now, advert, src) = [SetTimer(now + interval)] with the peer's last-seen
        time as the only other change, and fast_follow(now, ...) makes the same change without
        the dispatch (test_fastpath.py compares them)."""
        if self.state is not State.BACKUP or self.preempt_time is not None or self.stats.master_ip != src:
            return None
        event = advert_event(self.state, advert, src, self.effective_priority, self.config.primary_ip)
        if event is not Event.ADVERT_HIGHER:
            return None
        if self.config.version == 3 and self.master_adver_interval != advert.interval:
            return None
        if len(self._timers) != 1 or "master_down" not in self._timers:
            return None
        return self.master_down_interval

    def fast_follow(self, now: float, src: str, priority: int, interval: float) -> float:
        """A copy of the advert follow_only was asked about, from ``src`` at ``priority``,
        arriving at ``now``; the Master_Down_Timer's new deadline."""
        self.stats.peers[src] = (priority, now)
        deadline = self._timers["master_down"] = now + interval
        return deadline

    # --- dispatch ----------------------------------------------------------------------------------

    def _dispatch(self, event: Event, now: float, set_timer: bool = True, **kwargs) -> list:
        target = next_state(self.state, event)
        _unused, handler, reason = TRANSITIONS[(self.state, event)]
        actions: list = []
        if target != self.state:
            actions.append(self._goto(target, now, reason.format(reason=self.fault_reason, **kwargs)))
        actions.extend(getattr(self, handler)(now, **kwargs))
        if set_timer:
            actions.append(SetTimer(self.next_deadline))
        return actions

    def _goto(self, new: State, now: float, reason: str) -> StateChanged:
        old = self.state
        self.state = new
        self.stats.transitions += 1
        self.stats.state_since = now
        self.stats.last_reason = reason
        self.stats.master_since = now if new == State.MASTER else None
        self._timers.clear()
        self.preempt_time = None
        return StateChanged(old, new, reason)

    def _tracking_changed(self, now: float, update) -> list:
        before = self.effective_priority
        update()
        actions = self._after_tracking(now, before)
        actions.append(SetTimer(self.next_deadline))
        return actions

    def _after_tracking(self, now: float, old_priority: int) -> list:
        if self.faulted and self.state in (State.BACKUP, State.MASTER):
            return self._dispatch(Event.FAULT, now, set_timer=False)
        if not self.faulted and self.state == State.FAULT:
            event = Event.RECOVER_OWNER if self.config.priority == PRIORITY_OWNER else Event.RECOVER
            return self._dispatch(event, now, set_timer=False)
        if self.effective_priority != old_priority:
            return self._dispatch(Event.PRIORITY_CHANGED, now, set_timer=False)
        return []

    # --- handlers: the actions and timers of each move (the state is already the new one) --------

    def _ignore(self, now: float, **_unused) -> list:
        return []

    def _start_backup(self, now: float) -> list:
        # Crash recovery at start: a VIP left configured by an earlier run must go (a SIGKILLed
        # master leaves it behind, see docs/lab.md); becoming MASTER adds it again. RFC 3768 6.4.1:
        # BACKUP with the Master_Down_Timer (Keepalived 2.2.7 does the same with `state MASTER`:
        # "Entering BACKUP STATE (init)").
        actions: list = [RemoveVips(self.config.vips)] if self.config.vips else []
        self._timers["master_down"] = now + self.master_down_interval
        actions.append(RunNotify("BACKUP", self.effective_priority))
        return actions

    def _recover_backup(self, now: float) -> list:
        self._timers["master_down"] = now + self.master_down_interval
        return [RunNotify("BACKUP", self.effective_priority)]

    def _start_fault(self, now: float) -> list:
        actions: list = [RemoveVips(self.config.vips)] if self.config.vips else []
        actions.append(RunNotify("FAULT", self.effective_priority))
        return actions

    def _become_master(self, now: float) -> list:
        cfg = self.config
        self.stats.last_failover = now
        self.stats.master_ip = cfg.primary_ip
        # RFC 3768 6.4.2: send an ADVERTISEMENT, broadcast gratuitous ARP, start the Adver_Timer.
        actions: list = [SendAdvert(self.effective_priority)]
        if cfg.vips:
            actions.append(AddVips(cfg.vips))
            actions.append(SendGarp("master", max(1, cfg.garp_master_repeat)))
        actions.append(RunNotify("MASTER", self.effective_priority))
        self._timers["adver"] = now + cfg.advert_int
        if cfg.vips and cfg.garp_master_delay > 0:
            self._timers["garp_delay"] = now + cfg.garp_master_delay
        if cfg.vips and cfg.garp_master_refresh > 0:
            self._timers["garp_refresh"] = now + cfg.garp_master_refresh
        return actions

    def _leave_master(self, priority_zero: bool) -> list:
        actions: list = [SendAdvert(PRIORITY_STOP)] if priority_zero else []
        if self.config.vips:
            actions.append(RemoveVips(self.config.vips))
        return actions

    def _backup_on_stop(self, now: float, advert, src: str) -> list:
        # RFC 3768 6.4.2: the master is leaving: take over after Skew_Time only.
        self._timers["master_down"] = now + self.skew_time()
        return []

    def _backup_follow(self, now: float, advert, src: str) -> list:
        # RFC 3768 6.4.2: a master at least as good as us: reset the Master_Down_Timer.
        self.preempt_time = None
        return self._backup_accept(now, advert, src)

    def _backup_on_lower(self, now: float, advert, src: str) -> list:
        delaying = self.config.preempt_delay > 0 and (self.preempt_time is None or self.preempt_time > now)
        if self.config.nopreempt or delaying:
            if self.config.preempt_delay > 0 and self.preempt_time is None:
                # Keepalived's preempt_delay: wait this long after seeing a lower priority master.
                self.preempt_time = now + self.config.preempt_delay
            return self._backup_accept(now, advert, src)
        # RFC 3768 6.4.2, preempt: discard the advert, the Master_Down_Timer will fire.
        return []

    def _backup_accept(self, now: float, advert, src: str) -> list:
        if self.config.version == 3:
            self.master_adver_interval = advert.interval  # RFC 5798 6.4.2
        self.stats.master_ip = src
        self._timers["master_down"] = now + self.master_down_interval
        return []

    def _master_step_down(self, now: float, advert, src: str) -> list:
        # RFC 3768 6.4.3: step down, start the Master_Down_Timer.
        actions = self._leave_master(priority_zero=False)
        if self.config.version == 3:
            self.master_adver_interval = advert.interval
        self.stats.master_ip = src
        self._timers["master_down"] = now + self.master_down_interval
        actions.append(RunNotify("BACKUP", self.effective_priority))
        return actions

    def _master_answer(self, now: float, advert, src: str) -> list:
        # Lower priority (or equal and lower address): RFC 3768 says discard; Keepalived answers at
        # once with its own advert to force the other side down quickly. We do the same.
        return [SendAdvert(self.effective_priority)]

    def _master_send_advert(self, now: float, **_unused) -> list:
        # The Adver_Timer, a changed priority, or (RFC 3768 6.4.3) another master leaving:
        # advertise at once and restart the Adver_Timer.
        self._timers["adver"] = now + self.config.advert_int
        return [SendAdvert(self.effective_priority)]

    def _garp_delayed(self, now: float) -> list:
        # Keepalived's garp_master_delay: a second burst this long after becoming MASTER.
        return [SendGarp("delayed", max(1, self.config.garp_master_repeat))]

    def _garp_refresh(self, now: float) -> list:
        # Keepalived's garp_master_refresh: periodic GARP while MASTER (R4c).
        self._timers["garp_refresh"] = now + self.config.garp_master_refresh
        return [SendGarp("refresh", max(1, self.config.garp_master_refresh_repeat))]

    def _enter_fault(self, now: float) -> list:
        return [RunNotify("FAULT", self.effective_priority)]

    def _master_enter_fault(self, now: float) -> list:
        return [*self._leave_master(priority_zero=True), RunNotify("FAULT", self.effective_priority)]

    def _stop(self, now: float) -> list:
        return [RunNotify("STOP", self.effective_priority)]

    def _master_stop(self, now: float) -> list:
        # RFC 3768 6.4.3 Shutdown: send an ADVERTISEMENT with priority 0.
        return [*self._leave_master(priority_zero=True), RunNotify("STOP", self.effective_priority)]

    def _on_reload(self, now: float, config: MachineConfig) -> list:
        old = self.config
        self.config = config
        if config.version != old.version or config.advert_int != old.advert_int:
            self.master_adver_interval = config.advert_int
        known_scripts = {name for name, _unused in config.track_scripts}
        self._track_ok = {k: v for k, v in self._track_ok.items() if k in known_scripts}
        actions: list = []
        if self.state == State.MASTER:
            added = tuple(v for v in config.vips if v not in old.vips)
            removed = tuple(v for v in old.vips if v not in config.vips)
            if removed:
                actions.append(RemoveVips(removed))
            if added:
                actions.append(AddVips(added))
                actions.append(SendGarp("reload", max(1, config.garp_master_repeat)))
            if config.advert_int != old.advert_int:
                self._timers["adver"] = now + config.advert_int
            if config.garp_master_refresh != old.garp_master_refresh:
                self._timers.pop("garp_refresh", None)
                if config.vips and config.garp_master_refresh > 0:
                    self._timers["garp_refresh"] = now + config.garp_master_refresh
        elif self.state == State.BACKUP and "master_down" in self._timers:
            self._timers["master_down"] = min(self._timers["master_down"], now + self.master_down_interval)
        return actions


def _weight_applied(weight: int, ok: bool) -> int:
    """Keepalived: a positive weight counts while the check is OK, a negative one while it fails."""
    if (weight > 0 and ok) or (weight < 0 and not ok):
        return weight
    return 0


def with_changes(config: MachineConfig, **changes) -> MachineConfig:
    """A copy of ``config`` with some fields changed (handy for reload)."""
    return replace(config, **changes)
