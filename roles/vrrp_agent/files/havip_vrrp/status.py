"""The agent's state for people and for Prometheus: a JSON status file (read by the ``status``
command) and text metrics served on 127.0.0.1 (default port 9720)."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time

DEFAULT_STATUS_FILE = "/run/havip-vrrp/status.json"
DEFAULT_METRICS_PORT = 9720
STATE_CODES = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}


def write_status(path: str, data: dict) -> None:
    """Write atomically (rename), so that a reader never sees half a file."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".status.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
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
        "havip_vrrp_last_failover_timestamp_seconds",
        "gauge",
        "Unix time this node last became MASTER (0: never).",
        [({"instance": n}, f"{i.get('last_failover') or 0:.3f}") for n, i in instances],
    )
    return "\n".join(out) + "\n"


class MetricsServer:
    """A tiny HTTP/1.0 server on a non-blocking listening socket, polled by the daemon's selector;
    every request gets the metrics."""

    def __init__(self, port: int = DEFAULT_METRICS_PORT, address: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def fileno(self) -> int:
        return self.sock.fileno()

    def handle(self, body: str) -> None:
        try:
            conn, _unused = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        with conn:
            conn.settimeout(0.5)
            try:
                request = conn.recv(4096)
                if request.startswith(b"GET /metrics") or request.startswith(b"GET / "):
                    payload = body.encode()
                    head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                else:
                    payload = b"not found\n"
                    head = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
                conn.sendall(f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
