"""The VRRP instance state machine, sans-IO (in the style of python-hyper/h11).

No socket, no clock, no subprocess here: every method takes the current time ``now`` (seconds,
any monotonic origin) and returns a list of action objects for the I/O layer to carry out. All
transitions are data in :data:`TRANSITIONS`: ``(state, event) -> (handler, allowed next states)``;
an event without an entry is ignored in that state.

Protocol rules: RFC 3768 (VRRPv2) section 6, RFC 5798 (VRRPv3) section 6, with Keepalived's
behaviour where the project relies on it (guide point R3: nopreempt, preempt_delay, track_script
weights, garp_master_delay / garp_master_repeat / garp_master_refresh; R4c: the GARP parameters).
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field, replace

PRIORITY_STOP = 0
PRIORITY_OWNER = 255


class State(str, enum.Enum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"


class Event(str, enum.Enum):
    START = "start"
    ADVERT = "advert"
    MASTER_DOWN = "master_down_timer"
    ADVER_TIMER = "adver_timer"
    GARP_DELAY = "garp_delay_timer"
    GARP_REFRESH = "garp_refresh_timer"
    FAULT = "fault"
    RECOVER = "recover"
    PRIORITY_CHANGED = "priority_changed"
    SHUTDOWN = "shutdown"
    RELOAD = "reload"


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

    def __post_init__(self) -> None:
        if not 1 <= self.vrid <= 255:
            raise ValueError("virtual_router_id must be 1-255")
        if not 1 <= self.priority <= 255:
            raise ValueError("priority must be 1-255")
        if self.advert_int <= 0:
            raise ValueError("advert_int must be positive")
        if self.version not in (2, 3):
            raise ValueError("version must be 2 or 3")


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
TRANSITIONS: dict[tuple[State, Event], tuple[str, frozenset]] = {
    (_S.INIT, _E.START): ("_on_start", frozenset({_S.BACKUP, _S.MASTER, _S.FAULT})),
    (_S.INIT, _E.RELOAD): ("_on_reload", frozenset({_S.INIT})),
    (_S.BACKUP, _E.ADVERT): ("_backup_on_advert", frozenset({_S.BACKUP})),
    (_S.BACKUP, _E.MASTER_DOWN): ("_become_master", frozenset({_S.MASTER})),
    (_S.BACKUP, _E.FAULT): ("_enter_fault", frozenset({_S.FAULT})),
    (_S.BACKUP, _E.SHUTDOWN): ("_stop", frozenset({_S.INIT})),
    (_S.BACKUP, _E.RELOAD): ("_on_reload", frozenset({_S.BACKUP})),
    (_S.MASTER, _E.ADVERT): ("_master_on_advert", frozenset({_S.MASTER, _S.BACKUP})),
    (_S.MASTER, _E.ADVER_TIMER): ("_master_send_advert", frozenset({_S.MASTER})),
    (_S.MASTER, _E.GARP_DELAY): ("_garp_delayed", frozenset({_S.MASTER})),
    (_S.MASTER, _E.GARP_REFRESH): ("_garp_refresh", frozenset({_S.MASTER})),
    (_S.MASTER, _E.PRIORITY_CHANGED): ("_master_send_advert", frozenset({_S.MASTER})),
    (_S.MASTER, _E.FAULT): ("_enter_fault", frozenset({_S.FAULT})),
    (_S.MASTER, _E.SHUTDOWN): ("_stop", frozenset({_S.INIT})),
    (_S.MASTER, _E.RELOAD): ("_on_reload", frozenset({_S.MASTER})),
    (_S.FAULT, _E.RECOVER): ("_recover", frozenset({_S.BACKUP, _S.MASTER})),
    (_S.FAULT, _E.SHUTDOWN): ("_stop", frozenset({_S.INIT})),
    (_S.FAULT, _E.RELOAD): ("_on_reload", frozenset({_S.FAULT})),
}

# Timer name -> the event it raises, in the order they are served when due together.
TIMER_EVENTS = (
    ("master_down", Event.MASTER_DOWN),
    ("adver", Event.ADVER_TIMER),
    ("garp_delay", Event.GARP_DELAY),
    ("garp_refresh", Event.GARP_REFRESH),
)


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
    def faulted(self) -> bool:
        """A weight-0 tracked script failing, or a weight-0 tracked interface (or the instance's
        own interface) down."""
        for name, weight in self.config.track_scripts:
            if weight == 0 and not self._track_ok.get(name, True):
                return True
        for name, weight in self.config.track_interfaces:
            if weight == 0 and not self._iface_up.get(name, True):
                return True
        return bool(self.config.interface) and not self._iface_up.get(self.config.interface, True)

    def skew_time(self, priority: int | None = None) -> float:
        prio = self.effective_priority if priority is None else priority
        if self.config.version == 3:
            # RFC 5798 6.1: (((256 - priority) * Master_Adver_Interval) / 256)
            return ((256 - prio) * self.master_adver_interval) / 256
        # RFC 3768 6.1: Skew_Time = ((256 - Priority) / 256) seconds, whatever the advert interval
        # (Keepalived's VRRPv2 timer does the same; only VRRPv3 scales it by the interval).
        return (256 - prio) / 256

    @property
    def master_down_interval(self) -> float:
        interval = self.master_adver_interval if self.config.version == 3 else self.config.advert_int
        return 3 * interval + self.skew_time()

    @property
    def next_deadline(self) -> float | None:
        return min(self._timers.values()) if self._timers else None

    # --- public event API ------------------------------------------------------------------------

    def start(self, now: float) -> list:
        return self._dispatch(Event.START, now)

    def advert_received(self, now: float, advert, src: str) -> list:
        """``advert`` has ``priority`` and ``interval`` (seconds), e.g. a packets.VrrpV2Advert that
        already passed packets.check_advert; ``src`` is the sender's IP address."""
        self.stats.peers[src] = (advert.priority, now)
        return self._dispatch(Event.ADVERT, now, advert=advert, src=src)

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

    def shutdown(self, now: float) -> list:
        return self._dispatch(Event.SHUTDOWN, now)

    def reload(self, now: float, config: MachineConfig) -> list:
        """Apply a new configuration of the same instance without a state change (SIGHUP)."""
        before = (self.faulted, self.effective_priority)
        actions = self._dispatch(Event.RELOAD, now, config=config, set_timer=False)
        actions.extend(self._after_tracking(now, before))
        actions.append(SetTimer(self.next_deadline))
        return actions

    # --- dispatch ----------------------------------------------------------------------------------

    def _dispatch(self, event: Event, now: float, set_timer: bool = True, **kwargs) -> list:
        entry = TRANSITIONS.get((self.state, event))
        actions: list = []
        if entry is not None:
            handler, allowed = entry
            before = self.state
            actions = getattr(self, handler)(now, **kwargs)
            if self.state not in allowed:
                raise AssertionError(f"{before}+{event} -> {self.state} is not in the table")
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
        before = (self.faulted, self.effective_priority)
        update()
        actions = self._after_tracking(now, before)
        actions.append(SetTimer(self.next_deadline))
        return actions

    def _after_tracking(self, now: float, before: tuple) -> list:
        _was_faulted, old_priority = before
        if self.faulted and self.state in (State.BACKUP, State.MASTER):
            return self._dispatch(Event.FAULT, now, set_timer=False)
        if not self.faulted and self.state == State.FAULT:
            return self._dispatch(Event.RECOVER, now, set_timer=False)
        if self.effective_priority != old_priority:
            return self._dispatch(Event.PRIORITY_CHANGED, now, set_timer=False)
        return []

    # --- handlers ----------------------------------------------------------------------------------

    def _on_start(self, now: float) -> list:
        # Crash recovery: a VIP left configured by an earlier run must go (a SIGKILLed master
        # leaves it behind, see LAB.md); becoming MASTER adds it again.
        actions: list = [RemoveVips(self.config.vips)] if self.config.vips else []
        if self.faulted:
            actions.append(self._goto(State.FAULT, now, "start with a failed check"))
            actions.append(RunNotify("FAULT", self.effective_priority))
            return actions
        if self.config.priority == PRIORITY_OWNER:
            # RFC 3768 6.4.1: the address owner becomes MASTER at once.
            return actions + self._become_master(now, reason="start as address owner")
        # RFC 3768 6.4.1 otherwise: BACKUP with the Master_Down_Timer. Keepalived 2.2.7 does the
        # same with `state MASTER` (seen on the wire: "Entering BACKUP STATE (init)").
        actions.append(self._goto(State.BACKUP, now, "start"))
        self._timers["master_down"] = now + self.master_down_interval
        actions.append(RunNotify("BACKUP", self.effective_priority))
        return actions

    def _become_master(self, now: float, reason: str = "master down timer expired") -> list:
        cfg = self.config
        changed = self._goto(State.MASTER, now, reason)
        self.stats.last_failover = now
        self.stats.master_ip = cfg.primary_ip
        # RFC 3768 6.4.2: send an ADVERTISEMENT, broadcast gratuitous ARP, start the Adver_Timer.
        actions: list = [changed, SendAdvert(self.effective_priority)]
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

    def _backup_on_advert(self, now: float, advert, src: str) -> list:
        prio = self.effective_priority
        if advert.priority == PRIORITY_STOP:
            # RFC 3768 6.4.2: the master is leaving: take over after Skew_Time only.
            self._timers["master_down"] = now + self.skew_time()
            return []
        lower = advert.priority < prio
        delaying = self.config.preempt_delay > 0 and (self.preempt_time is None or self.preempt_time > now)
        if self.config.nopreempt or not lower or delaying:
            if lower and self.config.preempt_delay > 0 and self.preempt_time is None:
                # Keepalived's preempt_delay: wait this long after seeing a lower priority master.
                self.preempt_time = now + self.config.preempt_delay
            if not lower:
                self.preempt_time = None
            if self.config.version == 3:
                self.master_adver_interval = advert.interval  # RFC 5798 6.4.2
            self.stats.master_ip = src
            self._timers["master_down"] = now + self.master_down_interval
        # else: RFC 3768 6.4.2, preempt: discard the advert, the Master_Down_Timer will fire.
        return []

    def _master_on_advert(self, now: float, advert, src: str) -> list:
        prio = self.effective_priority
        if advert.priority == PRIORITY_STOP:
            # RFC 3768 6.4.3: another master is leaving: advertise at once, restart Adver_Timer.
            self._timers["adver"] = now + self.config.advert_int
            return [SendAdvert(prio)]
        higher = advert.priority > prio or (
            advert.priority == prio and ipaddress.IPv4Address(src) > ipaddress.IPv4Address(self.config.primary_ip)
        )
        if higher:
            # RFC 3768 6.4.3: step down, start the Master_Down_Timer.
            actions: list = [self._goto(State.BACKUP, now, f"higher priority advert from {src}")]
            actions.extend(self._leave_master(priority_zero=False))
            if self.config.version == 3:
                self.master_adver_interval = advert.interval
            self.stats.master_ip = src
            self._timers["master_down"] = now + self.master_down_interval
            actions.append(RunNotify("BACKUP", prio))
            return actions
        # Lower priority (or equal and lower address): RFC 3768 says discard; Keepalived answers at
        # once with its own advert to force the other side down quickly. We do the same.
        return [SendAdvert(prio)]

    def _master_send_advert(self, now: float) -> list:
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
        was_master = self.state == State.MASTER
        actions: list = [self._goto(State.FAULT, now, "tracked check or interface failed")]
        if was_master:
            actions.extend(self._leave_master(priority_zero=True))
        actions.append(RunNotify("FAULT", self.effective_priority))
        return actions

    def _recover(self, now: float) -> list:
        if self.config.priority == PRIORITY_OWNER:
            return self._become_master(now, reason="recovered, address owner")
        actions: list = [self._goto(State.BACKUP, now, "tracked checks recovered")]
        self._timers["master_down"] = now + self.master_down_interval
        actions.append(RunNotify("BACKUP", self.effective_priority))
        return actions

    def _stop(self, now: float) -> list:
        was_master = self.state == State.MASTER
        actions: list = [self._goto(State.INIT, now, "shutdown")]
        if was_master:
            # RFC 3768 6.4.3 Shutdown: send an ADVERTISEMENT with priority 0.
            actions.extend(self._leave_master(priority_zero=True))
        actions.append(RunNotify("STOP", self.effective_priority))
        return actions

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
