"""Raw IP sockets for VRRP (IP protocol 112): TTL 255 (RFC 3768 5.2.3), unicast to the configured
peers (guide point R4a) or multicast to 224.0.0.18 (RFC 3768 5.2.2), bound to one interface."""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from fcntl import ioctl

from . import io_filter
from .packets import IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_TTL, VrrpV2Advert, VrrpV3Advert

SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
IPTOS_PREC_INTERNETCONTROL = 0xC0  # as Keepalived sends VRRP
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # asm-generic/socket.h (SCM_TIMESTAMPNS)
_TIMESPEC = struct.Struct("@ll")  # struct timespec: the stamp SO_TIMESTAMPNS hands over
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)
# Read size: the longest VRRP packet is 60 (IP header with options) + 8 + 255 * 4 + 8 octets;
# anything longer is cut, and then fails the length checks (packets.IPv4Header: truncated).
MAX_PACKET = 2048
FIONREAD = 0x541B  # SIOCINQ (asm-generic/ioctls.h: x86, arm64): the next datagram's size, 0 when none
_NOTHING = bytes(4)
CLOCK_PAIR_TRIES = 3  # reads of the two clocks, to find one not split by a preemption
CLOCK_PAIR_GAP = 20e-6  # a pair read within this is good enough: stop trying


def wall_minus_monotonic() -> float:
    """time.time() - time.monotonic(), read so that a preemption between the two reads cannot skew
    it: the wall clock is read between two monotonic reads, against their midpoint, and of a few
    such triples the tightest counts. (Read once, after the monotonic clock, a preemption of 77 us
    between the two made arrivals precede their sending on a loaded CI machine.)"""
    best_gap, best = float("inf"), 0.0
    for _unused in range(CLOCK_PAIR_TRIES):
        before = time.monotonic()
        wall = time.time()
        after = time.monotonic()
        if after - before < best_gap:
            best_gap, best = after - before, wall - (before + after) / 2
        if best_gap < CLOCK_PAIR_GAP:
            break
    return best


def _raw_socket(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_VRRP)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 0)  # the kernel writes the IP header
    sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, interface.encode())
    sock.setblocking(False)
    return sock


class VrrpSender:
    """Sends one instance's adverts: to every unicast peer, or to the multicast group."""

    def __init__(self, interface: str, src_ip: str, peers: tuple[str, ...] = (), sock=None) -> None:
        """``sock``: opened and set up here by default; tests pass a stand-in."""
        self.interface = interface
        self.src_ip = src_ip
        self.peers = tuple(peers)
        self._cache: dict = {}
        self._last: tuple = (None, None, ())
        if sock is not None:
            self.sock = sock
            return
        self.sock = _raw_socket(interface)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, VRRP_TTL)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, VRRP_TTL)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, IPTOS_PREC_INTERNETCONTROL)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src_ip))
        self.sock.bind((src_ip, 0))  # the source address of every advert
        with contextlib.suppress(OSError):  # send only: the receiver reads (an optimisation)
            io_filter.DROP_ALL.attach(self.sock)

    @property
    def destinations(self) -> tuple[str, ...]:
        return self.peers or (VRRP_MCAST_V4,)

    def packets(self, advert: VrrpV2Advert | VrrpV3Advert) -> tuple:
        """(bytes, (destination, 0)) of ``advert`` per destination: packed once, then reused (a
        master at 0.1 s sends the same few adverts ten times a second; idle cost, issue 13)."""
        last = self._last
        if advert is last[0] and self.peers is last[1]:  # the same advert object as last time
            return last[2]
        key = (advert, self.peers)
        packed = self._cache.get(key)
        if packed is None:
            packed = tuple(
                (advert.pack() if isinstance(advert, VrrpV2Advert) else advert.pack(self.src_ip, dst),
                 (dst, 0))
                for dst in self.destinations
            )
            if len(self._cache) >= 8:  # a few priorities at most; a reload may change the rest
                self._cache.clear()
            self._cache[key] = packed
        self._last = (advert, self.peers, packed)
        return packed

    def send(self, advert: VrrpV2Advert | VrrpV3Advert) -> int:
        return self.send_packets(self.packets(advert))

    def send_packets(self, packets: tuple) -> int:
        """Send what :meth:`packets` gave; how many destinations took it (the fast path,
        fastpath.py, keeps the packets and calls this alone)."""
        sent = 0
        sendto = self.sock.sendto
        for data, address in packets:
            try:
                sendto(data, address)
                sent += 1
            except OSError:
                pass  # an unreachable peer must not stop the others; counted by the caller
        return sent

    def close(self) -> None:
        self.sock.close()


