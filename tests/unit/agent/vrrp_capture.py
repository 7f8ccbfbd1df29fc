"""A VRRP capture for the tests and the bench (lab/bench/advert_gap.py): a script run with a node's own
python3 (a lab container, a test's network namespace), so it needs nothing but the standard library.
Shipped with the collection's tests: test_interop reads when the master's last advert arrived."""

from __future__ import annotations

# argv: seconds (0: until stopped by a signal), source address ("" for any). Prints "ready", then one
# line per VRRP packet from that source: its source address and the kernel's arrival stamp (SO_TIMESTAMPNS,
# the wall clock), each line flushed, so that a capture stopped by a signal has printed all it saw. The
# kernel's stamp, not the time the capture read the packet: its own scheduling on a loaded machine must
# not show up as a gap (or hide one) in the sender's pace.
CAPTURE = """
import socket, struct, sys, time
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
sock.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS (asm-generic/socket.h)
sock.settimeout(0.2)
src = sys.argv[2]
end = time.monotonic() + float(sys.argv[1]) if float(sys.argv[1]) else float("inf")
print("ready", flush=True)
while time.monotonic() < end:
    try:
        _data, ancdata, _flags, addr = sock.recvmsg(2048, 64)
    except socket.timeout:
        continue
    for level, kind, value in ancdata:
        if level == socket.SOL_SOCKET and kind == 35 and (not src or addr[0] == src):
            print(addr[0], "%d.%09d" % struct.unpack("qq", value[:16]), flush=True)
"""


def arrivals(out: str) -> dict[str, list[float]]:
    """CAPTURE's output (after "ready"): the arrival stamps per source address, in order."""
    seen: dict[str, list[float]] = {}
    for line in out.splitlines():
        source, stamp = line.split()
        seen.setdefault(source, []).append(float(stamp))
    return seen
