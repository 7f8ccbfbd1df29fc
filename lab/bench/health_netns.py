"""The health drill without the Docker lab: a failing service seen by the script check or by
track_process, for Keepalived and the agent (issue 12), at advert_int 1 s (VRRPv2) and 0.1 s (VRRPv3).

Keepalived's vrrp_track_process listens to the kernel's process connector, which answers only in
the initial network namespace (Keepalived issue #1469; in a container or another namespace the
instance stays in FAULT, tests/unit/agent/test_track_process.py). So the tracked node ("a", the
master) runs in this host's own namespace and its peer ("b") in a namespace made here, joined by a
veth made here (both ends named havip-tb0, 10.254.12.5 and .6/24, VIP 10.254.12.12: a range the
host and the lab do not use). Nothing else of the host is touched; the namespace, the veth and every
process started are removed afterwards, also on an error, SIGTERM or Ctrl-C.

Each node's keepalived.conf is the one the roles render: the tests' render playbook
(tests/unit/playbooks/render_keepalived.yml) runs the keepalived role's variables and the shared
preflight and templates (keepalived.conf, check_service.sh, notify_action.sh) with this bench's
inventory (inventory()); both daemons read that same file, as the vrrp_agent role has them do.
The tracked service is a Python HTTP server on the master's 127.0.0.1 whose process is named
havip-tb-svc (a symlink to python3: the kernel names a process after the path it was run by). The
script check is the role's check_service.sh (pgrep -x of the name, then a TCP connect to the port)
at interval 1, fall 2, rise 1, timeout 1 (make bench's settings at 1 s and 0.1 s); track_process
watches the name with the role's defaults (weight 0, quorum 1, no delay). The peer tracks nothing:
its Keepalived could not track the process from its namespace, and a healthy check on the backup
does not change the time measured.

One run: the service, then the master's daemon, which takes the VIP alone, then the peer's; once
one node has held the VIP alone for a while, at a random point of a second (the check's interval)
the service gets SIGKILL (reaped at once, as systemd would); the figure is the time from the kill
until the peer holds the VIP, polled every 2 ms (as idle_netns' failover). Then both daemons stop.

Needs root and /usr/sbin/keepalived (make host-tools). Usage:
    python3 -m lab.bench.health_netns [--reps 5] [--daemons keepalived,agent] [--adverts 1,0.1] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from lab.bench import report
from tests.unit.agent import test_interop  # the tests' takeover helpers (wait_for, stable_single_holder)
from tests.unit.playbook_runner import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
RENDER_PLAYBOOK = ROOT / "tests" / "unit" / "playbooks" / "render_keepalived.yml"
AGENT_FILES = ROOT / "roles" / "vrrp_agent" / "files"
KEEPALIVED = "/usr/sbin/keepalived"
AGENT_PYTHON = "/usr/bin/python3"  # the nodes' interpreter, not a venv's
NETNS = "havip-tb-peer"
DEV = "havip-tb0"
ADDRESS = {"a": "10.254.12.5", "b": "10.254.12.6"}
VIP = "10.254.12.12"
HOSTS = {"a": "havip-tb-a", "b": "havip-tb-b"}
SERVICE = "havip-tb-svc"  # the process name both checks look for (at most 15 characters)
CHECKS = ("script", "track_process")
# make bench's health check at advert_int 1 and 0.1 (lab/bench/__main__.py cluster_vars).
SCRIPT = {"name": "chk_svc", "interval": 1, "fall": 2, "rise": 1, "timeout": 1}
TRACK = {"name": "svc", "process": SERVICE}  # the role's defaults: weight 0, quorum 1, no delay
KILL_PHASE_S = 1.0  # the kill falls anywhere in one script interval


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def timing(advert: float) -> tuple[int, float | int]:
    """(VRRP version, advert_int as the inventory writes it)."""
    version = report.vrrp_version(advert)
    return version, int(advert) if version == 2 else advert


def inventory(check: str, advert: float, render_dir: Path, port: int) -> dict:
    """The bench's inventory: the tracked node a and its peer b, the instance tracking ``check``."""
    version, advert_int = timing(advert)
    instance = {"name": "VI_1", "virtual_router_id": 51, "interface": DEV, "advert_int": advert_int,
                "virtual_ipaddresses": [VIP], "track_scripts": [], "track_processes": []}
    if version == 2:
        instance["auth_pass"] = "tb-pass"  # noqa: S105 - a bench-only secret (RFC 5798: none in VRRPv3)
    tracked = dict(instance, **({"track_scripts": [SCRIPT["name"]]} if check == "script"
                                else {"track_processes": [TRACK["name"]]}))
    hosts = {}
    for side, inst in (("a", tracked), ("b", instance)):
        node_dir = render_dir / HOSTS[side]
        hosts[HOSTS[side]] = {
            "keepalived_unicast_src_ip": ADDRESS[side],
            "keepalived_instances": [inst],
            "keepalived_config_dir": str(node_dir),
            "keepalived_state_dir": str(node_dir / "state"),
            "keepalived_notify_log": str(node_dir / "notify.log"),
            # Only the tracked node's check exists: the peer's would look for a service it has not.
            "keepalived_vrrp_scripts": ([dict(SCRIPT, script=str(node_dir / "check_service.sh"))]
                                        if side == "a" and check == "script" else []),
            "keepalived_track_processes": [TRACK] if side == "a" and check == "track_process" else [],
        }
    return {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"cluster": {"hosts": hosts, "vars": {
            "keepalived_cluster_group": "cluster", "keepalived_vrrp_version": version,
            "keepalived_check_process": SERVICE, "keepalived_check_port": port,
            "keepalived_check_preflight": False,  # the service runs only while measured
        }}},
    }}


