"""Learning HAVIP bindings the way the VPC does: from gratuitous ARP (R1, R4c, R5).

Frames are decoded by the VRRP agent's own ARP codec (roles/vrrp_agent/files/havip_vrrp/packets.py,
``ArpFrame``), the one that sends them: the lab keeps no second copy of RFC 826. ``parse_frame``
adds only what a sniffer on a bridge needs beyond it (one 802.1Q tag, None instead of an error);
``sniff`` is a small AF_PACKET loop that hands every gratuitous announcement to a callback,
typically ``Vpc.announce``.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

# The agent ships as files of its role, not as an installed package.
_AGENT_FILES = str(Path(__file__).resolve().parents[2] / "roles" / "vrrp_agent" / "files")
if _AGENT_FILES not in sys.path:
    sys.path.insert(0, _AGENT_FILES)

from havip_vrrp.packets import ARP_REPLY, ARP_REQUEST, ETH_P_ARP, ArpFrame, DropError  # noqa: E402

__all__ = ["ARP_REPLY", "ARP_REQUEST", "ArpFrame", "is_announcement", "parse_frame", "sniff", "start"]

_ETH_P_8021Q = b"\x81\x00"
_MACS = 12  # destination and source MAC, before the EtherType (or the 802.1Q tag)
_VLAN_TAG = 4
log = logging.getLogger("havip.emulator.arp")


def parse_frame(frame: bytes) -> ArpFrame | None:
    """The IPv4-over-Ethernet ARP request or reply an Ethernet II frame carries (after at most one
    802.1Q tag, which the agent never sends but a bridge may show), or None for anything else."""
    if frame[_MACS : _MACS + 2] == _ETH_P_8021Q:
        frame = frame[:_MACS] + frame[_MACS + _VLAN_TAG :]
    try:
        return ArpFrame.unpack(frame)
    except DropError:
        return None


def is_announcement(arp: ArpFrame) -> bool:
    """RFC 5227 section 3: an announcement (gratuitous ARP) has the sender's address as the target's."""
    return arp.sender_ip == arp.target_ip


def sniff(interface: str, on_announce: Callable[[str, str], object], stop: threading.Event | None = None) -> None:
    """Read ARP frames on ``interface`` and call ``on_announce(ip, mac)`` for every gratuitous one
    (``mac`` as aa:bb:cc:dd:ee:ff).

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
            if arp is None or not is_announcement(arp):
                continue
            mac = arp.sender_mac.hex(":")
            try:
                result = on_announce(arp.sender_ip, mac)
            except Exception:  # one bad announcement must not stop the watcher
                log.exception("announce %s from %s failed", arp.sender_ip, mac)
                continue
            log.info("gratuitous ARP %s from %s: %s", arp.sender_ip, mac, result)


def start(interface: str, on_announce: Callable[[str, str], object]) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=sniff, args=(interface, on_announce, stop), name="arp-watch", daemon=True)
    thread.start()
    return thread, stop
