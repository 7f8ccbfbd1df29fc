"""Failover probe (R8): asks the VIP every --interval seconds and measures the outage a user sees.

Shipped with the collection; the failover drill copies it to the probe host the user names (any Linux
host with python3 inside the VPC subnet) and runs it there. Standard library only, Python >= 3.8.

Two ways to ask:
  --port N   a TCP connection to VIP:N (the service the cluster protects, e.g. the health check's
             port): an answer is an accepted connection; a refused or timed-out one is a miss.
  --icmp     an ICMP echo request: a raw socket as root, else the kernel's `ping` datagram socket
             (net.ipv4.ping_group_range). Weaker: a kernel answers ICMP while its services are down.

Which node answered is the VIP's entry in this host's neighbour table (/proc/net/arp) right after
the answer: the new master's gratuitous ARP changes it. Where every address resolves to one MAC
(a proxy-ARP network) the probe cannot tell the nodes apart and says so ("unknown" or one MAC).
The probe stops at --duration, or --settle seconds after it has seen a second node answer, and
prints a JSON report:

  first_node / last_node   who answered first and last (MAC address, or "unknown")
  outage_s                 longest time between two consecutive answers (the user-visible outage)
  switches                 how many times the answering node changed
  segments                 [node, first answer, last answer] runs, in seconds from the start
  answers / misses         counts
  answering_at_end         whether the last request was answered (the VIP serves again)
"""
from __future__ import annotations

import argparse
import json
import os
import select
import socket
import struct
import sys
import time

UNKNOWN = "unknown"
ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0


def tcp_answers(host: str, port: int, timeout: float) -> bool:
    """One TCP connection: True when VIP:port accepted it within the timeout."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum. The VRRP agent has the same function (havip_vrrp.packets.inet_checksum);
    this script is copied alone to the probe host, so it keeps its own copy, tested equal to the agent's."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes = b"havip-probe") -> bytes:
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, checksum(header + payload), ident, seq) + payload


class Pinger:
    """ICMP echo to one host; a raw socket when allowed, else the unprivileged datagram socket."""

    def __init__(self, host: str, timeout: float):
        self.host, self.timeout = host, timeout
        self.ident = os.getpid() & 0xFFFF
        self.seq = 0
        try:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            self.raw = True
        except PermissionError:
            # The kernel picks the identifier of a datagram ping socket and keeps other hosts' replies out.
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
            self.raw = False

    def close(self) -> None:
        self.sock.close()

    def answers(self) -> bool:
        self.seq = (self.seq + 1) & 0xFFFF
        try:
            self.sock.sendto(echo_request(self.ident, self.seq), (self.host, 0))
        except OSError:
            return False
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return False
            data, (source, _port) = self.sock.recvfrom(2048)
            if self.raw:
                if source != self.host:
                    continue
                data = data[(data[0] & 0x0F) * 4:]  # past the IP header
            if len(data) < 8:
                continue
            kind, _code, _sum, ident, seq = struct.unpack("!BBHHH", data[:8])
            if kind == ICMP_ECHO_REPLY and seq == self.seq and (ident == self.ident or not self.raw):
                return True


def neighbour(host: str, table: str = "/proc/net/arp") -> str:
    """The MAC address this host resolves `host` to, or "unknown" (no complete entry)."""
    try:
        with open(table, encoding="ascii") as handle:
            lines = handle.read().splitlines()[1:]
    except OSError:
        return UNKNOWN
    for line in lines:
        fields = line.split()
        # IP address, HW type, Flags, HW address, Mask, Device; flag 0x2 = complete
        if len(fields) >= 4 and fields[0] == host and int(fields[2], 16) & 0x2:
            return fields[3]
    return UNKNOWN


def analyse(samples: list[tuple[float, str | None]]) -> dict:
    """Turn (time, node or None) samples into the report (pure: unit-tested)."""
    answers = [(t, node) for t, node in samples if node is not None]
    report = {
        "samples": len(samples),
        "answers": len(answers),
        "misses": len(samples) - len(answers),
        "first_node": answers[0][1] if answers else None,
        "last_node": answers[-1][1] if answers else None,
        "outage_s": 0.0,
        "outage_start_s": None,
        "switches": 0,
        "segments": [],
        "answering_at_end": bool(samples) and samples[-1][1] is not None,
    }
    if not answers:
        report["outage_s"] = round(samples[-1][0] - samples[0][0], 3) if samples else 0.0
        return report
    segments = []
    for t, node in answers:
        if segments and segments[-1][0] == node:
            segments[-1][2] = t
        else:
            segments.append([node, t, t])
    report["segments"] = [[n, round(a, 3), round(b, 3)] for n, a, b in segments]
    report["switches"] = len(segments) - 1
    worst, start = 0.0, None
    for (t0, _n0), (t1, _n1) in zip(answers, answers[1:]):
        if t1 - t0 > worst:
            worst, start = t1 - t0, t0
    report["outage_s"] = round(worst, 3)
    report["outage_start_s"] = None if start is None else round(start, 3)
    return report


def run(args: argparse.Namespace) -> dict:
    pinger = Pinger(args.host, args.timeout) if args.icmp else None
    samples: list[tuple[float, str | None]] = []
    t0 = time.monotonic()
    first = None
    switched_at = None
    try:
        while True:
            t = time.monotonic() - t0
            answered = pinger.answers() if pinger else tcp_answers(args.host, args.port, args.timeout)
            node = neighbour(args.host, args.neighbours) if answered else None
            samples.append((t, node))
            if node is not None:
                if first is None:
                    first = node
                elif node != first and switched_at is None:
                    switched_at = t
            if t >= args.duration or (switched_at is not None and t - switched_at >= args.settle):
                break
            # Keep a fixed cadence: sleep only what is left of this interval.
            delay = args.interval - (time.monotonic() - t0 - t)
            if delay > 0:
                time.sleep(delay)
    finally:
        if pinger:
            pinger.close()
    report = analyse(samples)
    report.update(
        target=f"{args.host} icmp" if args.icmp else f"{args.host}:{args.port}",
        method="icmp" if args.icmp else "tcp",
        icmp_socket=None if not pinger else ("raw" if pinger.raw else "datagram"),
        interval_s=args.interval,
        timeout_s=args.timeout,
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host", help="the VIP")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--port", type=int, help="TCP port of the service on the VIP")
    how.add_argument("--icmp", action="store_true", help="ICMP echo instead of TCP")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between requests")
    parser.add_argument("--timeout", type=float, default=0.2, help="seconds before a request is a miss")
    parser.add_argument("--duration", type=float, default=30.0, help="stop after this many seconds")
    parser.add_argument("--settle", type=float, default=2.0, help="stop this long after a switch")
    parser.add_argument("--neighbours", default="/proc/net/arp", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    if args.port is not None and not 0 < args.port < 65536:
        parser.error(f"--port {args.port}: a TCP port is 1-65535")
    report = run(args)
    text = json.dumps(report, sort_keys=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
