"""The agent's state for people and for Prometheus: a JSON status file (read by the ``status``
command) and text metrics served on 127.0.0.1 (default port 9720)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time

DEFAULT_STATUS_FILE = "/run/havip-vrrp/status.json"
DEFAULT_METRICS_PORT = 9720
EVENT_READ, EVENT_WRITE = 1, 2  # selectors' (and io_poll's) event masks
STATE_CODES = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}


def write_status(path: str, data: dict) -> None:
    """Write atomically (rename), so that a reader never sees half a file. The temporary file
    has a fixed name beside it (the agent's own directory; tempfile would cost the agent about
    1 MiB of memory for its imports) and is never followed if it is a symlink. Compact JSON from
    the C encoder and plain file descriptors: the daemon writes it every STATUS_INTERVAL while
    counters move, and json.dump with indent runs the encoder in Python (5x slower; issue 13)."""
    directory = os.path.dirname(path) or "."
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    payload = json.dumps(data, sort_keys=True).encode()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileNotFoundError:  # the first write: the directory is not there yet
        os.makedirs(directory, exist_ok=True)
        fd = os.open(tmp, flags, 0o644)
    except FileExistsError:  # left by a killed run with this pid
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o644)
    try:
        try:
            os.fchmod(fd, 0o644)  # whatever the umask
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_status(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _when(timestamp: float | None, now: float) -> str:
    if not timestamp:
        return "-"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
    return f"{stamp} ({now - timestamp:.0f}s ago)"


def format_status(data: dict, now: float | None = None) -> str:
    now = time.time() if now is None else now
    lines = [f"havip-vrrp pid {data.get('pid', '-')}, config {data.get('config', '-')}"]
    for name, inst in sorted(data.get("instances", {}).items()):
        lines.append(f"instance {name}: {inst['state']}")
        lines.append(f"  vrid {inst['vrid']} on {inst['interface']}, priority {inst['priority']}"
                     f" (effective {inst['effective_priority']}), vips {', '.join(inst['vips'])}")
        lines.append(f"  master since: {_when(inst.get('master_since'), now)}")
        lines.append(f"  last failover: {_when(inst.get('last_failover'), now)}")
        lines.append(f"  current master: {inst.get('master_ip') or '-'}")
        for peer, seen in sorted(inst.get("peers", {}).items()):
            lines.append(f"  peer {peer}: priority {seen['priority']}, last advert {_when(seen['last_seen'], now)}")
        lines.append(
            f"  transitions {inst['transitions']}, adverts sent {inst['adverts_sent']},"
            f" received {inst['adverts_received']}"
        )
    dropped = data.get("adverts_dropped", {})
    if dropped:
        lines.append("dropped: " + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items())))
    return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(data: dict) -> str:
    """Prometheus text exposition format 0.0.4."""
    out = []

    def family(name: str, kind: str, text: str, samples: list) -> None:
        out.append(f"# HELP {name} {text}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            rendered = ",".join(f'{k}="{_label(str(v))}"' for k, v in labels.items())
            out.append(f"{name}{{{rendered}}} {value}" if rendered else f"{name} {value}")

    instances = sorted(data.get("instances", {}).items())
    family(
        "havip_vrrp_state",
        "gauge",
        "VRRP state of the instance: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.",
        [({"instance": n, "state": i["state"]}, STATE_CODES.get(i["state"], 0)) for n, i in instances],
    )
    family(
        "havip_vrrp_transitions_total",
        "counter",
        "State transitions since the agent started.",
        [({"instance": n}, i["transitions"]) for n, i in instances],
    )
    family(
        "havip_vrrp_adverts_sent_total",
        "counter",
        "VRRP adverts sent.",
        [({"instance": n}, i["adverts_sent"]) for n, i in instances],
    )
    family(
        "havip_vrrp_adverts_received_total",
        "counter",
        "Valid VRRP adverts received.",
        [({"instance": n}, i["adverts_received"]) for n, i in instances],
    )
    family(
        "havip_vrrp_adverts_dropped_total",
        "counter",
        "VRRP packets dropped, by reason.",
        [({"reason": r}, c) for r, c in sorted(data.get("adverts_dropped", {}).items())],
    )
    family(
        "havip_vrrp_instance_errors_total",
        "counter",
        "Internal errors while carrying out the instance's actions (each puts it in FAULT for a while).",
        [({"instance": n}, i.get("errors", 0)) for n, i in instances],
    )
    family(
        "havip_vrrp_reload_failures_total",
        "counter",
        "Reloads (SIGHUP) refused: invalid configuration or instances that could not be built; the old ones ran on.",
        [({}, data.get("reload_failures", 0))],
    )
    family(
        "havip_vrrp_metrics_refused_total",
        "counter",
        "Metrics connections closed at once because the connection limit was reached.",
        [({}, data.get("metrics_refused", 0))],
    )
    family(
        "havip_vrrp_last_failover_timestamp_seconds",
        "gauge",
        "Unix time this node last became MASTER (0: never).",
        [({"instance": n}, f"{i.get('last_failover') or 0:.3f}") for n, i in instances],
    )
    return "\n".join(out) + "\n"


class MetricsServer:
    """A tiny HTTP/1.0 server that never blocks the daemon's loop: non-blocking sockets registered
    in the daemon's selector, at most ``MAX_CLIENTS`` connections, each closed after
    ``CLIENT_TIMEOUT`` seconds whatever it does (idle, slow, or not reading the answer). Every
    request gets the metrics. The daemon calls :meth:`on_ready` for the selector keys whose data is
    ``("metrics", ...)`` and :meth:`expire` at :attr:`next_deadline`."""

    MAX_CLIENTS = 8
    CLIENT_TIMEOUT = 2.0
    MAX_REQUEST = 4096

    def __init__(self, port: int = DEFAULT_METRICS_PORT, address: str = "127.0.0.1", selector=None) -> None:
        if selector is None:  # standalone (tests); the daemon passes its io_poll.Poller
            import selectors  # noqa: PLC0415

            selector = selectors.DefaultSelector()
        self.selector = selector
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(self.MAX_CLIENTS)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.clients: dict = {}  # socket -> [deadline, request bytes, answer bytes or None]
        self.refused = 0  # connections closed at once because MAX_CLIENTS were open
        self.selector.register(self.sock, EVENT_READ, ("metrics", None))

    @property
    def next_deadline(self) -> float | None:
        return min((c[0] for c in self.clients.values()), default=None)

    def on_ready(self, conn, now: float, render) -> None:
        """``conn`` None: the listening socket; else a client. ``render()`` gives the metrics text."""
        if conn is None:
            self._accept(now)
            return
        state = self.clients.get(conn)
        if state is None:
            return
        try:
            if state[2] is None:
                data = conn.recv(self.MAX_REQUEST)
                if not data:
                    self._close(conn)
                    return
                state[1] += data
                if b"\r\n\r\n" not in state[1] and b"\n\n" not in state[1] and len(state[1]) < self.MAX_REQUEST:
                    return
                state[2] = _answer(state[1], render)
                self.selector.modify(conn, EVENT_WRITE, ("metrics", conn))
            sent = conn.send(state[2])
            state[2] = state[2][sent:]
            if not state[2]:
                self._close(conn)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)

    def _accept(self, now: float) -> None:
        for _unused in range(self.MAX_CLIENTS):
            try:
                conn, _unused = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(self.clients) >= self.MAX_CLIENTS:
                # Accept and close: a full backlog would leave the listening socket readable and
                # the loop spinning; metrics are worth less than adverts.
                self.refused += 1
                conn.close()
                continue
            conn.setblocking(False)
            self.clients[conn] = [now + self.CLIENT_TIMEOUT, b"", None]
            self.selector.register(conn, EVENT_READ, ("metrics", conn))

    def expire(self, now: float) -> None:
        for conn in [c for c, state in self.clients.items() if state[0] <= now]:
            self._close(conn)

    def _close(self, conn) -> None:
        self.clients.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        conn.close()

    def close(self) -> None:
        for conn in list(self.clients):
            self._close(conn)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self.sock)
        self.sock.close()


def _answer(request: bytes, render) -> bytes:
    if request.startswith(b"GET /metrics") or request.startswith(b"GET / "):
        payload = render().encode()
        head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
    else:
        payload = b"not found\n"
        head = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
    return f"{head}Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload
