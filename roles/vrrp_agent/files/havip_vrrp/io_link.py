"""Link changes from the kernel (rtnetlink, RTMGRP_LINK): the daemon reads the interfaces' state
in /sys when one arrives, instead of polling every second (issue 13: idle cost)."""

from __future__ import annotations

import socket

RTMGRP_LINK = 0x1  # linux/rtnetlink.h: RTM_NEWLINK / RTM_DELLINK notifications


class LinkWatcher:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        try:
            self.sock.setblocking(False)
            self.sock.bind((0, RTMGRP_LINK))
        except OSError:
            self.sock.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def drain(self) -> int:
        """Read every pending notification; how many there were (their content does not matter:
        the daemon reads the state it needs from /sys)."""
        count = 0
        while True:
            try:
                self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return count
            except OSError:  # ENOBUFS: notifications were lost; reading /sys catches up anyway
                return count + 1
            count += 1

    def close(self) -> None:
        self.sock.close()
