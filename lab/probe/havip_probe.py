"""Failover probe: requests the VIP every --interval seconds and measures the outage a user sees.

Runs inside the lab network (a probe container), never from the host (docs/lab.md). Each request is a
fresh TCP connection to the node's whoami service, which answers with its hostname; a request that
fails or times out is a miss. The probe stops at --duration, or --settle seconds after it has seen
a node other than the first one answer (the failover is over), and prints a JSON report:

  first_node / last_node   who answered first and last
  outage_s                 longest time between two consecutive answers (the user-visible outage)
  switches                 how many times the answering node changed
  segments                 [node, first answer, last answer] runs, in seconds from the start
  answers / misses         counts

Standard library only: the probe container has nothing but python3.
"""
from __future__ import annotations

import argparse
import itertools
import json
import socket
import sys
import time


def request(host: str, port: int, timeout: float) -> str | None:
    """One HTTP GET; returns the answering node's name, or None on any failure."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    head, _sep, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n", 1)[0]:
        return None
    return body.decode(errors="replace").strip() or None


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
    for (t0, _n0), (t1, _n1) in itertools.pairwise(answers):
        if t1 - t0 > worst:
            worst, start = t1 - t0, t0
    report["outage_s"] = round(worst, 3)
    report["outage_start_s"] = None if start is None else round(start, 3)
    return report


def run(args: argparse.Namespace) -> dict:
    samples: list[tuple[float, str | None]] = []
    t0 = time.monotonic()
    first = None
    switched_at = None
    while True:
        t = time.monotonic() - t0
        node = request(args.host, args.port, args.timeout)
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
    report = analyse(samples)
    report.update(target=f"{args.host}:{args.port}", interval_s=args.interval, timeout_s=args.timeout)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host", help="the VIP")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between requests")
    parser.add_argument("--timeout", type=float, default=0.2, help="seconds before a request is a miss")
    parser.add_argument("--duration", type=float, default=30.0, help="stop after this many seconds")
    parser.add_argument("--settle", type=float, default=2.0, help="stop this long after a switch")
    parser.add_argument("--out", help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    report = run(args)
    text = json.dumps(report, sort_keys=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
