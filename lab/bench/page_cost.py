"""What memory costs this machine after an idle spell, and how much of it each daemon touches
(issue 13: the agent's idle CPU against Keepalived's moved from 1.2x to 5x between two days with
the same code).

On the lab's VM (2026-12-02) a process woken after 0.1 s of sleep paid for each 4 KiB page it
then touched far more than a cache miss: 9-15 us a page with the CPU otherwise idle, 0.5-2.6 us
with the daemons waking on the same CPU, against 0.01-0.3 us after a 1 ms sleep and about 0.2-1.6
us a page inside a 2 MiB transparent huge page (so the cost goes with page mappings, TLB and
page-table walks, not with the bytes; what the hypervisor does meanwhile is not visible from the
guest). A wake-up then costs about in proportion to the distinct pages it touches, and a CPython
wake-up touches several times the pages of Keepalived's C loop. The idle-CPU tables print this
machine's figures beside the daemons' so that a ratio is read with the regime it was taken in,
and the pages each daemon touches in a second: a figure that does not depend on the machine.

    python3 -m lab.bench.page_cost [--cpu N] [--sleep 0.1]
"""

from __future__ import annotations

import argparse
import contextlib
import mmap
import os
import select
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

PAGE = 4096
HUGE = 2 << 20


@contextlib.contextmanager
def _on_cpu(cpu: int | None) -> Iterator[None]:
    """Run the body on ``cpu`` (the daemons' CPU in idle_netns), then restore the affinity."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _region(pages: int, huge: bool) -> mmap.mmap:
    """An anonymous region of ``pages`` 4 KiB pages (in 2 MiB transparent huge pages when ``huge``
    and the kernel gives them; the caller checks with _huge_kib), every page written once."""
    size = pages * PAGE
    if huge:
        size = -(-size // HUGE) * HUGE + HUGE  # room to start the pages on a 2 MiB boundary
    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if huge:
        region.madvise(mmap.MADV_HUGEPAGE)
    for offset in range(0, size, PAGE):
        region[offset] = 1
    return region


def _huge_kib(address: int) -> int:
    """KiB of transparent huge pages in this process's mapping that holds ``address``."""
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:  # a mapping's header
            low, high = (int(bound, 16) for bound in fields[0].split("-"))
            inside = low <= address < high
        elif inside and fields and fields[0] == "AnonHugePages:":
            return int(fields[1])
    return 0


def touch_cost(sleep: float, pages: int = 256, rounds: int = 8, *, huge: bool = False) -> float | None:
    """CPU microseconds per 4 KiB page read once right after sleeping ``sleep`` seconds, less the
    same read at once again (the loop's own cost, warm): median over ``rounds`` wake-ups. With
    ``huge`` the pages lie in 2 MiB transparent huge pages (512 in each), or None when the kernel
    gave none."""
    region = _region(pages, huge)
    view = memoryview(region)
    address = _address(region) if huge else 0
    start = (-address) % HUGE
    offsets = range(start, start + pages * PAGE, PAGE)
    costs = []
    try:
        if huge and not _huge_kib(address):
            return None
        for _unused in range(rounds):
            time.sleep(sleep)
            cold = _read_pages(view, offsets)
            warm = _read_pages(view, offsets)
            costs.append(max(0.0, cold - warm) / pages / 1e3)
    finally:
        view.release()
        region.close()
    return statistics.median(costs)


def _address(region: mmap.mmap) -> int:
    """The region's virtual address (to start on a 2 MiB boundary)."""
    import ctypes  # noqa: PLC0415 - only the huge-page measure needs it

    anchor = ctypes.c_char.from_buffer(region)
    address = ctypes.addressof(anchor)
    del anchor  # the region can be closed again
    return address


def _read_pages(view: memoryview, offsets: range) -> int:
    """Thread CPU nanoseconds to read one byte of each page at ``offsets``."""
    total = 0
    begin = time.thread_time_ns()
    for offset in offsets:
        total += view[offset]
    return time.thread_time_ns() - begin


