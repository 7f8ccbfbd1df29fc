"""Classic BPF socket filters (SO_ATTACH_FILTER, linux/filter.h): the kernel decides which
packets a socket keeps, so the agent neither wakes nor pays for the others (issue 13, idle cost).

- DROP_ALL on the send-only sockets (VRRP and gratuitous ARP): a raw socket gets a copy of every
  packet of its protocol, which nobody would read; Keepalived does the same with its send
  sockets (vrrp_if.c, if_setsockopt_no_receive).
- PRIORITY_ZERO on the receiver's urgent socket (io_socket.VrrpReceiver): only adverts with
  priority 0, which a BACKUP must answer within Skew_Time (RFC 3768 6.4.2, RFC 5798 6.4.2)."""

from __future__ import annotations

import array
import socket
import struct

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)


class Program:
    """struct sock_fprog: the length and a pointer to the instructions (array.buffer_info gives
    the pointer without ctypes and the memory it costs); the array lives as long as this."""

    def __init__(self, instructions: list) -> None:
        self.code = array.array("B", b"".join(struct.pack("=HBBI", *ins) for ins in instructions))
        address, _unused = self.code.buffer_info()
        self.fprog = struct.pack("@HP", len(instructions), address)

    def attach(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, self.fprog)


DROP_ALL = Program([(0x06, 0, 0, 0)])  # ret #0

# On a raw IPv4 socket the filter sees the packet from its IP header on (net/ipv4/raw.c).
PRIORITY_ZERO = Program([
    (0xB1, 0, 0, 0),  # ldxb 4*([0]&0xf): X = IP header length
    (0x50, 0, 0, 2),  # ldb [x+2]: A = the VRRP priority (RFC 3768 5.3.4, RFC 5798 5.2.4)
    (0x15, 0, 1, 0),  # jeq #0: priority 0 goes on, anything else to the drop
    (0x06, 0, 0, 64),  # ret #64: keep the first 64 bytes (a copy that is only a signal)
    (0x06, 0, 0, 0),  # ret #0: drop
])
