"""The agent's event loop: feeds the sans-IO machines (machine.py) with real time, sockets,
scripts and signals, and carries out the actions they return.

SIGHUP reloads the configuration without a state flap (an invalid file is logged and the old one
kept); SIGTERM/SIGINT shut down cleanly: priority-0 advert, VIPs removed, notify STOP.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import sys
import time

from . import config as config_mod
from . import io_addr, status
from .machine import (
    AddVips,
    RemoveVips,
    RunNotify,
    SendAdvert,
    SendGarp,
    SetTimer,
    State,
    StateChanged,
    VrrpInstance,
)
from .packets import DropError, VrrpV2Advert, VrrpV3Advert, check_advert, decode_ip_packet, pass_field
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
IFACE_POLL = 1.0  # seconds between interface state checks (track_interface, own interface)


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
    """One vrrp_instance: its machine, its sockets and its counters."""

    def __init__(self, daemon: Daemon, inst: config_mod.Instance, conf: config_mod.KeepalivedConfig) -> None:
        from .io_arp import GarpSender  # noqa: PLC0415 - AF_PACKET only where it is used
        from .io_socket import VrrpSender  # noqa: PLC0415

        self.daemon = daemon
        self.inst = inst
        self.conf = conf
        src = inst.unicast_src_ip or io_addr.primary_address(inst.interface)
        if not src:
            raise config_mod.ConfigError(
                f"vrrp_instance {inst.name}: interface {inst.interface} has no IPv4 address", conf.path, inst.line
            )
        self.src = src
        self.machine = VrrpInstance(conf.machine_config(inst.name, src))
        self.sender = VrrpSender(inst.interface, src, inst.unicast_peers)
        self.garp = GarpSender(inst.interface)
        self.deadline: float | None = None
        self.sent = 0
        self.received = 0

    def advert(self, priority: int) -> VrrpV2Advert | VrrpV3Advert:
        mc = self.machine.config
        if mc.version == 3:
            return VrrpV3Advert(mc.vrid, priority, mc.vips, max(1, round(mc.advert_int * 100)))
        auth_type = 1 if self.inst.auth_pass else 0
        auth = pass_field(self.inst.auth_pass) if self.inst.auth_pass else b"\x00" * 8
        return VrrpV2Advert(mc.vrid, priority, mc.vips, int(mc.advert_int), auth_type, auth)

    def vip_targets(self, vips: tuple) -> list:
        by_addr = {v.address: v for v in self.inst.virtual_ipaddresses}
        out = []
        for address in vips:
            vip = by_addr.get(address)
            out.append((vip.cidr if vip else f"{address}/32", (vip.dev if vip else None) or self.inst.interface))
        return out

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
        self.selector = selectors.DefaultSelector()
        self.runtimes: dict = {}
        self.receivers: dict = {}  # interface -> VrrpReceiver
        self.tracks: dict = {}  # script name -> TrackScript
        self.notifier = NotifyRunner()
        self.dropped: dict = {}
        self.io_timers: list = []  # (when, callable): GARP repeats spaced by vrrp_garp_interval
        self.iface_state: dict = {}
        self.next_iface_poll = 0.0
        self.metrics: status.MetricsServer | None = None
        self.conf: config_mod.KeepalivedConfig | None = None
        self.stopping = False
        self.reload_requested = False
        self.started_wall = time.time()
        self.started_mono = time.monotonic()

    # --- time ----------------------------------------------------------------------------------------

    def wall(self, mono: float | None) -> float | None:
        return None if mono is None else self.started_wall + (mono - self.started_mono)

    # --- set-up --------------------------------------------------------------------------------------

    def setup(self) -> None:
        self.conf = config_mod.load(self.config_path)
        for warning in self.conf.warnings:
            log("config_warning", level="warning", detail=warning)
        rsock, wsock = os.pipe()
        os.set_blocking(rsock, False)
        os.set_blocking(wsock, False)
        self._wake_r = rsock
        signal.set_wakeup_fd(wsock)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        self.selector.register(rsock, selectors.EVENT_READ, ("wakeup", None))
        if self.metrics_port is not None:
            self.metrics = status.MetricsServer(self.metrics_port, self.metrics_address)
            self.selector.register(self.metrics, selectors.EVENT_READ, ("metrics", None))
            log("metrics_listen", address=self.metrics_address, port=self.metrics.port)
        self._apply_config(self.conf, time.monotonic(), initial=True)

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            self.reload_requested = True
        else:
            self.stopping = True

    def _receiver(self, inst: config_mod.Instance, src: str) -> None:
        from .io_socket import VrrpReceiver  # noqa: PLC0415

        if inst.interface not in self.receivers:
            receiver = VrrpReceiver(inst.interface, src, multicast=not inst.unicast_peers)
            self.receivers[inst.interface] = receiver
            self.selector.register(receiver, selectors.EVENT_READ, ("vrrp", inst.interface))

    def _tracks_for(self, conf: config_mod.KeepalivedConfig) -> None:
        wanted = {name for inst in conf.instances.values() for name, _unused in inst.track_scripts}
        for name in list(self.tracks):
            if name not in wanted or self.tracks[name].script != conf.scripts[name]:
                self.tracks.pop(name).stop()
        for name in wanted:
            if name not in self.tracks:
                self.tracks[name] = TrackScript(conf.scripts[name], conf.global_defs.script_user)

    def _apply_config(self, conf: config_mod.KeepalivedConfig, now: float, initial: bool = False) -> None:
        self.conf = conf
        self._tracks_for(conf)
        for name in list(self.runtimes):
            if name not in conf.instances:
                runtime = self.runtimes.pop(name)
                self.execute(runtime, runtime.machine.shutdown(now), now)
                runtime.close()
                log("instance_removed", instance=name)
        for name, inst in conf.instances.items():
            runtime = self.runtimes.get(name)
            if runtime is not None and (inst.interface, inst.unicast_src_ip) == (
                runtime.inst.interface,
                runtime.inst.unicast_src_ip,
            ):
                runtime.inst = inst
                runtime.conf = conf
                runtime.sender.peers = inst.unicast_peers
                mc = conf.machine_config(name, runtime.src)
                self.execute(runtime, runtime.machine.reload(now, mc), now)
                for track_name, _unused in inst.track_scripts:  # a changed script starts again as OK
                    ok = self.tracks[track_name].ok
                    self.execute(runtime, runtime.machine.track_changed(now, track_name, ok), now)
                log("instance_reloaded", instance=name, state=runtime.machine.state.value)
                continue
            if runtime is not None:  # moved to another interface or address: start it again
                self.execute(runtime, runtime.machine.shutdown(now), now)
                runtime.close()
            runtime = Runtime(self, inst, conf)
            self.runtimes[name] = runtime
            self._receiver(inst, runtime.src)
            for track_name, _unused in inst.track_scripts:
                runtime.machine.track_changed(now, track_name, self.tracks[track_name].ok)
            for iface in {inst.interface, *(n for n, _unused in inst.track_interfaces)}:
                up = io_addr.interface_up(iface)
                self.iface_state[iface] = up
                runtime.machine.interface_changed(now, iface, up)
            log("instance_start", instance=name, vrid=inst.virtual_router_id, interface=inst.interface,
                src=runtime.src, peers=",".join(inst.unicast_peers) or "multicast", initial=initial)
            self.execute(runtime, runtime.machine.start(now), now)
        self.write_status()

    # --- actions -------------------------------------------------------------------------------------

    def execute(self, runtime: Runtime, actions: list, now: float) -> None:
        for action in actions:
            getattr(self, _ACTION_HANDLERS[type(action)])(runtime, action, now)
        self.write_status()

    def _set_timer(self, runtime: Runtime, action: SetTimer, now: float) -> None:
        runtime.deadline = action.deadline

    def _send_advert(self, runtime: Runtime, action: SendAdvert, now: float) -> None:
        if runtime.sender.send(runtime.advert(action.priority)):
            runtime.sent += 1
        else:
            log("advert_send_failed", level="warning", instance=runtime.inst.name)
        if action.priority == 0:
            log("advert_priority_zero", instance=runtime.inst.name)

    def _add_vips(self, runtime: Runtime, action: AddVips, now: float) -> None:
        for cidr, dev in runtime.vip_targets(action.vips):
            try:
                io_addr.add_vip(cidr, dev)
                log("vip_added", instance=runtime.inst.name, vip=cidr, dev=dev)
            except OSError as err:
                log("vip_add_failed", level="error", instance=runtime.inst.name, vip=cidr, error=err)

    def _remove_vips(self, runtime: Runtime, action: RemoveVips, now: float) -> None:
        for cidr, dev in runtime.vip_targets(action.vips):
            try:
                if io_addr.remove_vip(cidr, dev):
                    log("vip_removed", instance=runtime.inst.name, vip=cidr, dev=dev)
            except OSError as err:
                log("vip_remove_failed", level="error", instance=runtime.inst.name, vip=cidr, error=err)

    def _notify(self, runtime: Runtime, action: RunNotify, now: float) -> None:
        user = self.conf.global_defs.script_user if self.conf else None
        for argv in notify_commands(runtime.inst, action.state, action.priority):
            error = self.notifier.run(argv, now, user)
            log("notify", instance=runtime.inst.name, state=action.state, command=" ".join(argv),
                **({"error": error} if error else {}))

    def _state_changed(self, runtime: Runtime, action: StateChanged, now: float) -> None:
        log("state_change", instance=runtime.inst.name, old=action.old.value, new=action.new.value,
            reason=action.reason, priority=runtime.machine.effective_priority)

    def _garp(self, runtime: Runtime, action: SendGarp, now: float) -> None:
        vips = runtime.machine.config.vips
        interval = self.conf.global_defs.vrrp_garp_interval if self.conf else 0.0
        for i in range(action.repeat):
            if i == 0 or interval <= 0:
                runtime.garp.send(vips)
            else:
                self.io_timers.append((now + i * interval, lambda r=runtime, v=vips: r.garp.send(v)))
        log("garp", instance=runtime.inst.name, burst=action.burst, repeat=action.repeat, vips=",".join(vips))

    # --- inputs --------------------------------------------------------------------------------------

    def drop(self, reason: str, **fields: object) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        log("advert_dropped", level="debug", reason=reason, **fields)

    def on_vrrp(self, interface: str, now: float) -> None:
        receiver = self.receivers[interface]
        for raw in receiver.read_all():
            try:
                header, advert = decode_ip_packet(raw)
            except DropError as err:
                self.drop(err.reason, interface=interface, detail=err.detail)
                continue
            runtime = next(
                (r for r in self.runtimes.values() if r.inst.interface == interface
                 and r.inst.virtual_router_id == advert.vrid),
                None,
            )
            if runtime is None:
                self.drop("bad_vrid", interface=interface, src=header.src, vrid=advert.vrid)
                continue
            if header.src == runtime.src:
                continue  # our own advert
            if runtime.inst.unicast_peers and header.src not in runtime.inst.unicast_peers:
                self.drop("unknown_peer", instance=runtime.inst.name, src=header.src)
                continue
            mc = runtime.machine.config
            try:
                check_advert(
                    advert,
                    vrid=mc.vrid,
                    version=mc.version,
                    advert_int=mc.advert_int,
                    auth_pass=runtime.inst.auth_pass,
                    addresses=None if self.conf.global_defs.vrrp_skip_check_adv_addr else mc.vips,
                )
            except DropError as err:
                self.drop(err.reason, instance=runtime.inst.name, src=header.src, detail=err.detail)
                continue
            runtime.received += 1
            self.execute(runtime, runtime.machine.advert_received(now, advert, header.src), now)

    def poll_tracks(self, now: float) -> None:
        for name, track in self.tracks.items():
            changed = track.poll(now)
            if changed is None:
                continue
            log("track_script", script=name, ok=changed, result=track.last_result)
            for runtime in self.runtimes.values():
                if any(n == name for n, _unused in runtime.inst.track_scripts):
                    self.execute(runtime, runtime.machine.track_changed(now, name, changed), now)

    def poll_interfaces(self, now: float) -> None:
        if now < self.next_iface_poll:
            return
        self.next_iface_poll = now + IFACE_POLL
        for iface, old in list(self.iface_state.items()):
            up = io_addr.interface_up(iface)
            if up == old:
                continue
            self.iface_state[iface] = up
            log("interface", interface=iface, up=up)
            for runtime in self.runtimes.values():
                if iface == runtime.inst.interface or any(n == iface for n, _unused in runtime.inst.track_interfaces):
                    self.execute(runtime, runtime.machine.interface_changed(now, iface, up), now)

    def reload(self, now: float) -> None:
        try:
            conf = config_mod.load(self.config_path)
        except config_mod.ConfigError as err:
            log("reload_failed", level="error", error=err)
            return
        log("reload", config=self.config_path)
        try:
            self._apply_config(conf, now)
        except (OSError, config_mod.ConfigError) as err:
            log("reload_failed", level="error", error=err)

    # --- status --------------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        instances = {}
        for name, runtime in self.runtimes.items():
            m = runtime.machine
            instances[name] = {
                "state": m.state.value,
                "vrid": m.config.vrid,
                "interface": runtime.inst.interface,
                "priority": m.config.priority,
                "effective_priority": m.effective_priority,
                "vips": list(m.config.vips),
                "src": runtime.src,
                "master_since": self.wall(m.stats.master_since),
                "last_failover": self.wall(m.stats.last_failover),
                "master_ip": m.stats.master_ip if m.state in (State.MASTER, State.BACKUP) else None,
                "peers": {ip: {"priority": p, "last_seen": self.wall(t)} for ip, (p, t) in m.stats.peers.items()},
                "transitions": m.stats.transitions,
                "adverts_sent": runtime.sent,
                "adverts_received": runtime.received,
            }
        return {
            "pid": os.getpid(),
            "config": self.config_path,
            "updated": time.time(),
            "instances": instances,
            "adverts_dropped": dict(self.dropped),
            "tracks": {n: {"ok": t.ok, "last_result": t.last_result} for n, t in self.tracks.items()},
        }

    def write_status(self) -> None:
        if not self.status_file:
            return
        try:
            status.write_status(self.status_file, self.snapshot())
        except OSError as err:
            log("status_write_failed", level="warning", error=err)

    # --- the loop ------------------------------------------------------------------------------------

    def next_wakeup(self, now: float) -> float:
        deadlines = [r.deadline for r in self.runtimes.values() if r.deadline is not None]
        deadlines += [t.deadline for t in self.tracks.values()]
        deadlines += [when for when, _unused in self.io_timers]
        deadlines.append(self.next_iface_poll)
        if self.notifier.running:
            deadlines.append(now + 0.5)
        return max(0.0, min(deadlines) - now) if deadlines else 1.0

    def run(self) -> int:
        self.setup()
        log("started", config=self.config_path, pid=os.getpid())
        while not self.stopping:
            now = time.monotonic()
            for key, _unused in self.selector.select(timeout=min(self.next_wakeup(now), 1.0)):
                kind, arg = key.data
                now = time.monotonic()
                if kind == "vrrp":
                    self.on_vrrp(arg, now)
                elif kind == "metrics" and self.metrics is not None:
                    self.metrics.handle(status.render_metrics(self.snapshot()))
                elif kind == "wakeup":
                    with contextlib.suppress(OSError):
                        os.read(self._wake_r, 512)
            if self.stopping:
                break
            now = time.monotonic()
            if self.reload_requested:
                self.reload_requested = False
                self.reload(now)
            for runtime in list(self.runtimes.values()):
                if runtime.deadline is not None and runtime.deadline <= now:
                    self.execute(runtime, runtime.machine.tick(now), now)
            due = [t for t in self.io_timers if t[0] <= now]
            if due:
                self.io_timers = [t for t in self.io_timers if t[0] > now]
                for _unused, fn in due:
                    fn()
            self.poll_tracks(now)
            self.poll_interfaces(now)
            self.notifier.reap(now)
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        now = time.monotonic()
        log("stopping")
        for runtime in self.runtimes.values():
            self.execute(runtime, runtime.machine.shutdown(now), now)
        for track in self.tracks.values():
            track.stop()
        self.notifier.wait(timeout=5.0)
        for runtime in self.runtimes.values():
            runtime.close()
        for receiver in self.receivers.values():
            receiver.close()
        if self.metrics is not None:
            self.metrics.close()
        log("stopped")
