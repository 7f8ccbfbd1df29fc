"""The agent's vrrp_track_process (issue 12): parsed as Keepalived does, each matching process
watched by a pidfd (io_proc), a death seen without polling, delays and quorum in virtual time."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time

import pytest
from havip_vrrp import config, io_proc
from havip_vrrp.io_poll import Poller
from havip_vrrp.machine import State, VrrpInstance

from .test_config import GUIDE_PRIMARY

TRACKED = GUIDE_PRIMARY.replace("    track_script {\n        checkhaproxy\n    }\n",
                                "    track_script {\n        checkhaproxy\n    }\n"
                                "    track_process {\n        svc\n    }\n") + """
vrrp_track_process svc {
    process havip-tp-svc
    weight 0
    quorum 1
    delay 0.5
}
"""


_ids = itertools.count()


class Service:
    """Starts processes named ``name`` (a copy of sleep): unique per test, since xdist runs this
    module's tests side by side and the kernel's process list is shared (at most 15 characters, the
    kernel's command name)."""

    def __init__(self, tmp_path):
        self.name = f"hvtp{os.getpid() % 100000}x{next(_ids)}"
        self.binary = tmp_path / self.name
        shutil.copy(shutil.which("sleep"), self.binary)
        self.procs = []

    def __call__(self, *args):
        """One more process: its Popen."""
        self.procs.append(subprocess.Popen([str(self.binary), "300", *args]))
        time.sleep(0.05)  # exec done: the name is the new one
        return self.procs[-1]

    def spec(self, **changes):
        base = {"process": (self.name,), "weight": 0, "quorum": 1}
        base.update(changes)
        return config.TrackProcess("svc", **base)


@pytest.fixture
def service(tmp_path):
    started = Service(tmp_path)
    yield started
    for proc in started.procs:
        proc.kill()
        proc.wait()


def wait_exit(selector, timeout=5.0):
    """The first pidfd the kernel makes readable: (name, pid)."""
    ready = selector.wait(timeout)
    assert ready, "no pidfd became readable"
    return ready[0][1]


def test_the_block_and_the_instance_reference_are_parsed():
    conf = config.parse(TRACKED, "keepalived.conf")
    track = conf.track_processes["svc"]
    assert track.process == ("havip-tp-svc",)
    assert (track.weight, track.quorum, track.fork_delay, track.terminate_delay) == (0, 1, 0.5, 0.5)
    mc = conf.machine_config("VI_1")
    assert ("process:svc", 0) in mc.track_scripts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vrrp_track_process x {\n weight 0\n}\n", "vrrp_track_process x has no process"),
        ("vrrp_track_process x {\n process a\n weight 2 reverse\n}\n", "'weight ... reverse' is not supported"),
        ("vrrp_track_process x {\n process a\n quorum 3\n quorum_max 2\n}\n", "quorum_max 2 < quorum 3"),
        ("vrrp_track_process x {\n process a\n param_match some\n}\n", "param_match must be initial or partial"),
        ("vrrp_track_process x {\n process a\n nice 5\n}\n", "unknown or unsupported vrrp_track_process keyword"),
    ],
)
def test_bad_blocks_are_refused_with_the_line(text, message):
    with pytest.raises(config.ConfigError, match=message):
        config.parse(GUIDE_PRIMARY + text, "k.conf")


def test_an_undefined_track_process_is_refused():
    text = TRACKED.replace("vrrp_track_process svc", "vrrp_track_process other")
    with pytest.raises(config.ConfigError, match="track_process 'svc' is not a vrrp_track_process"):
        config.parse(text, "k.conf")


@pytest.mark.parametrize(
    ("changes", "comm", "argv", "wanted"),
    [
        ({}, "haproxy", ["/usr/sbin/haproxy", "-f", "x"], True),
        ({}, "haproxy-wrapper", ["haproxy"], False),  # exact, never a substring (unlike pgrep)
        ({"process": ("/usr/sbin/haproxy", "-f")}, "haproxy", ["/usr/sbin/haproxy", "-f"], True),
        ({"process": ("/usr/sbin/haproxy", "-f")}, "haproxy", ["/usr/sbin/haproxy", "-f", "x"], False),
        ({"process": ("/usr/sbin/haproxy", "-f"), "param_match": "partial"}, "h", ["/usr/sbin/haproxy", "-f", "x"],
         True),
        ({"process": ("/usr/sbin/haproxy", "-f", "/etc/hap"), "param_match": "initial"}, "h",
         ["/usr/sbin/haproxy", "-f", "/etc/haproxy.cfg"], True),
        ({"process": ("haproxy",), "param_match": "initial"}, "haproxy", ["haproxy", "-f"], False),
        ({"process": ("nginx:", "master"), "full_command": True}, "nginx", ["nginx:", "master"], True),
    ],
)
def test_matching_follows_keepalived(changes, comm, argv, wanted):
    base = {"process": ("haproxy",)}
    base.update(changes)
    assert io_proc.process_matches(config.TrackProcess("t", **base), comm, argv) is wanted


def test_a_death_is_seen_through_the_pidfd_and_a_restart_by_the_scan(service):
    first = service()
    selector = Poller()
    watch = io_proc.ProcessWatch(service.spec(), selector, now=100.0)
    assert watch.ok and watch.count == 1
    assert watch.deadline == float("inf")  # quorum met: nothing to poll
    first.kill()
    first.wait()
    name_pid = wait_exit(selector)
    assert name_pid == ("svc", first.pid)
    assert watch.on_exit(first.pid, 100.2) is False
    assert watch.deadline == pytest.approx(100.2 + io_proc.RESCAN)  # now it looks for a restart
    service()
    assert watch.poll(100.5) is None  # not yet time to scan
    assert watch.poll(100.2 + io_proc.RESCAN) is True
    assert watch.deadline == float("inf")
    watch.close()


