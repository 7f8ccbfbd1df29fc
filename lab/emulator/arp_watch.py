"""Learning HAVIP bindings the way the VPC does: from gratuitous ARP (R1, R4c, R5).

``parse_frame`` is a pure parser of Ethernet/ARP frames; ``sniff`` is a small AF_PACKET loop that
hands every gratuitous announcement (sender IP == target IP, request or reply) to a callback,
typically ``Vpc.announce``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ARP_REQUEST = 1
ARP_REPLY = 2
_ETH_HEADER = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")
log = logging.getLogger("havip.emulator.arp")


@dataclass(frozen=True)
class Arp:
    operation: int
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str

    @property
    def gratuitous(self) -> bool:
        """RFC 5227 section 3: an announcement has the sender's address as the target address."""
        return self.operation in (ARP_REQUEST, ARP_REPLY) and self.sender_ip == self.target_ip


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def parse_frame(frame: bytes) -> Arp | None:
    """An Ethernet II frame (optionally one 802.1Q tag) carrying IPv4-over-Ethernet ARP, or None."""
    if len(frame) < _ETH_HEADER.size:
        return None
    ethertype = _ETH_HEADER.unpack_from(frame)[2]
    offset = _ETH_HEADER.size
    if ethertype == ETH_P_8021Q:
        if len(frame) < offset + 4:
            return None
        (ethertype,) = struct.unpack_from("!H", frame, offset + 2)
        offset += 4
    if ethertype != ETH_P_ARP or len(frame) < offset + _ARP.size:
        return None
    htype, ptype, hlen, plen, oper, sha, spa, tha, tpa = _ARP.unpack_from(frame, offset)
    if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
        return None
    return Arp(oper, _mac(sha), str(ipaddress.IPv4Address(spa)), _mac(tha), str(ipaddress.IPv4Address(tpa)))


def build_frame(sender_mac: str, ip: str, operation: int = ARP_REQUEST) -> bytes:
    """A gratuitous ARP frame (for tests and for rehearsing by hand)."""
    sha = bytes.fromhex(sender_mac.replace(":", ""))
    spa = ipaddress.IPv4Address(ip).packed
    dst = b"\xff" * 6
    tha = b"\x00" * 6 if operation == ARP_REQUEST else dst
    return _ETH_HEADER.pack(dst, sha, ETH_P_ARP) + _ARP.pack(1, 0x0800, 6, 4, operation, sha, spa, tha, spa)


def sniff(interface: str, on_announce: Callable[[str, str], object], stop: threading.Event | None = None) -> None:
    """Read ARP frames on ``interface`` and call ``on_announce(ip, mac)`` for every gratuitous one.

    Needs CAP_NET_RAW. Returns when ``stop`` is set (checked every second).
    """
    stop = stop or threading.Event()
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((interface, 0))
        sock.settimeout(1.0)
        log.info("watching gratuitous ARP on %s", interface)
        while not stop.is_set():
            try:
                frame = sock.recv(2048)
            except TimeoutError:
                continue
            arp = parse_frame(frame)
            if arp is not None and arp.gratuitous:
                try:
                    result = on_announce(arp.sender_ip, arp.sender_mac)
                except Exception:  # one bad announcement must not stop the watcher
                    log.exception("announce %s from %s failed", arp.sender_ip, arp.sender_mac)
                    continue
                log.info("gratuitous ARP %s from %s: %s", arp.sender_ip, arp.sender_mac, result)


def start(interface: str, on_announce: Callable[[str, str], object]) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=sniff, args=(interface, on_announce, stop), name="arp-watch", daemon=True)
    thread.start()
    return thread, stop
