"""The gap between a master's adverts, seen by the other node, while local clients hold the
agent's metrics port (issue 13: one idle connection used to freeze the agent's loop for 0.5 s).

The two scripts run inside a node (a lab container or a test's network namespace) with the node's
own python3: CAPTURE (tests/unit/agent/vrrp_capture.py) stamps every VRRP packet from one source as
it arrives, HOLD keeps N connections to the metrics port open, half idle and half sending a request
one byte at a time, reopening any the agent closes. Used by `make bench` (lab/bench/__main__.py) and
tests/unit/agent/test_hostile.py.
"""

from __future__ import annotations

import itertools
import subprocess
import time

# The capture is shared with the shipped tests (test_interop), which cannot import lab/.
from tests.unit.agent.vrrp_capture import CAPTURE, arrivals

# argv: port, connections, seconds. Prints how many connections it opened in all.
HOLD = """
import socket, sys, time
port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks, opened = [], 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    while len(socks) < count:
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=0.2))
            opened += 1
        except OSError:
            break
    for i, sock in enumerate(list(socks)):
        if i % 2:
            try:
                sock.send(b"G")
            except OSError:
                socks.remove(sock)
                sock.close()
    time.sleep(0.05)
print(opened, flush=True)
"""


def measure(capture_cmd: list[str], hold_cmd: list[str] | None, seconds: float, *, src: str = "",
            port: int = 0, connections: int = 0) -> dict:
    """Run CAPTURE with ``capture_cmd`` (the command prefix that runs a python3 in the receiving
    node, e.g. ``["docker", "exec", "-i", "node2", "python3"]``) and, when given, HOLD with
    ``hold_cmd`` on the master's side. Returns the gaps' max and p99 (seconds), the number of
    adverts and of metrics connections opened."""
    capture = subprocess.Popen([*capture_cmd, "-c", CAPTURE, str(seconds), src],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if capture.stdout is None or capture.stdout.readline().strip() != "ready":
        raise RuntimeError(f"advert capture did not start: {capture.communicate()[1]}")
    holder = None
    if hold_cmd:
        holder = subprocess.Popen([*hold_cmd, "-c", HOLD, str(port), str(connections), str(seconds)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = capture.communicate(timeout=seconds + 60)
    opened = int(holder.communicate(timeout=60)[0].strip() or 0) if holder else 0
    stamps = sorted(stamp for per_source in arrivals(out).values() for stamp in per_source)
    if len(stamps) < 2:
        raise RuntimeError(f"fewer than two adverts captured in {seconds} s: {err}")
    gaps = sorted(b - a for a, b in itertools.pairwise(stamps))
    return {"adverts": len(stamps), "max_gap_s": round(gaps[-1], 4), "p99_gap_s": round(p99(gaps), 4),
            "connections": connections if hold_cmd else 0, "opened": opened, "seconds": seconds,
            "measured_at": time.time()}


def p99(sorted_values: list[float]) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(0.99 * len(sorted_values)))]
