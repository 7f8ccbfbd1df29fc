"""The daemon's wait for input: the part of :mod:`selectors` it uses, straight on epoll. On the
lab's VMs the selectors layer cost about 50 us of Python per wake-up (issue 13, idle cost: a
master at advert_int 0.1 s wakes ten times a second), as much as the rest of a master's turn.

Same calls as a selectors.BaseSelector (register, modify, unregister; EVENT_READ, EVENT_WRITE
have the same values), but :meth:`wait` returns the ready objects' data, nothing else."""

from __future__ import annotations

import contextlib
import os
import select

EVENT_READ = 1  # as selectors.EVENT_READ
EVENT_WRITE = 2  # as selectors.EVENT_WRITE


def _fd(fileobj) -> int:
    return fileobj if isinstance(fileobj, int) else fileobj.fileno()


def _mask(events: int) -> int:
    return (select.EPOLLIN if events & EVENT_READ else 0) | (select.EPOLLOUT if events & EVENT_WRITE else 0)


class Poller:
    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._data: dict = {}  # fd -> data given at register/modify
        # epoll's own answer, (fd, events) pairs, without a Python frame: for a caller that only
        # needs to know whether anything is ready (fastpath.py).
        self.poll = self._epoll.poll

    def register(self, fileobj, events: int, data=None) -> None:
        fd = _fd(fileobj)
        if fd in self._data:
            raise KeyError(f"{fileobj!r} is already registered")
        self._epoll.register(fd, _mask(events))
        self._data[fd] = data

    def modify(self, fileobj, events: int, data=None) -> None:
        fd = _fd(fileobj)
        if fd not in self._data:
            raise KeyError(f"{fileobj!r} is not registered")
        self._epoll.modify(fd, _mask(events))
        self._data[fd] = data

    def unregister(self, fileobj) -> None:
        fd = _fd(fileobj)
        del self._data[fd]  # KeyError when not registered, as selectors
        with contextlib.suppress(OSError):  # already closed: the kernel dropped it from the set
            self._epoll.unregister(fd)

    def discard(self, fd: int) -> None:
        """Stop watching ``fd`` (if watched) and close it: a pidfd whose process ended or is no
        longer followed (daemon's track scripts, io_proc's tracked processes)."""
        with contextlib.suppress(KeyError, ValueError):
            self.unregister(fd)
        os.close(fd)

    def wait(self, timeout: float) -> list:
        """The data of every registered object ready within ``timeout`` seconds (rounded up to
        the next millisecond by epoll: never a busy loop just before a deadline)."""
        data = self._data
        return [data[fd] for fd, _events in self._epoll.poll(timeout) if fd in data]

    def close(self) -> None:
        self._epoll.close()