def wakeup_cost(sleep: float, rounds: int = 20) -> float:
    """CPU microseconds of one wake-up of a bare CPython loop that waits in epoll for ``sleep``
    seconds (the floor of any CPython daemon woken by a timer): median of ``rounds``."""
    poller = select.epoll()
    costs = []
    try:
        for _unused in range(rounds):
            begin = time.thread_time_ns()
            poller.poll(sleep)
            costs.append((time.thread_time_ns() - begin) / 1e3)
    finally:
        poller.close()
    return statistics.median(costs)


def measure(sleep: float = 0.1, cpu: int | None = None) -> dict:
    """This machine's figures after ``sleep`` seconds idle, on ``cpu``: us per 4 KiB page touched,
    in small pages and inside 2 MiB pages (None where the kernel gave none), and a bare CPython
    wake-up."""
    with _on_cpu(cpu):
        small = touch_cost(sleep)
        huge = touch_cost(sleep, huge=True) if _thp_possible() else None
        wakeup = wakeup_cost(sleep)
    return {"sleep_s": sleep, "page_us": round(small, 2), "page_in_huge_us": None if huge is None else round(huge, 2),
            "python_wakeup_us": round(wakeup, 1)}


def _thp_possible() -> bool:
    try:
        mode = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[never]" not in mode


def describe(figures: dict) -> str:
    """One line for a report."""
    huge = figures.get("page_in_huge_us")
    inside = f", {huge} us inside 2 MiB pages" if huge is not None else ", no transparent huge pages"
    return (f"this machine then: a 4 KiB page first touched after {figures['sleep_s']:g} s idle cost "
            f"{figures['page_us']} us of CPU{inside}; a bare CPython wake-up (epoll, {figures['sleep_s']:g} s) "
            f"{figures['python_wakeup_us']} us (lab/bench/page_cost.py)")


def referenced_pages(smaps: str, executable: str) -> dict:
    """Pages of a process's own mappings marked referenced in its /proc/PID/smaps text: ``text``
    (its executable's file, and the library of the same name when it has one: libpython3.11.so
    of a CPython built with --enable-shared), ``data`` (heap, stack, anonymous memory). Other
    libraries are left out: the referenced bit of a shared file page is set by whichever process
    touched it. The text figure is an upper bound for the same reason: a process starting the same
    program marks the pages it reads in (a sleeping interpreter showed 965 text pages in a second
    while others started, 1-5 otherwise); the data pages are the process's own."""
    own_library = "lib" + os.path.basename(executable)
    counts = {"text": 0, "data": 0}
    kind = None
    for line in smaps.splitlines():
        fields = line.split()
        if not fields:
            continue
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:  # a mapping's header
            path = fields[5] if len(fields) > 5 else ""
            if path == executable or os.path.basename(path).startswith(own_library):
                kind = "text"
            elif not path or path in ("[heap]", "[stack]"):
                kind = "data"
            else:
                kind = None  # other libraries, [vdso], locale files
        elif fields[0] == "Referenced:" and kind is not None:
            counts[kind] += int(fields[1]) * 1024 // PAGE
    return counts


def pages_touched_each(groups: list[list[int]], seconds: float = 1.0) -> list[dict]:
    """For each group of processes (a daemon and its children), the pages of their own they
    touch in the same ``seconds``: the referenced bits are cleared (/proc/PID/clear_refs), then
    read back (referenced_pages). Needs root."""
    for pid in (pid for group in groups for pid in group):
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("1")
    time.sleep(seconds)
    result = []
    for group in groups:
        total = {"text": 0, "data": 0}
        for pid in group:
            try:
                counts = referenced_pages(Path(f"/proc/{pid}/smaps").read_text(), os.readlink(f"/proc/{pid}/exe"))
            except OSError:  # ended meanwhile
                continue
            for kind, count in counts.items():
                total[kind] += count
        result.append(total)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sleep", type=float, default=0.1)
    parser.add_argument("--cpu", type=int)
    args = parser.parse_args()
    print(describe(measure(args.sleep, args.cpu)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
