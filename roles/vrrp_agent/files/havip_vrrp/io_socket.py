"""Raw IP sockets for VRRP (IP protocol 112): TTL 255 (RFC 3768 5.2.3), unicast to the configured
peers (guide point R4a) or multicast to 224.0.0.18 (RFC 3768 5.2.2), bound to one interface."""

from __future__ import annotations

import socket
import struct

from .packets import IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_TTL, VrrpV2Advert, VrrpV3Advert

SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
IPTOS_PREC_INTERNETCONTROL = 0xC0  # as Keepalived sends VRRP


def _raw_socket(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_VRRP)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 0)  # the kernel writes the IP header
    sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, interface.encode())
    sock.setblocking(False)
    return sock


class VrrpSender:
    """Sends one instance's adverts: to every unicast peer, or to the multicast group."""

    def __init__(self, interface: str, src_ip: str, peers: tuple[str, ...] = ()) -> None:
        self.interface = interface
        self.src_ip = src_ip
        self.peers = tuple(peers)
        self._cache: dict = {}
        self.sock = _raw_socket(interface)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, VRRP_TTL)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, VRRP_TTL)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, IPTOS_PREC_INTERNETCONTROL)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src_ip))
        self.sock.bind((src_ip, 0))  # the source address of every advert

    @property
    def destinations(self) -> tuple[str, ...]:
        return self.peers or (VRRP_MCAST_V4,)

    def _packed(self, advert: VrrpV2Advert | VrrpV3Advert) -> tuple:
        """(destination, bytes) of ``advert``: packed once, then reused (a master at 0.1 s sends the
        same few adverts ten times a second; idle cost, issue 13)."""
        key = (advert, self.peers)
        packed = self._cache.get(key)
        if packed is None:
            packed = tuple(
                (dst, advert.pack() if isinstance(advert, VrrpV2Advert) else advert.pack(self.src_ip, dst))
                for dst in self.destinations
            )
            if len(self._cache) >= 8:  # a few priorities at most; a reload may change the rest
                self._cache.clear()
            self._cache[key] = packed
        return packed

    def send(self, advert: VrrpV2Advert | VrrpV3Advert) -> int:
        sent = 0
        for dst, data in self._packed(advert):
            try:
                self.sock.sendto(data, (dst, 0))
                sent += 1
            except OSError:
                pass  # an unreachable peer must not stop the others; counted by the caller
        return sent

    def close(self) -> None:
        self.sock.close()


class VrrpReceiver:
    """Receives every VRRP packet arriving on one interface (unicast, and multicast when joined)."""

    def __init__(self, interface: str, local_ip: str, multicast: bool) -> None:
        self.interface = interface
        self.sock = _raw_socket(interface)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        if multicast:
            ifindex = socket.if_nametoindex(interface)
            mreqn = struct.pack("=4s4si", socket.inet_aton(VRRP_MCAST_V4), socket.inet_aton(local_ip), ifindex)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)

    def fileno(self) -> int:
        return self.sock.fileno()

    def read_all(self, limit: int = 64) -> list:
        """Whole IPv4 packets waiting on the socket (a raw socket returns the IP header too)."""
        packets = []
        for _unused in range(limit):
            try:
                packets.append(self.sock.recv(65535))
            except (BlockingIOError, InterruptedError):
                break
        return packets

    def close(self) -> None:
        self.sock.close()
