"""lab/bench/page_cost.py: the machine's cost of a page touched after an idle spell, and the pages
of its own each daemon touches (issue 13: the figures beside every idle-CPU table)."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest

from lab.bench import idle_netns, page_cost

SMAPS = """\
55d0c0000000-55d0c0100000 r-xp 00001000 fe:00 1234                       /usr/bin/python3.11
Size:               1024 kB
Referenced:          396 kB
55d0c1000000-55d0c1200000 rw-p 00000000 00:00 0                          [heap]
Referenced:           68 kB
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
Referenced:          236 kB
7f0000200000-7f0000300000 r-xp 00028000 fe:00 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
Referenced:         1528 kB
7f0000500000-7f0000600000 r-xp 00028000 fe:00 98                         /opt/py/lib/libpython3.11.so.1.0
Referenced:          100 kB
7f0000400000-7f0000401000 r--p 00000000 fe:00 77                         /usr/lib/locale/C.utf8/LC_CTYPE
Referenced:           88 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Referenced:            8 kB
7ffd00030000-7ffd00032000 r-xp 00000000 00:00 0                          [vdso]
Referenced:            8 kB
"""


def test_own_pages_are_the_executable_s_its_library_s_and_the_anonymous_ones_never_other_libraries():
    counts = page_cost.referenced_pages(SMAPS, "/usr/bin/python3.11")
    assert counts == {"text": 99 + 25, "data": 17 + 59 + 2}
    assert page_cost.referenced_pages(SMAPS, "/usr/sbin/keepalived") == {"text": 0, "data": 17 + 59 + 2}


@pytest.mark.parametrize("cold_ns, warm_ns, expected_us", [(1_000_000, 200_000, 3.125), (100, 900, 0.0)])
def test_a_page_s_cost_is_the_cold_read_less_the_warm_one(monkeypatch, cold_ns, warm_ns, expected_us):
    reads = iter([cold_ns, warm_ns] * 3)
    monkeypatch.setattr(page_cost, "_read_pages", lambda view, offsets: next(reads))
    assert page_cost.touch_cost(0.0, pages=256, rounds=3) == pytest.approx(expected_us)


def _child(code: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "ready\n"
    return child


def _asleep(pid: int) -> None:
    """Until ``pid`` has spent 0.3 s without CPU time (past its last bytecodes, into its sleep)."""
    deadline = time.monotonic() + 20
    last = idle_netns.cpu_ns(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = idle_netns.cpu_ns(pid)
        if now == last:
            return
        last = now
    raise AssertionError(f"{pid} never went to sleep")


def test_the_pages_a_process_touches_are_counted_and_a_sleeper_s_are_few():
    """A real count (root: clear_refs): a child that keeps reading 1 MiB of its own memory, one
    byte a page, against one that only sleeps. Only the sleeper's data pages are its own for
    sure: its program's text is shared with every process running the same interpreter, and one
    that starts meanwhile marks the pages it reads in (under make test's load the sleeper showed
    ~1000 text pages), which the text figure then counts."""
    toucher = _child("import time\nbuf = bytearray(256 * 4096)\nprint('ready', flush=True)\n"
                     "while True:\n    sum(buf[i] for i in range(0, len(buf), 4096))\n    time.sleep(0.02)\n")
    sleeper = _child("import time\nprint('ready', flush=True)\ntime.sleep(120)\n")
    try:
        _asleep(sleeper.pid)
        busy, idle = page_cost.pages_touched_each([[toucher.pid], [sleeper.pid]], seconds=0.5)
    finally:
        for child in (toucher, sleeper):
            child.kill()
            child.wait()
    assert busy["data"] >= 256, busy
    assert busy["text"] > 0, busy  # the interpreter ran
    assert idle["data"] < 16, idle


def test_the_machine_s_figures_are_measured_and_described():
    start = time.monotonic()
    figures = page_cost.measure(sleep=0.01)
    assert time.monotonic() - start < 10
    assert figures["sleep_s"] == 0.01
    for key in ("page_us", "python_wakeup_us"):
        assert math.isfinite(figures[key])
        assert figures[key] >= 0
    assert figures["python_wakeup_us"] > 0  # a wake-up is never free
    line = page_cost.describe(figures)
    assert f"{figures['page_us']} us" in line
    assert f"{figures['python_wakeup_us']} us" in line
