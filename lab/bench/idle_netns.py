"""Idle CPU of Keepalived and of the agent at several git refs, side by side at the same time,
without the Docker lab: each daemon pair runs in two network namespaces joined by a veth
(tests/unit/agent/test_interop.Pair: unicast, the guide's PASS authentication at 1 s, VRRPv3 at
0.1 s), all pairs at once, so that the machine's load weighs on each alike. CPU time is the
scheduler's own (/proc/PID/task/TID/schedstat, nanoseconds), over --samples samples of
--seconds each; the report gives the median and range per role and for both nodes together, the
pages of its own each daemon then touches in a second, and the machine's cost of a page touched
after an idle spell, measured beside the daemons (page_cost.py: the same code's ratio moves with
it). Several agent refs in one run share the interpreter's pages: the first started pays most for
them, so compare two refs in separate runs taken in turn (A B A B) when the page cost is high.

With --failover N it then measures, N times per agent ref and signal, how long the backup takes
to hold the VIP after the master gets SIGKILL (the Master_Down_Timer path) or SIGTERM (priority 0,
the Skew_Time path), from the signal on, polled every 2 ms; the master is failed at a random
point of its advert interval.

Needs root and /usr/sbin/keepalived (make host-tools). Usage:
    sudo python3 -m lab.bench.idle_netns [--advert 0.1] [--samples 6] [--seconds 10] [--failover 5] [--cpu N] REF...
(REF: a git ref whose agent to run, e.g. main or HEAD; "worktree" for the files as they are.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from lab.bench import page_cost, report

ROOT = Path(__file__).resolve().parents[2]
AGENT_SOURCES = "roles/vrrp_agent/files/havip_vrrp"
AGENT_PYTHON = "/usr/bin/python3"  # the nodes' interpreter, not a venv's
sys.path.insert(0, str(ROOT / "tests" / "unit"))
from agent import test_interop  # noqa: E402 - the tests' namespace pair, reused


def agent_dir(ref: str, work: Path) -> Path:
    """A directory holding the havip_vrrp package of ``ref`` as roles/vrrp_agent installs it: the
    modules only, compiled by the nodes' interpreter (checked-hash bytecode). Not the checkout's own
    __pycache__ (whether a test run left one there would move the agent's RSS by 2 MiB)."""
    target = work / ref.replace("/", "_")
    package = target / "havip_vrrp"
    if ref == "worktree":
        package.mkdir(parents=True)
        for module in (ROOT / AGENT_SOURCES).glob("*.py"):
            shutil.copy2(module, package / module.name)
    else:
        tar = work / f"{ref.replace('/', '_')}.tar"
        tar.write_bytes(subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref, AGENT_SOURCES],
                                       capture_output=True, check=True).stdout)
        with tarfile.open(tar) as handle:
            handle.extractall(target, filter="data")
        (target / AGENT_SOURCES).rename(package)
    subprocess.run([AGENT_PYTHON, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash", str(package)],
                   check=True)
    return target


def _processes(pid: int) -> list:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout.split()
    return [pid, *(int(c) for c in children)]


def cpu_ns(pid: int) -> int:
    """CPU time of ``pid`` and its children (Keepalived's VRRP process), in nanoseconds."""
    total = 0
    for proc in _processes(pid):
        try:
            for task in os.listdir(f"/proc/{proc}/task"):
                with open(f"/proc/{proc}/task/{task}/schedstat", encoding="ascii") as handle:
                    total += int(handle.read().split()[0])
        except OSError:
            pass
    return total


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its children, KiB."""
    total = 0
    for proc in _processes(pid):
        try:
            with open(f"/proc/{proc}/status", encoding="ascii") as handle:
                total += next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total


def failover(directory: Path, timing: dict, kind: signal.Signals, work: Path) -> float | None:
    """Seconds from ``kind`` sent to the master until the backup holds the VIP (one pair)."""
    test_interop.AGENT_DIR = directory
    pair = test_interop.Pair(work / f"failover-{time.monotonic_ns()}")
    pair.tmp.mkdir()
    try:
        master = pair.start_agent("a", 150, **timing)
        time.sleep(1.0)
        pair.start_agent("b", 100, **timing)
        test_interop.stable_single_holder(pair, expected="a", hold=2.0)
        # At a random point between two adverts: a fixed start-up sequence would otherwise fail
        # the master at about the same point each run, and SIGKILL's figure depends on it.
        time.sleep(random.uniform(0, float(timing["advert_int"])))  # noqa: S311 - a phase, not a secret
        master.send_signal(kind)
        return test_interop.wait_for(lambda: pair.has_vip("b"), timeout=10, step=0.002)
    finally:
        pair.close()


def failover_table(refs: list, directories: dict, timing: dict, reps: int, work: Path) -> None:
    print(f"\nfailover, {reps} runs each: seconds until the backup holds the VIP, median (min-max)")
    print("| agent | master SIGKILL (Master_Down_Timer) | master SIGTERM (priority 0) |")
    print("|---|---|---|")
    for ref in refs:
        cells = []
        for kind in (signal.SIGKILL, signal.SIGTERM):
            times = [t for t in (failover(directories[ref], timing, kind, work) for _unused in range(reps)) if t]
            cells.append(f"{statistics.median(times):.3f} ({min(times):.3f}-{max(times):.3f}), {len(times)}/{reps}"
                         if times else f"none of {reps}")
        print(f"| {ref} | {' | '.join(cells)} |")


def start_pairs(labels: list, directories: dict, timing: dict, work: Path, pairs: list) -> None:
    """One pair per label (Keepalived's, then each agent ref's), appended to ``pairs`` as started."""
    for label in labels:
        pair = test_interop.Pair(work / f"pair-{len(pairs)}")
        pair.tmp.mkdir()
        pairs.append(pair)
        if label == "keepalived":
            procs = [pair.start_keepalived("a", 150, **timing), pair.start_keepalived("b", 100, **timing)]
        else:
            test_interop.AGENT_DIR = directories[label]
            procs = [pair.start_agent("a", 150, **timing), pair.start_agent("b", 100, **timing)]
        pair.label, pair.daemons = label, procs


def pin(pairs: list, cpu: int) -> None:
    """Every daemon process (Keepalived's VRRP child too) on ``cpu`` only."""
    for pair in pairs:
        for daemon in pair.daemons:
            for proc in _processes(daemon.pid):
                os.sched_setaffinity(proc, {cpu})


def sample(pairs: list, samples: int, seconds: float) -> dict:
    """{id(pair): {"master", "backup", "both": [% of a core per sample]}}, all pairs over the same seconds."""
    cpu = {id(p): {"master": [], "backup": [], "both": []} for p in pairs}
    before = {id(p): ([cpu_ns(d.pid) for d in p.daemons], time.monotonic()) for p in pairs}
    for _unused in range(samples):
        time.sleep(seconds)
        for pair in pairs:
            now_ns, at = [cpu_ns(d.pid) for d in pair.daemons], time.monotonic()
            then_ns, then = before[id(pair)]
            used = [100 * (b - a) / 1e9 / (at - then) for a, b in zip(then_ns, now_ns, strict=True)]
            cpu[id(pair)]["master"].append(used[0])  # side a has priority 150: the master
            cpu[id(pair)]["backup"].append(used[1])
            cpu[id(pair)]["both"].append(sum(used))
            before[id(pair)] = (now_ns, at)
    return cpu


def touched(pairs: list) -> dict:
    """{id(pair): [pages of its own each daemon touched in 1 s, master then backup]}, all at once."""
    daemons = [(pair, d) for pair in pairs for d in pair.daemons]
    counts = page_cost.pages_touched_each([_processes(d.pid) for _pair, d in daemons])
    result: dict = {id(p): [] for p in pairs}
    for (pair, _daemon), count in zip(daemons, counts, strict=True):
        result[id(pair)].append(f"{count['text']}+{count['data']}")
    return result


def timing_of(advert: float) -> dict:
    """test_interop.Pair's timing for ``advert``: VRRPv2 at whole seconds, else VRRPv3."""
    version = 2 if advert >= 1 and advert == int(advert) else 3
    return {"version": version, "advert_int": int(advert) if version == 2 else advert}


def measure(directories: dict, advert: float, *, samples: int, seconds: float, cpu: int | None, work: Path) -> dict:
    """Keepalived's pair, then one per agent label (``directories``' keys), all at once: the record
    report.netns_idle_table renders (CPU per sample, RSS, VIP holders and own pages of each pair; the
    machine's page cost)."""
    timing = timing_of(advert)
    test_interop.AGENT_PYTHON = AGENT_PYTHON
    pairs: list = []
    try:
        start_pairs(["keepalived", *directories], directories, timing, work, pairs)
        time.sleep(3 * 3 * advert + 5)  # the elections are over
        if cpu is not None:
            pin(pairs, cpu)
        used = sample(pairs, samples, seconds)
        pages = touched(pairs)
        rows = [dict(used[id(pair)], daemon=pair.label, rss_kib=[rss_kib(d.pid) for d in pair.daemons],
                     holders=pair.holders(), own_pages=pages[id(pair)]) for pair in pairs]
        machine = page_cost.measure(advert, cpu)  # beside the daemons, on their CPU
    finally:
        for pair in pairs:
            pair.close()
    return {"advert_int": advert, "vrrp_version": timing["version"], "samples": samples, "seconds": seconds,
            "cpu": cpu, "pairs": rows, "machine": machine}


def part(daemons: list[str], adverts: list[float], *, samples: int, seconds: float, out_dir: Path) -> list[dict]:
    """make bench's `idle` part (needs root and Keepalived): for each advert_int, Keepalived and each
    agent of ``daemons`` (agent: this checkout's; agent@REF: REF's) at the same time, pinned to the
    last CPU; the records, also in idle-netns/records.json."""
    if os.geteuid() != 0 or not os.path.exists(test_interop.KEEPALIVED):
        raise RuntimeError("the idle part needs root (network namespaces, raw sockets) and "
                           f"{test_interop.KEEPALIVED} (make host-tools)")
    work = out_dir / "idle-netns"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # Each pair labelled as --daemons names it: agent (this checkout's files) or agent@REF.
    directories = {d: agent_dir(d.partition("@")[2] or "worktree", work)
                   for d in daemons if d.partition("@")[0] == "agent"}
    cpus = os.cpu_count() or 1
    records = []
    for advert in adverts:
        pairs_dir = work / f"advert-{advert:g}"  # each measure's own namespaces' files
        pairs_dir.mkdir()
        record = measure(directories, advert, samples=samples, seconds=seconds, cpu=cpus - 1 if cpus > 1 else None,
                         work=pairs_dir)
        records.append(record)
        print(f"idle-netns: advert_int {advert:g}: " + ", ".join(
            f"{r['daemon']} {statistics.median(r['both']):.3f} %" for r in record["pairs"]))
    (work / "records.json").write_text(json.dumps(records, indent=2) + "\n")
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("refs", nargs="+")
    parser.add_argument("--advert", type=float, default=0.1)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--failover", type=int, default=0, help="failover runs per agent ref and signal")
    parser.add_argument("--cpu", type=int, help="run every daemon on this CPU only (after the elections): each "
                        "wakes on the same core, whatever the scheduler would have chosen")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="idle-netns-"))
    directories = {ref: agent_dir(ref, work) for ref in args.refs}
    record = measure(directories, args.advert, samples=args.samples, seconds=args.seconds, cpu=args.cpu, work=work)
    print("\n".join(report.netns_idle_table(record)))
    if args.failover:
        failover_table(args.refs, directories, timing_of(args.advert), args.failover, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
