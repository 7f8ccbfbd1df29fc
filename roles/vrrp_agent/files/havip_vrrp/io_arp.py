"""Gratuitous ARP (RFC 5227 section 3) over an AF_PACKET socket: how the VPC learns where the
HAVIP lives (guide point R4c)."""

from __future__ import annotations

import contextlib
import socket

from . import io_filter
from .packets import ETH_P_ARP, ArpFrame


def interface_mac(interface: str) -> str:
    with open(f"/sys/class/net/{interface}/address", encoding="ascii") as handle:
        return handle.read().strip()


class GarpSender:
    def __init__(self, interface: str) -> None:
        self.interface = interface
        self.mac = interface_mac(interface)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        try:
            with contextlib.suppress(OSError):  # send only: every ARP frame of the link would queue here
                io_filter.DROP_ALL.attach(self.sock)
            self.sock.bind((interface, ETH_P_ARP))
        except BaseException:
            self.sock.close()
            raise

    def send(self, addresses: tuple[str, ...]) -> int:
        sent = 0
        for address in addresses:
            try:
                self.sock.send(ArpFrame.gratuitous(self.mac, address).pack())
                sent += 1
            except OSError:
                pass
        return sent

    def close(self) -> None:
        self.sock.close()