class VrrpReceiver:
    """Receives every VRRP packet arriving on one interface (unicast, and multicast when joined),
    each with the time the kernel received it, so that a daemon that reads the socket late (in a
    batch, issue 13: a BACKUP does not wake for every advert) still runs its timers from the
    arrival times.

    ``urgent`` is a second socket on the same interface that the kernel (a classic BPF filter)
    lets only priority-0 adverts into: it wakes a daemon that does not watch the main socket,
    since a priority-0 advert must be answered within Skew_Time (RFC 3768 6.4.2, RFC 5798
    6.4.2), sooner than the Master_Down_Timer a batch waits for. It holds copies: its packets are
    only a signal (:meth:`clear_urgent`), the main socket has them all (io_filter).

    ``batchable`` is False when the kernel refused the stamps or the filter: the daemon then
    reads this socket for each packet, as before."""

    def __init__(self, interface: str, local_ip: str, multicast: bool) -> None:
        self.interface = interface
        self.sock = _raw_socket(interface)
        self.urgent = None
        self.batchable = False
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
            self._open_urgent(interface)
            if multicast:
                ifindex = socket.if_nametoindex(interface)
                mreqn = struct.pack("=4s4si", socket.inet_aton(VRRP_MCAST_V4), socket.inet_aton(local_ip), ifindex)
                self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        except BaseException:
            self.close()
            raise
        self.last_read = time.monotonic()  # every packet read later arrived after this
        self._fd = self.sock.fileno()
        self._queued = bytearray(4)  # FIONREAD's answer: the size of the next packet, 0 for none

    def _open_urgent(self, interface: str) -> None:
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.urgent = _raw_socket(interface)
            io_filter.PRIORITY_ZERO.attach(self.urgent)
        except OSError:  # an optimisation only: read each packet when it comes
            if self.urgent is not None:
                self.urgent.close()
                self.urgent = None
            return
        self.batchable = True

    def fileno(self) -> int:
        return self.sock.fileno()

    def read_all(self, limit: int = 64) -> list:
        """Whole IPv4 packets waiting on the socket (a raw socket returns the IP header too), as
        (packet, arrival) with arrival on the time.monotonic() clock. The kernel stamps packets
        with the wall clock: the stamp is moved to the monotonic clock and kept between the
        previous read and now, so that a step of the wall clock cannot move a timer outside what
        the reads themselves prove."""
        packets = []
        recvmsg = self.sock.recvmsg
        queued = self._queued
        for _unused in range(limit):
            # Ask first whether a packet waits (an IP packet is never empty: 0 means none). The read
            # of an empty queue would raise, and Python formats that error's text (strerror, gettext,
            # locale decoding): on a cold cache the costliest part of a batch (issue 13, idle cost).
            if queued is not None:
                try:
                    ioctl(self._fd, FIONREAD, queued)
                except OSError:  # not on this kernel: read until the queue is empty
                    queued = self._queued = None
                else:
                    if queued == _NOTHING:
                        break
            try:
                data, ancdata, _flags, _addr = recvmsg(MAX_PACKET, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # a pending socket error, cleared by this read: the queue goes on
                break
            packets.append([data, ancdata])
        now = time.monotonic()
        if packets:
            offset = wall_minus_monotonic()
            earliest = self.last_read
            for packet in packets:
                arrival = now
                for level, kind, raw in packet[1]:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= _TIMESPEC.size:
                        seconds, nanoseconds = _TIMESPEC.unpack_from(raw)
                        arrival = min(now, max(earliest, seconds + nanoseconds * 1e-9 - offset))
                packet[1] = earliest = arrival  # in order of arrival, whatever the stamps say
        self.last_read = now
        return packets

    def clear_urgent(self) -> int:
        """Empty the urgent socket (its packets are copies); how many it held."""
        count = 0
        while self.urgent is not None:
            try:
                self.urgent.recv(64)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            count += 1
        return count

    def close(self) -> None:
        self.sock.close()
        if self.urgent is not None:
            self.urgent.close()