def plan_bound(inv: dict) -> float:
    """The health drill's bound of this cluster, from the collection's plan (vrrp_plan)."""
    from ansible_collections.havip.tencentcloud.plugins.filter.vrrp_plan import vrrp_plan  # noqa: PLC0415

    cluster = inv["all"]["children"]["cluster"]
    hostvars = {host: {**cluster["vars"], **own} for host, own in cluster["hosts"].items()}
    return round(vrrp_plan([HOSTS["a"], HOSTS["b"]], hostvars)["bounds_s"]["health"], 3)


def render(inv: dict, render_dir: Path) -> dict:
    """keepalived.conf per side, rendered by the roles' templates."""
    render_dir.mkdir(parents=True, exist_ok=True)
    path = render_dir / "inventory.yml"
    path.write_text(yaml.safe_dump(inv))
    proc = ansible_playbook("-i", path, RENDER_PLAYBOOK, "-e", f"render_dir={render_dir}")
    if proc.returncode:
        raise RuntimeError(f"rendering with the roles failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    return {side: render_dir / host / "keepalived.conf" for side, host in HOSTS.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Testbed:
    """The peer's namespace and the veth; the processes started here. ``holders()`` in the
    tests' Pair terms (sides a and b), so that test_interop's helpers apply."""

    def __init__(self, work: Path, netns: str = NETNS, dev: str = DEV) -> None:
        self.work, self.netns, self.dev = work, netns, dev
        self.procs: list[subprocess.Popen] = []
        self.created: list[str] = []
        for name, exists in ((netns, Path(f"/run/netns/{netns}").exists()),
                             (dev, Path(f"/sys/class/net/{dev}").exists())):
            if exists:
                raise RuntimeError(f"{name} exists already (another run, or one killed before it cleaned up): "
                                   f"remove it (ip netns del {netns}; ip link del {dev}) and run again")
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        netns, dev, born = self.netns, self.dev, f"{self.dev[:14]}p"
        run("ip", "netns", "add", netns)
        self.created.append("netns")
        run("ip", "link", "add", dev, "type", "veth", "peer", "name", born)
        self.created.append("veth")
        run("ip", "link", "set", born, "netns", netns)
        run("ip", "-n", netns, "link", "set", born, "name", dev)  # the same name on both nodes
        run("ip", "addr", "add", f"{ADDRESS['a']}/24", "dev", dev)
        run("ip", "-n", netns, "addr", "add", f"{ADDRESS['b']}/24", "dev", dev)
        for prefix in ((), ("-n", netns)):
            run("ip", *prefix, "link", "set", dev, "up")
        run("ip", "-n", netns, "link", "set", "lo", "up")
        bin_dir = self.work / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        self.service_path = bin_dir / SERVICE
        self.service_path.unlink(missing_ok=True)
        self.service_path.symlink_to(os.path.realpath(AGENT_PYTHON))

    def close(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)
        if "veth" in self.created:
            run("ip", "link", "del", self.dev, check=False)  # takes its peer in the namespace along
        if "netns" in self.created:
            run("ip", "netns", "del", self.netns, check=False)
        self.created.clear()

    def __enter__(self) -> Testbed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, side: str, cmd: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
        prefix = ["ip", "netns", "exec", self.netns] if side == "b" else []
        with log.open("a") as out:
            proc = subprocess.Popen([*prefix, *cmd], stdout=out, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)  # its own group: stop() ends its children too
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        """SIGTERM (the daemons leave gracefully: VIP released), SIGKILL to the group if it hangs."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a child left behind by its parent
        if proc in self.procs:
            self.procs.remove(proc)

    def has_vip(self, side: str) -> bool:
        prefix = ["-n", self.netns] if side == "b" else []
        return f" {VIP}/" in run("ip", *prefix, "-4", "-o", "addr", "show", "dev", self.dev).stdout

    def holders(self) -> list[str]:
        return [side for side in "ab" if self.has_vip(side)]

    def release_vip(self) -> None:
        """A daemon killed by force may leave the VIP behind; the next run starts without it."""
        for side in self.holders():
            run("ip", *(["-n", self.netns] if side == "b" else []), "addr", "del", f"{VIP}/32", "dev", self.dev,
                check=False)

    def daemon(self, daemon: str, side: str, conf: Path, logs: Path) -> subprocess.Popen:
        if daemon == "keepalived":
            cmd = [KEEPALIVED, "-n", "-l", "-D", "-P", "-f", str(conf),
                   "-p", str(logs / f"ka-{side}.pid"), "-r", str(logs / f"ka-vrrp-{side}.pid")]
            return self.start(side, cmd, logs / f"keepalived-{side}.log")
        cmd = [AGENT_PYTHON, "-m", "havip_vrrp", "run", "-f", str(conf),
               "--status-file", str(logs / f"status-{side}.json"), "--metrics-port", "-1"]
        return self.start(side, cmd, logs / f"agent-{side}.log", env={**os.environ, "PYTHONPATH": str(AGENT_FILES)})

    def service(self, port: int, logs: Path) -> subprocess.Popen:
        proc = self.start("a", [str(self.service_path), "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                          logs / "service.log")
        ready = test_interop.wait_for(lambda: _accepts(port), timeout=10, step=0.02)
        comm = Path(f"/proc/{proc.pid}/comm").read_text().strip() if proc.poll() is None else None
        if ready is None or comm != SERVICE:
            raise RuntimeError(f"the service did not start as {SERVICE} on 127.0.0.1:{port} (name {comm!r}); "
                               f"see {logs / 'service.log'}")
        return proc


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def one_run(bed: Testbed, daemon: str, confs: dict, advert: float, *, port: int, logs: Path) -> dict:
    """Kill the master's service once; seconds until the peer holds the VIP (None: never)."""
    logs.mkdir(parents=True, exist_ok=True)
    bed.release_vip()
    service = bed.service(port, logs)
    started = [service]
    try:
        started.append(bed.daemon(daemon, "a", confs["a"], logs))
        # Both nodes are BACKUP with nopreempt (the roles' default): alone, a becomes master
        # after Master_Down_Interval and keeps the VIP when b starts.
        if test_interop.wait_for(lambda: bed.has_vip("a"), timeout=3 * (3 * advert + 1) + 5) is None:
            raise RuntimeError(f"{daemon}: the tracked node never took the VIP; see {logs}")
        started.append(bed.daemon(daemon, "b", confs["b"], logs))
        test_interop.stable_single_holder(bed, expected="a", hold=max(2.0, 5 * advert))
        time.sleep(random.uniform(0, KILL_PHASE_S))  # noqa: S311 - a phase, not a secret
        killed = time.monotonic()
        service.kill()
        service.wait(timeout=5)
        taken = test_interop.wait_for(lambda: bed.has_vip("b"), timeout=15, step=0.002)
        elapsed = None if taken is None else round(time.monotonic() - killed, 3)
        holders = bed.holders()
        return {"outage_s": elapsed, "holders_after": holders, "passed": elapsed is not None and holders == ["b"]}
    finally:
        for proc in reversed(started):
            bed.stop(proc)


def measure(daemons: list[str], adverts: list[float], reps: int, work: Path) -> list[dict]:
    """Every (advert_int, check, daemon) ``reps`` times; one sample per run (report.health_rows)."""
    samples = []
    with Testbed(work) as bed:
        for advert in adverts:
            version, _unused = timing(advert)
            for check in CHECKS:
                port = free_port()
                render_dir = work / f"render-a{advert:g}-{check}"
                inv = inventory(check, advert, render_dir, port)
                bound = plan_bound(inv)
                confs = render(inv, render_dir)
                for daemon in daemons:
                    for rep in range(1, reps + 1):
                        logs = work / "logs" / f"{daemon}-a{advert:g}-{check}-{rep}"
                        result = one_run(bed, daemon, confs, advert, port=port, logs=logs)
                        result.update(daemon=daemon, advert_int=advert, vrrp_version=version, check=check, rep=rep,
                                      bound_s=bound)
                        samples.append(result)
                        print(f"health-netns: {daemon} a{advert:g} {check} #{rep}: {result['outage_s']} s "
                              f"(plan bound {bound} s){'' if result['passed'] else ' FAILED, see ' + str(logs)}",
                              flush=True)
    return samples


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through Testbed.close()


def part(reps: int, daemons: list[str], adverts: list[float], out_dir: Path) -> list[dict]:
    """make bench's `health` part (needs root and Keepalived): the samples, also in health-netns/samples.json."""
    if os.geteuid() != 0 or not os.path.exists(KEEPALIVED):
        raise RuntimeError("the health part needs root (a network namespace, raw sockets) and "
                           f"{KEEPALIVED} (make host-tools)")
    work = out_dir / "health-netns"  # under build/: Keepalived's script security refuses /tmp
    shutil.rmtree(work, ignore_errors=True)
    skipped = [d for d in daemons if d not in ("keepalived", "agent")]
    if skipped:
        print(f"health-netns: {', '.join(skipped)} not measured here: this checkout's agent and Keepalived only")
    previous = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM cleans up as Ctrl-C does
    try:
        samples = measure([d for d in daemons if d in ("keepalived", "agent")], adverts, reps, work)
    finally:
        signal.signal(signal.SIGTERM, previous)
    (work / "samples.json").write_text(json.dumps(samples, indent=2) + "\n")
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--daemons", default="keepalived,agent")
    parser.add_argument("--adverts", default="1,0.1")
    parser.add_argument("--out", default=str(ROOT / "build" / "bench"))
    args = parser.parse_args()
    out_dir = Path(args.out).resolve()
    samples = part(args.reps, args.daemons.split(","), [float(a) for a in args.adverts.split(",")], out_dir)
    print("\n".join(report.health_table(report.health_rows(samples))))
    return 0 if all(s["passed"] for s in samples) else 1


if __name__ == "__main__":
    sys.exit(main())
