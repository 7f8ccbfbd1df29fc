"""The agent's idle cost (issue 13, finding 7): a BACKUP reads its adverts in batches at its own
deadlines instead of waking for each, with the timers an eager read would give (kernel arrival
stamps), and a priority-0 advert still wakes it at once (a BPF-filtered socket). R4g: the
cheaper loop must not change who is master, or when.

The namespace tests need root (as test_interop.py); the in-process ones run anywhere."""

import os
import socket
import subprocess
import sys
import time

import pytest
from havip_vrrp import io_socket
from havip_vrrp.machine import State
from havip_vrrp.packets import VrrpV2Advert

from .test_hostile import Receiver, quiet_daemon, start_agent
from .test_interop import AGENT_DIR, stable_single_holder, wait_for
from .test_packets import ip_header

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces, raw sockets)")

ADVERT = 0.1  # VRRPv3, the finest advert_int the lab measures
MASTER_DOWN = 3 * ADVERT + (256 - 100) / 256 * ADVERT  # RFC 5798 6.1, a priority-100 backup


def voluntary_switches(pid):
    """How many times the process went to sleep and woke up again (each wait in epoll is one)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("voluntary_ctxt_switches"))


def agent_pid(proc):
    """The agent under `ip netns exec` (which execs it: the same pid)."""
    return proc.pid


@needs_root
def test_a_backup_wakes_per_master_down_interval_not_per_advert(pair):
    """At advert_int 0.1 s the BACKUP used to wake for each of the master's ten adverts a
    second. Now it sleeps until its Master_Down_Timer and reads the adverts that came meanwhile:
    about one wake-up per Master_Down_Interval (0.36 s). It stays BACKUP throughout (its timer
    follows the arrival times, not the reading times), and the master still sends every 0.1 s."""
    start_agent(pair, "a", 150, version=3, advert_int=ADVERT)
    assert wait_for(lambda: pair.has_vip("a"), timeout=10) is not None, pair.log("agent-a.log")
    backup = start_agent(pair, "b", 100, version=3, advert_int=ADVERT)
    assert stable_single_holder(pair, expected="a", hold=2.0) == "a"
    seconds = 6.0
    before = voluntary_switches(agent_pid(backup))
    time.sleep(seconds)
    wakes = (voluntary_switches(agent_pid(backup)) - before) / seconds
    print(f"\nbackup wake-ups at advert_int {ADVERT} s: {wakes:.1f}/s (adverts: {1 / ADVERT:.0f}/s)")
    assert wakes < 0.6 / ADVERT, wakes  # an eager reader wakes 1/ADVERT times a second at least
    assert pair.holders() == ["a"]
    assert "new=MASTER" not in pair.log("agent-b.log"), pair.log("agent-b.log")


@needs_root
def test_a_priority_zero_advert_wakes_a_batched_backup_at_once(pair):
    """VRRPv2 at 1 s: the backup's Master_Down_Interval is 3.61 s, its Skew_Time 0.61 s. A master
    that stops sends priority 0; the backup, which does not watch its VRRP socket, must take over
    after Skew_Time (RFC 3768 6.4.2), not when its batch is read at the Master_Down_Timer."""
    master = start_agent(pair, "a", 150)
    assert wait_for(lambda: pair.has_vip("a"), timeout=10) is not None, pair.log("agent-a.log")
    start_agent(pair, "b", 100)
    assert stable_single_holder(pair, expected="a", hold=4.0) == "a"
    master.send_signal(15)
    elapsed = wait_for(lambda: pair.has_vip("b") and not pair.has_vip("a"), timeout=10)
    print(f"\ntakeover after priority 0 by a batched backup: {elapsed} s (Skew_Time 0.61 s, Master_Down 3.61 s)")
    assert elapsed is not None, pair.log("agent-b.log")
    assert elapsed < 0.61 + 1.0 < 3.61  # margin: process scheduling on a loaded machine


RECEIVE = """
import socket, sys, time
sys.path.insert(0, sys.argv[1])
from havip_vrrp.io_socket import VrrpReceiver
r = VrrpReceiver(sys.argv[2], sys.argv[3], multicast=False)
if sys.argv[5] == "without-fionread":
    r._queued = None  # as after a kernel refused the ioctl: read until the read fails
