"""The agent's event loop: feeds the sans-IO machines (machine.py) with real time, sockets,
scripts and signals, and carries out the actions they return.

SIGHUP reloads the configuration without a state flap: the new instances are built first and
swapped in only when all of them could be; an invalid file or a failed build is logged, counted
(havip_vrrp_reload_failures_total) and the old instances keep running. SIGTERM/SIGINT shut down
cleanly: priority-0 advert, VIPs removed, notify STOP.

Nothing here may stop the adverts: metrics are served by non-blocking sockets with bounded
connections and time limits (status.MetricsServer); an exception while carrying out an
instance's actions puts that instance in FAULT (logged once, counted) and it tries again every
ERROR_RETRY seconds; dropped packets are counted per reason and logged at a bounded rate.

Idle cost (issue 13): the process wakes only for a VRRP timer or an input that needs an answer.
A MASTER wakes to send. A BACKUP (or FAULT) instance does not watch its VRRP socket: the kernel
queues the adverts with their arrival times and every wake-up reads them in one batch, first,
at those times, so the Master_Down_Timer is the one eager reading would give; a priority-0
advert, which must be answered within Skew_Time, wakes it through the receiver's urgent socket
(io_socket.VrrpReceiver). Script ends wake it through a pidfd instead of a polling timer.
Between the full turns, the steady states (a master's advert timer, a backup's batch of the same
advert) go through fastpath.py, which the machine's answer for those events bounds exactly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

from . import config as config_mod
from . import fastpath, io_addr, protocol, status
from .io_poll import EVENT_READ, Poller
from .io_proc import ProcessTracks
from .machine import (
    AddVips,
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
from .packets import DropError, decode_ip_packet
from .scripts import NotifyRunner, TrackScript, notify_commands

_ACTION_HANDLERS = {
    SetTimer: "_set_timer",
    SendAdvert: "_send_advert",
    AddVips: "_add_vips",
    RemoveVips: "_remove_vips",
    SendGarp: "_garp",
    RunNotify: "_notify",
    StateChanged: "_state_changed",
}
IFACE_POLL = 1.0  # seconds between interface state checks (track_interface, own interface)...
IFACE_POLL_NETLINK = 30.0  # ...or this, as a safety net, when link notifications arrive (io_link)
MAX_SLEEP = 10.0  # the loop sleeps until the next deadline, at most this long (signals wake it at once)
ERROR_RETRY = 5.0  # seconds an instance stays in FAULT after an internal error before it tries again
STATUS_INTERVAL = 5.0  # the status file follows the counters at most this often (state changes: at once)
DROP_LOG_WINDOW = 10.0  # seconds; at most DROP_LOG_LINES drop lines per window, then one summary
DROP_LOG_LINES = 5
VERDICTS_KEPT = 32  # packets judged and remembered (per configuration): a few peers and priorities
_OWN = "own advert"
CHILD_POLL = 0.1  # seconds between checks of a running script when pidfds are not available
_BATCHED_STATES = (State.BACKUP, State.FAULT)  # their adverts are read in batches (_watch_receivers)


def _quote(value: object) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def log(event: str, level: str = "info", **fields: object) -> None:
    """One structured key=value line on stderr (journald keeps it under the unit)."""
    parts = [f"level={level}", f"event={event}"] + [f"{k}={_quote(v)}" for k, v in fields.items()]
    sys.stderr.write(" ".join(parts) + "\n")
    sys.stderr.flush()


class Runtime:
    """One vrrp_instance: its machine (which holds the instance's only configuration object),
    its sockets and its counters."""

    def __init__(self, config: MachineConfig, sender=None, garp=None) -> None:
        """``sender``/``garp``: the sockets (tests pass their own); opened here by default."""
        from .io_arp import GarpSender  # noqa: PLC0415 - AF_PACKET only where it is used
        from .io_socket import VrrpSender  # noqa: PLC0415

        self.machine = VrrpInstance(config)
        self.sender = sender or VrrpSender(config.interface, config.primary_ip, config.unicast_peers)
        try:
            self.garp = garp or GarpSender(config.interface)
        except BaseException:
            self.sender.close()
            raise
        self.deadline: float | None = None
        self.sent = 0
        self.received = 0
        self.errors = 0  # internal errors (exceptions while carrying out actions)
        self.last_error: str | None = None  # logged once until it changes or clears
        self.retry_at: float | None = None
        self._adverts: dict = {}  # priority -> advert, for the configuration in _adverts_for
        self._adverts_for: MachineConfig | None = None

    @property
    def config(self) -> MachineConfig:
        return self.machine.config

    @property
    def name(self) -> str:
        return self.machine.config.name

    def advert(self, priority: int):
        """Our advert at ``priority`` (protocol.encode_advert), built once per configuration: a
        master at 0.1 s sends the same one ten times a second."""
        config = self.machine.config
        if self._adverts_for is not config:
            self._adverts, self._adverts_for = {}, config
        advert = self._adverts.get(priority)
        if advert is None:
            advert = self._adverts[priority] = protocol.encode_advert(config, priority)
        return advert

    def vip_targets(self, vips: tuple) -> list:
        by_addr = {cidr.split("/")[0]: (cidr, dev) for cidr, dev in self.config.vip_devices}
        return [by_addr.get(address, (f"{address}/32", self.config.interface)) for address in vips]

    def close(self) -> None:
        self.sender.close()
        self.garp.close()


class Daemon:
    def __init__(
        self,
        config_path: str,
        status_file: str = status.DEFAULT_STATUS_FILE,
        metrics_port: int | None = status.DEFAULT_METRICS_PORT,
        metrics_address: str = "127.0.0.1",
    ) -> None:
        self.config_path = config_path
        self.status_file = status_file
        self.metrics_port = metrics_port
        self.metrics_address = metrics_address
        self.selector = Poller()
        self.runtimes: dict = {}
        self.receivers: dict = {}  # interface -> VrrpReceiver
        self.tracks: dict = {}  # script name -> TrackScript
        self.processes = ProcessTracks(self.selector)  # vrrp_track_process (io_proc)
        self.notifier = NotifyRunner()
        self.dropped: dict = {}
        self.drop_window_end = 0.0
        self.drop_lines = 0
        self.drops_unlogged = 0
        self.reload_failures = 0
        self.io_timers: list = []  # (when, callable): GARP repeats spaced by vrrp_garp_interval
        self.iface_state: dict = {}
        self.next_iface_poll = 0.0
        self.iface_poll = IFACE_POLL
        self.eager: dict = {}  # interface -> True while its VRRP socket is watched (see _watch_receivers)
        self.lazy: list = []  # the other interfaces: their packets are read at every wake-up
        self.receivers_due = False  # a state changed: which sockets to watch may have too
        self.verdicts: dict = {}  # (interface, packet without ID and checksum) -> verdict (on_vrrp)
        self.child_fds: dict = {}  # pid -> pidfd of a running track script (readable when it ends)
        self.links = None  # io_link.LinkWatcher when rtnetlink is available
        self.metrics: status.MetricsServer | None = None
        self.conf: config_mod.KeepalivedConfig | None = None
        self.stopping = False
        self.reload_requested = False
        self.status_dirty = False
        self.status_due = 0.0
        self.chores_at = 0.0  # see next_wakeup
        self.fast: fastpath.AdvertFastPath | None = None  # armed after a full turn (step)
        self.follows: dict = {}  # interface -> fastpath.Follow: a BACKUP's steady master (on_vrrp)
        self.fed = 0  # inputs given to the machines (feed)
        self.started_wall = time.time()
        self.started_mono = time.monotonic()

    # --- time ----------------------------------------------------------------------------------------

    def wall(self, mono: float | None) -> float | None:
        return None if mono is None else self.started_wall + (mono - self.started_mono)

    # --- set-up --------------------------------------------------------------------------------------

    def setup(self) -> None:
        conf = config_mod.load(self.config_path)
        for warning in conf.warnings:
            log("config_warning", level="warning", detail=warning)
        rsock, wsock = os.pipe()
        os.set_blocking(rsock, False)
        os.set_blocking(wsock, False)
        self._wake_r = rsock
        signal.set_wakeup_fd(wsock)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        self.selector.register(rsock, EVENT_READ, ("wakeup", None))
        self._watch_links()
        if self.metrics_port is not None:
            self.metrics = status.MetricsServer(self.metrics_port, self.metrics_address, self.selector)
            log("metrics_listen", address=self.metrics_address, port=self.metrics.port)
        self._apply_config(conf, time.monotonic(), initial=True)

    def _watch_links(self) -> None:
        from .io_link import LinkWatcher  # noqa: PLC0415 - AF_NETLINK only where it is used

        try:
            self.links = LinkWatcher()
        except OSError as err:
            log("link_watch_unavailable", level="warning", error=err, poll=IFACE_POLL)
            return
        self.iface_poll = IFACE_POLL_NETLINK
        self.selector.register(self.links, EVENT_READ, ("link", None))

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            self.reload_requested = True
        else:
            self.stopping = True

    # --- configuration: build everything new first, then swap ----------------------------------------

    def _prepare(self, conf: config_mod.KeepalivedConfig) -> tuple:
        """Everything the new configuration needs that can fail (addresses, sockets), built
        beside the running instances: (reloaded configs, new runtimes, new receivers). Raises
        OSError/ConfigError after closing whatever it had opened; nothing running is touched."""
        from .io_socket import VrrpReceiver  # noqa: PLC0415

        reloaded: dict = {}
        built: dict = {}
        receivers: dict = {}
        try:
            for name, inst in conf.instances.items():
                src = inst.unicast_src_ip or io_addr.primary_address(inst.interface)
                if not src:
                    raise config_mod.ConfigError(
                        f"vrrp_instance {name}: interface {inst.interface} has no IPv4 address", conf.path, inst.line
                    )
                mc = conf.machine_config(name, src)
                old = self.runtimes.get(name)
                if old is not None and (old.config.interface, old.config.primary_ip) == (mc.interface, mc.primary_ip):
                    reloaded[name] = mc
                    continue
                built[name] = Runtime(mc)
                if mc.interface not in self.receivers and mc.interface not in receivers:
                    receivers[mc.interface] = VrrpReceiver(mc.interface, src, multicast=not mc.unicast_peers)
        except BaseException:
            for runtime in built.values():
                runtime.close()
            for receiver in receivers.values():
                receiver.close()
            raise
        return reloaded, built, receivers

    def _apply_config(self, conf: config_mod.KeepalivedConfig, now: float, initial: bool = False) -> None:
        reloaded, built, receivers = self._prepare(conf)
        # From here on nothing may fail half-way: the swap.
        self.conf = conf
        self.verdicts = {}  # judged against the old configuration
        self.follows = {}
        self._tracks_for(conf)
        self.processes.configure(conf.track_processes, now)
        for interface, receiver in receivers.items():
            self.receivers[interface] = receiver
            if receiver.urgent is not None:
                self.selector.register(receiver.urgent, EVENT_READ, ("urgent", interface))
        self.receivers_due = True
        for name in [n for n in self.runtimes if n not in reloaded]:
            runtime = self.runtimes.pop(name)
            self.feed(runtime, now, runtime.machine.shutdown)
            runtime.close()
            log("instance_removed" if name not in conf.instances else "instance_moved", instance=name)
        self.iface_state = {}
        for name, mc in reloaded.items():
            runtime = self.runtimes[name]
            runtime.sender.peers = mc.unicast_peers
            self.feed(runtime, now, runtime.machine.reload, mc)
            for track_name, _unused in mc.track_scripts:  # a changed script starts again as OK
                self.feed(runtime, now, runtime.machine.track_changed, track_name, self._track_ok(track_name))
            self._watch_interfaces(runtime, now)
            log("instance_reloaded", instance=name, state=runtime.machine.state.value)
        for name, runtime in built.items():
            self.runtimes[name] = runtime
            mc = runtime.config
            for track_name, _unused in mc.track_scripts:
                runtime.machine.track_changed(now, track_name, self._track_ok(track_name))
            self._watch_interfaces(runtime, now)
            log("instance_start", instance=name, vrid=mc.vrid, interface=mc.interface, src=mc.primary_ip,
                peers=",".join(mc.unicast_peers) or "multicast", initial=initial)
            self.feed(runtime, now, runtime.machine.start)
        self._watch_receivers()
        self.write_status()

    def _watch_interfaces(self, runtime: Runtime, now: float) -> None:
        for iface in {runtime.config.interface, *(n for n, _unused in runtime.config.track_interfaces)}:
            if iface not in self.iface_state:
                self.iface_state[iface] = io_addr.interface_up(iface)
            self.feed(runtime, now, runtime.machine.interface_changed, iface, self.iface_state[iface])

    def _track_ok(self, name: str) -> bool:
        """A track_script's state, or a track_process's (config.machine_config names it process:NAME)."""
        if name.startswith("process:"):
            return self.processes.ok(name[len("process:"):])
        return self.tracks[name].ok

    def _process_changes(self, changes: list, now: float) -> None:
        for name, ok in changes:
            log("track_process", process=name, ok=ok, processes=self.processes.watches[name].count)
            for runtime in self.runtimes.values():
                if any(n == f"process:{name}" for n, _unused in runtime.config.track_scripts):
                    self.feed(runtime, now, runtime.machine.track_changed, f"process:{name}", ok)

    def _tracks_for(self, conf: config_mod.KeepalivedConfig) -> None:
        wanted = {name for inst in conf.instances.values() for name, _unused in inst.track_scripts}
        for name in list(self.tracks):
            if name not in wanted or self.tracks[name].script != conf.scripts[name]:
                self.tracks.pop(name).stop()
        for name in wanted:
            if name not in self.tracks:
                self.tracks[name] = TrackScript(conf.scripts[name], conf.global_defs.script_user)

    def reload(self, now: float) -> None:
        try:
            conf = config_mod.load(self.config_path)
            log("reload", config=self.config_path)
            self._apply_config(conf, now)
        except Exception as err:  # ConfigError, OSError, or anything else: the old instances stay
            self.reload_failures += 1
            self.status_dirty = True
            log("reload_failed", level="error", error=err, failures=self.reload_failures,
                kept=",".join(sorted(self.runtimes)) or "-")

    # --- the machine's inputs and actions --------------------------------------------------------------

    def feed(self, runtime: Runtime, now: float, method, *args) -> None:
        """Call one of the machine's input methods and carry out the actions it returns; an
        exception puts the instance in FAULT instead of ending the daemon."""
        self.fed += 1  # the fast path hands back to the full turn (fastpath.AdvertFastPath.run)
        if self.follows:
            self.follows.clear()  # any input may change what a repeated advert does
        try:
            actions = method(now, *args)
        except Exception as err:  # whatever it is, the other instances go on
            self._instance_error(runtime, now, err)
            return
        self.execute(runtime, actions, now)

    def execute(self, runtime: Runtime, actions: list, now: float) -> None:
        failure = None
        for action in actions:
            try:
                getattr(self, _ACTION_HANDLERS[type(action)])(runtime, action, now)
            except Exception as err:  # the rest of the actions still run; see _instance_error
                failure = failure or err
        self.status_dirty = True
        if failure is not None:
            self._instance_error(runtime, now, failure)

    def _instance_error(self, runtime: Runtime, now: float, err: Exception) -> None:
        self.follows.clear()
        runtime.errors += 1
        self._log_error_once(runtime, err)  # once per cause, not once per advert
        runtime.retry_at = now + ERROR_RETRY
        if runtime.machine.internal_error is not None:
            return  # already in FAULT for an internal error: just try again later
        try:
            actions = runtime.machine.set_error(now, f"{type(err).__name__}: {err}")
        except Exception as again:  # a bug in the core: the retry timer stays
            self._log_error_once(runtime, again)
            return
        for action in actions:  # the FAULT transition's own actions (priority 0, VIPs, notify)
            try:
                getattr(self, _ACTION_HANDLERS[type(action)])(runtime, action, now)
            except Exception as again:  # the same cause, most likely: logged once
                self._log_error_once(runtime, again)
        self.status_dirty = True

    def _log_error_once(self, runtime: Runtime, err: Exception) -> None:
        text = f"{type(err).__name__}: {err}"
        if text != runtime.last_error:
            log("instance_error", level="error", instance=runtime.name, error=text, errors=runtime.errors)
            runtime.last_error = text

    def _retry_errors(self, now: float) -> None:
        for runtime in self.runtimes.values():
            if runtime.retry_at is not None and runtime.retry_at <= now:
                runtime.retry_at = None  # not logged: a cause that stays is logged once only
                self.feed(runtime, now, runtime.machine.set_error, None)

    def _set_timer(self, runtime: Runtime, action: SetTimer, now: float) -> None:
        runtime.deadline = action.deadline

    def _send_advert(self, runtime: Runtime, action: SendAdvert, now: float) -> None:
        if runtime.sender.send(runtime.advert(action.priority)):
            runtime.sent += 1
            if runtime.sent == 1:
                self.status_due = now  # as the first advert received
        else:
            self.log_send_failed(runtime)
        if action.priority == 0:
            log("advert_priority_zero", instance=runtime.name)

    def log_send_failed(self, runtime: Runtime) -> None:
        log("advert_send_failed", level="warning", instance=runtime.name)

    def _add_vips(self, runtime: Runtime, action: AddVips, now: float) -> None:
        for cidr, dev in runtime.vip_targets(action.vips):
            try:
                io_addr.add_vip(cidr, dev)
                log("vip_added", instance=runtime.name, vip=cidr, dev=dev)
            except OSError as err:
                log("vip_add_failed", level="error", instance=runtime.name, vip=cidr, error=err)

    def _remove_vips(self, runtime: Runtime, action: RemoveVips, now: float) -> None:
        for cidr, dev in runtime.vip_targets(action.vips):
            try:
                if io_addr.remove_vip(cidr, dev):
                    log("vip_removed", instance=runtime.name, vip=cidr, dev=dev)
            except OSError as err:
                log("vip_remove_failed", level="error", instance=runtime.name, vip=cidr, error=err)

    def _notify(self, runtime: Runtime, action: RunNotify, now: float) -> None:
        user = self.conf.global_defs.script_user if self.conf else None
        for argv in notify_commands(runtime.config, action.state, action.priority):
            error = self.notifier.run(argv, now, user)
            log("notify", instance=runtime.name, state=action.state, command=" ".join(argv),
                **({"error": error} if error else {}))

    def _state_changed(self, runtime: Runtime, action: StateChanged, now: float) -> None:
        self.status_due = now  # a state change reaches the status file at once
        self.receivers_due = True
        log("state_change", instance=runtime.name, old=action.old.value, new=action.new.value,
            reason=action.reason, priority=runtime.machine.effective_priority)

    def _garp(self, runtime: Runtime, action: SendGarp, now: float) -> None:
        vips = runtime.config.vips
        interval = runtime.config.garp_interval
        for i in range(action.repeat):
            if i == 0 or interval <= 0:
                runtime.garp.send(vips)
            else:
                self.io_timers.append((now + i * interval, lambda r=runtime, v=vips: r.garp.send(v)))
        log("garp", instance=runtime.name, burst=action.burst, repeat=action.repeat, vips=",".join(vips))

    # --- inputs --------------------------------------------------------------------------------------

    def drop(self, reason: str, now: float, **fields: object) -> None:
        """Count every drop; log at most DROP_LOG_LINES per DROP_LOG_WINDOW (a flood of junk must
        not become a flood of log lines), then one summary of what was not logged."""
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        self.status_dirty = True
        if now >= self.drop_window_end:
            self._drop_summary()
            self.drop_window_end = now + DROP_LOG_WINDOW
            self.drop_lines = 0
        if self.drop_lines < DROP_LOG_LINES:
            self.drop_lines += 1
            log("advert_dropped", level="warning", reason=reason, **fields)
        else:
            self.drops_unlogged += 1

    def _drop_summary(self) -> None:
        if self.drops_unlogged:
            log("advert_dropped_unlogged", level="warning", count=self.drops_unlogged,
                totals=",".join(f"{k}:{v}" for k, v in sorted(self.dropped.items())))
            self.drops_unlogged = 0

    def on_vrrp(self, interface: str) -> None:
        """Every packet waiting on ``interface``, each at the time it arrived (a batch may be up to
        a Master_Down_Interval old; the timers it sets are those an eager read would have set)."""
        follow = self.follows.get(interface)
        repeats = 0  # copies of the steady master's advert read in a row, the last at `last`
        last = 0.0
        for raw, now in self.receivers[interface].read_all():
            if follow is not None and follow.same(raw):
                repeats += 1  # taken together: each copy only moves the timer (fastpath.Follow)
                last = now
                continue
            if repeats:
                follow.repeat(self, last, repeats)
                repeats = 0
            # The IP header without its ID and checksum, and the VRRP message: everything the
            # verdict depends on. A master repeats the same advert: it is judged once.
            packet = raw[:4] + raw[6:10] + raw[12:]
            key = (interface, packet)
            verdict = self.verdicts.get(key)
            if verdict is None:
                verdict = self._judge(interface, raw)
                if len(self.verdicts) >= VERDICTS_KEPT:
                    self.verdicts.clear()  # junk of all kinds: judged each time, memory bounded
                self.verdicts[key] = verdict
            if verdict is _OWN:
                continue  # our own advert
            if isinstance(verdict, DropError):
                self.drop(verdict.reason, now, interface=interface, detail=verdict.detail)
                continue
            name, header, advert = verdict
            runtime = self.runtimes[name]
            runtime.received += 1
            if runtime.received == 1:
                self.status_due = now  # the first advert from a peer shows at once
            self.feed(runtime, now, runtime.machine.advert_received, advert, header.src)
            follow = fastpath.follow(runtime, packet, header.src, advert)
            if follow is not None:
                self.follows[interface] = follow
        if repeats:
            follow.repeat(self, last, repeats)

    def _judge(self, interface: str, raw: bytes):
        """The protocol's verdict on a packet (packets, protocol): (instance name, header,
        advert) to hand over, _OWN for our own advert, or the DropError."""
        try:
            header, advert = decode_ip_packet(raw)
            config = protocol.match_instance((r.machine.config for r in self.runtimes.values()), interface,
                                             advert.vrid)
            if config is None:
                raise DropError("bad_vrid", f"VRID {advert.vrid} from {header.src}")
            if not protocol.accept(config, header, advert):
                return _OWN
        except DropError as err:
            return err
        return config.name, header, advert

    def poll_tracks(self, now: float) -> None:
        for name, track in self.tracks.items():
            changed = track.poll(now)
            if track.proc is not None and track.proc.pid not in self.child_fds:
                self._watch_child(track.proc.pid)
            if changed is None:
                continue
            log("track_script", script=name, ok=changed, result=track.last_result)
            for runtime in self.runtimes.values():
                if any(n == name for n, _unused in runtime.config.track_scripts):
                    self.feed(runtime, now, runtime.machine.track_changed, name, changed)

    def poll_interfaces(self, now: float) -> None:
        if now < self.next_iface_poll:
            return
        self.next_iface_poll = now + self.iface_poll
        for iface, old in list(self.iface_state.items()):
            up = io_addr.interface_up(iface)
            if up == old:
                continue
            self.iface_state[iface] = up
            log("interface", interface=iface, up=up)
            for runtime in self.runtimes.values():
                mc = runtime.config
                if iface == mc.interface or any(n == iface for n, _unused in mc.track_interfaces):
                    self.feed(runtime, now, runtime.machine.interface_changed, iface, up)

    def _watch_child(self, pid: int) -> None:
        """Wake when the script ``pid`` ends (a pidfd, Linux 5.3), so that its result is read at
        once without waking to poll for it; without pidfds the loop polls (see next_wakeup)."""
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.child_fds[pid] = None
            return
        self.child_fds[pid] = fd
        self.selector.register(fd, EVENT_READ, ("child", pid))

    def _child_ended(self, pid: int) -> None:
        fd = self.child_fds.pop(pid, None)
        if fd is not None:
            self.selector.discard(fd)

    def _watch_receivers(self) -> None:
        """Watch the VRRP socket of an interface only while one of its instances must answer each
        packet at once: a MASTER (RFC 3768 6.4.3: step down for a higher priority, and, as
        Keepalived, answer a lower one), or one not started. A BACKUP needs an advert only when
        its Master_Down_Timer is due (RFC 3768 6.4.2: each advert only moves that timer), which
        is when the loop wakes anyway, or at once for priority 0 (the urgent socket); FAULT
        ignores adverts."""
        self.receivers_due = False
        for interface, receiver in self.receivers.items():
            eager = not receiver.batchable or any(
                r.machine.state not in _BATCHED_STATES for r in self.runtimes.values()
                if r.config.interface == interface)
            if eager == self.eager.get(interface, False):
                continue
            if eager:
                self.selector.register(receiver, EVENT_READ, ("vrrp", interface))
            else:
                self.selector.unregister(receiver)
            self.eager[interface] = eager
        self.lazy = [i for i in self.receivers if not self.eager.get(i)]

    # --- status --------------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        instances = {}
        for name, runtime in self.runtimes.items():
            m = runtime.machine
            instances[name] = {
                "state": m.state.value,
                "vrid": m.config.vrid,
                "interface": m.config.interface,
                "priority": m.config.priority,
                "effective_priority": m.effective_priority,
                "vips": list(m.config.vips),
                "src": m.config.primary_ip,
                "master_since": self.wall(m.stats.master_since),
                "last_failover": self.wall(m.stats.last_failover),
                "master_ip": m.stats.master_ip if m.state in (State.MASTER, State.BACKUP) else None,
                "peers": {ip: {"priority": p, "last_seen": self.wall(t)} for ip, (p, t) in m.stats.peers.items()},
                "transitions": m.stats.transitions,
                "adverts_sent": runtime.sent,
                "adverts_received": runtime.received,
                "errors": runtime.errors,
                "last_error": m.internal_error,
            }
        return {
            "pid": os.getpid(),
            "config": self.config_path,
            "updated": time.time(),
            "instances": instances,
            "adverts_dropped": dict(self.dropped),
            "reload_failures": self.reload_failures,
            "metrics_refused": self.metrics.refused if self.metrics else 0,
            "tracks": {n: {"ok": t.ok, "last_result": t.last_result} for n, t in self.tracks.items()},
            "track_processes": self.processes.status(),
        }

    def write_status(self) -> None:
        self.status_dirty = False
        if not self.status_file:
            return
        try:
            status.write_status(self.status_file, self.snapshot())
        except OSError as err:
            log("status_write_failed", level="warning", error=err)

    # --- the loop ------------------------------------------------------------------------------------

    def next_wakeup(self, now: float) -> float:
        """Seconds to the next deadline. Sets chores_at: the next deadline besides the VRRP timers
        (step() runs _housekeeping only then, or after an input: a master wakes just to send)."""
        deadline = self.next_iface_poll
        for runtime in self.runtimes.values():
            if runtime.retry_at is not None and runtime.retry_at < deadline:
                deadline = runtime.retry_at
        for track in self.tracks.values():
            deadline = min(deadline, track.deadline)
            if track.proc is not None and self.child_fds.get(track.proc.pid, 0) is None:
                deadline = min(deadline, now + CHILD_POLL)  # no pidfd: poll for its end
        deadline = min(deadline, self.processes.deadline)
        for when, _unused in self.io_timers:
            deadline = min(deadline, when)
        if self.metrics is not None and self.metrics.clients:
            deadline = min(deadline, self.metrics.next_deadline)
        if self.status_dirty:
            deadline = min(deadline, self.status_due)
        if self.notifier.running:
            deadline = min(deadline, now + 0.5)
        if self.drops_unlogged:
            deadline = min(deadline, self.drop_window_end)
        self.chores_at = deadline
        for runtime in self.runtimes.values():
            if runtime.deadline is not None and runtime.deadline < deadline:
                deadline = runtime.deadline
        return max(0.0, min(deadline - now, MAX_SLEEP))

    def run(self) -> int:
        self.setup()
        log("started", config=self.config_path, pid=os.getpid())
        last_error = None
        while not self.stopping:
            try:
                self.step()
            except Exception as err:  # the loop (the adverts) must go on; logged once per cause
                text = f"{type(err).__name__}: {err}"
                if text != last_error:
                    log("loop_error", level="error", error=text)
                    last_error = text
                time.sleep(0.01)  # never a busy loop, whatever keeps failing
        self.shutdown()
        return 0

    def step(self) -> None:
        """One turn of the loop: wait for the next deadline or input, then serve what is due:
        first the adverts that arrived (in a batch from the sockets not watched), then the rest.
        A master whose next timer is only its Adver_Timer, and a BACKUP read in batches, first
        go round the fast path (fastpath.py) until anything else may be due; the turn after it
        does not wait."""
        fast, self.fast = self.fast, None
        if fast is not None:
            fast.run(self.selector.poll)
        timeout = self.next_wakeup(time.monotonic())
        ready = self.selector.wait(0.0 if fast is not None else timeout)  # after the fast path: serve now
        for interface in self.lazy:
            self.on_vrrp(interface)
        for kind, arg in ready:
            self._on_ready(kind, arg)
        if self.stopping:
            return
        now = time.monotonic()
        if self.reload_requested:
            self.reload_requested = False
            self.reload(now)
        for runtime in list(self.runtimes.values()):
            if runtime.deadline is not None and runtime.deadline <= now:
                self.feed(runtime, now, runtime.machine.tick)
        if ready or now >= self.chores_at:
            self._housekeeping(now)
        if self.receivers_due:
            self._watch_receivers()
        if not self.stopping and not self.reload_requested:
            self.fast = fastpath.arm(self, time.monotonic())

    def _on_ready(self, kind: str, arg) -> None:
        if kind == "vrrp":
            self.on_vrrp(arg)
        elif kind == "urgent":
            self.receivers[arg].clear_urgent()  # a signal only: step() read the packet in its batch
        elif kind == "child":
            self._child_ended(arg)
        elif kind == "proc":
            now = time.monotonic()
            self._process_changes(self.processes.on_event(arg, now), now)
        elif kind == "metrics" and self.metrics is not None:
            self.metrics.on_ready(arg, time.monotonic(), lambda: status.render_metrics(self.snapshot()))
        elif kind == "link" and self.links is not None:
            self.links.drain()
            self.next_iface_poll = 0.0  # read the interfaces' state now
        elif kind == "wakeup":
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 512)

    def _housekeeping(self, now: float) -> None:
        """Everything after the VRRP timers: GARP repeats, retries, scripts, interfaces, metrics
        connections, drop summary, status file."""
        if self.io_timers:
            due = [t for t in self.io_timers if t[0] <= now]
            if due:
                self.io_timers = [t for t in self.io_timers if t[0] > now]
                for _unused, fn in due:
                    fn()
        self._retry_errors(now)
        self.poll_tracks(now)
        self._process_changes(self.processes.poll(now), now)
        self.poll_interfaces(now)
        if self.notifier.running:
            self.notifier.reap(now)
        if self.metrics is not None and self.metrics.clients:
            self.metrics.expire(now)
        if self.drops_unlogged and now >= self.drop_window_end:
            self._drop_summary()
        if self.status_dirty and now >= self.status_due:
            self.status_due = now + STATUS_INTERVAL
            self.write_status()

    def shutdown(self) -> None:
        now = time.monotonic()
        log("stopping")
        for runtime in self.runtimes.values():
            self.feed(runtime, now, runtime.machine.shutdown)
        for track in self.tracks.values():
            track.stop()
        self.processes.close()
        self.notifier.wait(timeout=5.0)
        for runtime in self.runtimes.values():
            runtime.close()
        for receiver in self.receivers.values():
            receiver.close()
        for pid in list(self.child_fds):
            self._child_ended(pid)
        if self.links is not None:
            self.links.close()
        if self.metrics is not None:
            self.metrics.close()
        self.write_status()
        log("stopped")