def test_delays_and_quorum_in_virtual_time(service):
    one = service()
    selector = Poller()
    watch = io_proc.ProcessWatch(service.spec(quorum=2, terminate_delay=0.5, fork_delay=0.3), selector, now=0.0)
    assert not watch.ok  # one process, quorum 2: failed from the start, no delay
    two = service()
    assert watch.poll(io_proc.RESCAN) is None  # quorum reached: fork_delay first
    assert watch.poll(io_proc.RESCAN + 0.29) is None
    assert watch.poll(io_proc.RESCAN + 0.3) is True
    two.kill()
    two.wait()
    wait_exit(selector)
    assert watch.on_exit(two.pid, 10.0) is None  # terminate_delay
    assert watch.deadline == pytest.approx(10.5)
    assert watch.poll(10.5) is False
    assert one.poll() is None
    watch.close()


def test_quorum_max_and_zombies(service):
    selector = Poller()
    service()
    extra = service()
    watch = io_proc.ProcessWatch(service.spec(quorum_max=1), selector, now=0.0)
    assert not watch.ok and watch.count == 2
    extra.kill()  # not reaped: a zombie, which does not count
    time.sleep(0.1)
    assert io_proc.scan(service.spec()) == {p for p in watch.fds if p != extra.pid}
    assert watch.poll(io_proc.RESCAN) is True
    extra.wait()
    watch.close()


def test_a_dead_process_puts_the_instance_in_fault_by_name():
    conf = config.parse(TRACKED, "keepalived.conf")
    machine = VrrpInstance(conf.machine_config("VI_1"))
    machine.start(0.0)
    actions = machine.track_changed(1.0, "process:svc", False)
    assert machine.state == State.FAULT
    assert any(getattr(a, "reason", "") == "track_process svc failed" for a in actions), actions
    machine.track_changed(2.0, "process:svc", True)
    assert machine.state == State.BACKUP


def test_the_agent_runs_without_pidfd_by_scanning(service, monkeypatch):
    monkeypatch.delattr(os, "pidfd_open")
    proc = service()
    watch = io_proc.ProcessWatch(service.spec(), Poller(), now=0.0)
    assert watch.ok and watch.deadline == pytest.approx(io_proc.RESCAN)  # always scanning
    proc.kill()
    proc.wait()
    assert watch.poll(io_proc.RESCAN) is False


def test_dont_track_primary_keeps_the_instance_out_of_fault_when_its_interface_goes_down():
    for flag, wanted in (("", State.FAULT), ("    dont_track_primary\n", State.BACKUP)):
        # Without the guide's track_interface { eth0 } (Keepalived ignores the own interface there).
        text = GUIDE_PRIMARY.replace("    track_interface {\n        eth0\n    }\n", flag)
        machine = VrrpInstance(config.parse(text, "k.conf").machine_config("VI_1"))
        machine.start(0.0)
        machine.interface_changed(1.0, "eth0", False)
        assert machine.state == wanted, flag


# --- the daemon, for real: two agents in network namespaces (test_interop.Pair) ----------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")
def test_a_killed_tracked_process_hands_the_vip_over_at_once(pair, service):
    """The master's tracked process dies: its pidfd wakes the agent, the instance goes to FAULT
    (priority-0 advert) and the backup takes the VIP after its skew time - no script interval,
    no fall count (a script check at interval 1 s, fall 2 costs 1-2 s more)."""
    from .test_interop import MARGIN, SKEW_100, stable_single_holder, wait_for  # noqa: PLC0415

    svc = service()
    pair.start_agent("a", 150, track_process=service.name)  # the agent sees the host's PIDs (no PID namespace)
    pair.start_agent("b", 100)
    stable_single_holder(pair, expected="a")
    start = time.monotonic()
    svc.kill()
    elapsed = wait_for(lambda: pair.has_vip("b") and not pair.has_vip("a"), timeout=10)
    print(f"\ntracked process killed -> backup holds the VIP: {elapsed} s (skew time {SKEW_100:.3f} s)")
    assert elapsed is not None, pair.log("agent-a.log")
    assert elapsed < SKEW_100 + MARGIN
    log = pair.log("agent-a.log")
    assert "event=track_process process=svc ok=False processes=0" in log, log
    assert "reason=\"track_process svc failed\"" in log, log
    assert time.monotonic() - start < 10
    service()  # back: the agent finds it by its scan and leaves FAULT
    assert wait_for(lambda: "event=track_process process=svc ok=True" in pair.log("agent-a.log"),
                    timeout=io_proc.RESCAN + 3) is not None, pair.log("agent-a.log")


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/keepalived"),
                    reason="needs root and /usr/sbin/keepalived (make host-tools)")
def test_keepalived_track_process_needs_the_initial_network_namespace(pair, service):
    """Why the agent uses pidfds: Keepalived 2.2.7's vrrp_track_process listens to the kernel's
    process connector, which refuses a socket outside the initial network namespace (a container,
    the lab's nodes, these test namespaces): Keepalived logs it and keeps the instance in FAULT
    although the process runs. On a CVM's own namespace it works; see docs/troubleshooting.md."""
    from .test_interop import wait_for  # noqa: PLC0415

    service()
    pair.start_keepalived("a", 150, track_process=service.name)
    assert wait_for(lambda: "quorum not achieved" in pair.log("keepalived-a.log"), timeout=10) is not None, \
        pair.log("keepalived-a.log")
    log = pair.log("keepalived-a.log")
    assert "Failed to set/clear process event listen - errno 111" in log, log
    assert "(VI_1) entering FAULT state (tracked process svc quorum not achieved)" in log, log