print("ready", flush=True)
time.sleep(float(sys.argv[4]))
before_read = time.monotonic()
packets = r.read_all()
print(len(packets), r.clear_urgent(), " ".join("%.6f" % t for _data, t in packets), before_read, flush=True)
"""

SEND = """
import sys, time
sys.path.insert(0, sys.argv[1])
from havip_vrrp.io_socket import VrrpSender
from havip_vrrp.packets import VrrpV2Advert
s = VrrpSender(sys.argv[2], sys.argv[3], (sys.argv[4],))
for priority in (100, 100, 0, 100):
    print("%.6f" % time.monotonic(), flush=True)
    s.send(VrrpV2Advert(51, priority, ("172.16.16.12",), 1))
    time.sleep(0.2)
"""


@needs_root
@pytest.mark.parametrize("how", ["with-fionread", "without-fionread"])
def test_the_receiver_stamps_arrivals_and_only_priority_zero_is_urgent(pair, how):
    """io_socket.VrrpReceiver on a real veth: packets read a second late carry the time they
    arrived (kernel stamps on the monotonic clock), and the urgent socket's filter lets in the
    priority-0 advert only. The batch ends when FIONREAD says the queue is empty, or, where the
    kernel refuses that ioctl, when a read fails: the same packets either way."""
    ns = {side: ["ip", "netns", "exec", pair.ns[side], sys.executable, "-c"] for side in "ab"}
    receiver = subprocess.Popen([*ns["b"], RECEIVE, str(AGENT_DIR), pair.dev["b"], pair.ip["b"], "1.5", how],
                                stdout=subprocess.PIPE, text=True)
    assert receiver.stdout.readline().strip() == "ready"
    sent = subprocess.run([*ns["a"], SEND, str(AGENT_DIR), pair.dev["a"], pair.ip["a"], pair.ip["b"]],
                          capture_output=True, text=True, check=True).stdout.split()
    count, urgent, *stamps, read_at = receiver.communicate(timeout=10)[0].split()
    assert (int(count), int(urgent)) == (4, 1)  # every advert on the main socket, priority 0 only urgent
    arrivals = [float(x) for x in stamps]
    for sent_at, arrival in zip((float(x) for x in sent), arrivals, strict=True):
        assert 0 <= arrival - sent_at < 0.05, (sent, arrivals)  # same host: one monotonic clock
    assert float(read_at) - arrivals[0] > 0.5  # read late, stamped early


class PreemptedClocks:
    """time.monotonic and time.time as a loaded machine gives them: the first wall read comes
    ``delay`` after the monotonic read before it (the process lost the CPU in between), the next
    reads are close together. The wall clock is the monotonic one plus ``WALL``."""

    WALL = 1_000_000.0

    def __init__(self, start, delay):
        self.now, self.delays = start, [delay]

    def monotonic(self):
        self.now += 1e-6
        return self.now

    def time(self):
        self.now += self.delays.pop() if self.delays else 1e-6
        return self.now + self.WALL


class StampedSocket:
    """A socket whose queue holds packets with the kernel's SO_TIMESTAMPNS stamps (wall clock)."""

    def __init__(self, stamps):
        self.queue = [(b"advert", [(socket.SOL_SOCKET, io_socket.SO_TIMESTAMPNS,
                                    io_socket._TIMESPEC.pack(int(t), round(t % 1 * 1e9)))], 0, None)
                      for t in stamps]

    def recvmsg(self, _size, _ancillary):
        if not self.queue:
            raise BlockingIOError
        return self.queue.pop(0)


def test_a_preemption_between_the_clock_reads_does_not_move_arrivals_earlier(monkeypatch):
    """CI (stop 20's submission): a packet was stamped 77 us before it was sent. read_all moves the
    kernel's wall-clock stamps to the monotonic clock by their difference, and read that difference
    as time.time() - time.monotonic() once: a preemption between the two reads made it too large by
    the delay, and every arrival of the batch too early by as much (an earlier Master_Down_Timer).
    Now the wall clock is read between two monotonic reads, and a split triple is read again."""
    arrived = [99.9, 99.95]  # monotonic times of arrival, read at about 100.0
    clocks = PreemptedClocks(100.0, delay=0.0008)
    monkeypatch.setattr(io_socket, "time", clocks)
    receiver = object.__new__(io_socket.VrrpReceiver)
    receiver.sock = StampedSocket([t + clocks.WALL for t in arrived])
    receiver._queued, receiver.last_read = None, 99.0  # read until the queue is empty
    stamps = [when for _data, when in receiver.read_all()]
    assert stamps == pytest.approx(arrived, abs=20e-6), stamps  # 0.8 ms early before the fix


def test_a_batch_sets_the_master_down_timer_from_the_last_arrival(monkeypatch):
    """In process, virtual time: three adverts that arrived at 1.0, 1.1 and 1.2 s but are read at
    1.35 s set the Master_Down_Timer as if each had been read when it came (1.2 s + interval)."""
    d, runtime, _sender = quiet_daemon(monkeypatch)
    d.feed(runtime, 0.0, runtime.machine.start)
    peer = d.conf.machine_config("VI_1", "172.16.16.6")
    advert = VrrpV2Advert(peer.vrid, 200, peer.vips, int(peer.advert_int), 1, _pass(peer.auth_pass))
    packet = ip_header(advert.pack(), src="172.16.16.6", dst="172.16.16.5")
    d.receivers["eth0"] = Receiver([], 0.0)
    d.receivers["eth0"].packets = [(packet, when) for when in (1.0, 1.1, 1.2)]
    d.on_vrrp("eth0")
    assert runtime.machine.state == State.BACKUP
    assert runtime.received == 3
    assert runtime.deadline == pytest.approx(1.2 + runtime.machine.master_down_interval)
    assert runtime.machine.stats.peers["172.16.16.6"] == (200, 1.2)
    assert len(d.verdicts) == 1  # the same advert thrice: judged once


def test_only_instances_that_must_answer_every_advert_watch_their_socket(monkeypatch):
    """The rule of _watch_receivers: a MASTER (or one not started) watches its interface's VRRP
    socket; BACKUP and FAULT read it in batches."""

    class Batchable:  # a VrrpReceiver whose kernel gave stamps and the urgent filter
        batchable = True

        def __init__(self, sock):
            self.fileno = sock.fileno

    d, runtime, _sender = quiet_daemon(monkeypatch)
    ours, _theirs = socket.socketpair()
    d.receivers["eth0"] = Batchable(ours)
    try:
        d._watch_receivers()
        assert d.eager == {"eth0": True} and d.lazy == []  # INIT
        d.feed(runtime, 0.0, runtime.machine.start)
        d._watch_receivers()
        assert d.eager == {"eth0": False} and d.lazy == ["eth0"]  # BACKUP
        now = 0.0
        while runtime.machine.state != State.MASTER:
            now = runtime.deadline
            d.feed(runtime, now, runtime.machine.tick)
        assert d.receivers_due
        d._watch_receivers()
        assert d.eager == {"eth0": True} and d.lazy == []  # MASTER
        runtime.machine.state = State.BACKUP
        d.receivers["eth0"].batchable = False  # no stamps or no filter: read each packet, always
        d._watch_receivers()
        assert d.eager == {"eth0": True} and d.lazy == []
    finally:
        ours.close()
        _theirs.close()


def _pass(password):
    from havip_vrrp.packets import pass_field  # noqa: PLC0415

    return pass_field(password)


def test_the_command_line_does_not_load_shutil_and_the_compressors():
    """RSS: argparse's default help formatter imports shutil (and bz2, lzma, zlib, fnmatch with it)
    to learn the terminal width; the agent's parser does not, and neither does anything else it
    loads to run (about 1 MiB of a 13-15 MiB process)."""
    code = ("import sys, havip_vrrp.__main__ as m, havip_vrrp.daemon, havip_vrrp.io_socket, havip_vrrp.io_arp;"
            "m.build_parser().parse_args(['run']);"
            "print(sorted({'shutil', 'bz2', 'lzma', 'fnmatch'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(AGENT_DIR)}).stdout
    assert out.strip() == "[]"


def test_the_end_of_a_script_wakes_the_loop_at_once():
    """A track script's result used to be read at the next wake-up (its timeout at the latest).
    A BACKUP that no longer wakes for each advert must not read it later: the script's pidfd
    wakes the loop when it ends."""
    from havip_vrrp.daemon import Daemon  # noqa: PLC0415

    d = Daemon("/nonexistent", status_file="", metrics_port=None)
    proc = subprocess.Popen(["sleep", "0.3"])
    try:
        d._watch_child(proc.pid)
        if d.child_fds[proc.pid] is None:
            pytest.skip("no pidfd here (Linux < 5.3 or Python < 3.9): the loop polls instead")
        start = time.monotonic()
        ready = d.selector.wait(5.0)
        elapsed = time.monotonic() - start
        assert ready == [("child", proc.pid)]
        assert 0.2 < elapsed < 1.0, elapsed
        d._child_ended(proc.pid)
        assert d.child_fds == {}
    finally:
        proc.wait(timeout=5)
