"""`make bench`: failover outage and converge time, measured on the local lab.

For each daemon (keepalived, agent) and advert_int (the guide's 5 s, 1 s, and 0.1 s, which needs VRRPv3:
a sub-second advert_int runs with keepalived_vrrp_version 3 and no auth_pass), site.yml converges
the lab (timed, first and second run), then playbooks/failover_drill.yml fails the master in each
way (graceful stop, killed container, failing health check, link down) --reps times. Results go
to build/bench/: report.json (every sample), report.md (the table), outage.png (the chart).

For advert_int 1 s and 0.1 s it also samples each daemon's idle CPU and RSS (--idle seconds in
--idle-samples samples: median and range), then the machine's cost of a page touched after an idle
spell (page_cost.py: the daemons are sampled one after the other, and a ratio taken across two
regimes says little), and the master's advert gap seen by the backup while 100 idle and slow
clients hold the agent's metrics port (--gap seconds; Keepalived has no metrics port, its gap is
measured as it is).

--parts health (in the default parts; alone: BENCH_ARGS="--parts health", no Docker lab) measures the
health drill without the lab, the script check beside track_process for Keepalived and the agent at
advert_int 1 and 0.1 (lab/bench/health_netns.py: the master in the host's own network namespace,
where Keepalived's track_process works; needs root and make host-tools), --reps runs each.

--parts idle (in the default parts; alone: BENCH_ARGS="--parts idle", no Docker lab) measures the idle cost
side by side at the same time (lab/bench/idle_netns.py): Keepalived's pair and each agent's (agent@REF: REF's),
each in two network namespaces, all pinned to the last CPU, at advert_int 1 and 0.1 (those of --adverts up
to 1), --idle seconds in --idle-samples samples; with each daemon's own pages touched in a second and the
machine's page cost. The lab's idle figures above are taken one daemon after the other, across regimes;
these are taken in the same seconds, and the per-sample ratio to Keepalived's is the figure to compare.
Needs root and make host-tools.

--parts roles (alone: BENCH_ARGS="--parts roles --reps 3") measures the cost of a role run instead
(lab/bench/roles.py): the keepalived role alone, previous (--prev-ref) beside current, first converge
and reruns, with task results and module calls per node. --parts site (BENCH_ARGS="--parts site --reps 6")
measures site.yml with each daemon, the daemons taking turns (keepalived, agent, then agent, keepalived,
...: each converged, then rerun once), and the agent's rerun over Keepalived's per turn.

A daemon named ``agent@REF`` is the agent whose code is the one at git REF (e.g. ``agent@main``):
the lab converges with this checkout's role, then the package on the nodes is replaced by REF's
and restarted, so that one run measures the agent before and after a change side by side.

Usage: python3 -m lab.bench [--parts drills,health,idle,roles,site] [--reps 5] [--daemons keepalived,agent[,agent@REF]]
                            [--adverts 5,1,0.1] [--kinds stop,kill,health,link] [--keep-lab] [--idle 60]
                            [--idle-samples 6] [--gap 20] [--prev-ref 827fbdc]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import yaml

from lab.bench import advert_gap, health_netns, idle_netns, page_cost, report, roles
from lab.bench.report import vrrp_version
from lab.emulator.admin import AdminClient

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "lab" / "inventory.yml"
OUT = ROOT / "build" / "bench"
SERVICES = {"keepalived": "keepalived", "agent": "havip-vrrp-agent"}
AGENT_INSTALL_DIR = "/usr/local/lib/havip-vrrp"  # the vrrp_agent role's default
AGENT_SOURCES = "roles/vrrp_agent/files/havip_vrrp"


def role_daemon(daemon: str) -> str:
    """The havip_vrrp_daemon a bench daemon converges with: ``agent@REF`` is the agent."""
    return daemon.partition("@")[0]


def lab_env() -> dict:
    """The environment with the lab emulator's credentials (lab/emulator.sh writes them)."""
    env = dict(os.environ)
    for line in (ROOT / "build" / "lab" / "credentials.env").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            env[key] = value
    return env


def run(cmd: list[str], log: Path) -> tuple[int, float, str]:
    """Run a command with the lab's credentials, keep its output in log, return (rc, wall seconds, output)."""
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=lab_env())
    elapsed = time.monotonic() - start
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr)
    return proc.returncode, round(elapsed, 2), proc.stdout


def cluster_vars(daemon: str, advert: float) -> dict:
    """The lab inventory's cluster variables with the daemon and timing under test."""
    inventory = yaml.safe_load(INVENTORY.read_text())
    base = inventory["all"]["children"]["cluster"]["vars"]
    version = vrrp_version(advert)
    instances = [dict(inst, advert_int=int(advert) if version == 2 else advert)
                 for inst in base["keepalived_instances"]]
    if version == 3:
        instances = [{k: v for k, v in inst.items() if k != "auth_pass"} for inst in instances]  # RFC 5798
    if advert >= 5:
        scripts = base["keepalived_vrrp_scripts"]  # the guide's generous health check (R4h)
    else:
        step = max(1, int(advert))  # vrrp_script timing is in whole seconds
        scripts = [dict(s, interval=step, timeout=step) for s in base["keepalived_vrrp_scripts"]]
    return {"havip_vrrp_daemon": role_daemon(daemon), "keepalived_vrrp_version": version,
            "keepalived_instances": instances,
            "keepalived_vrrp_scripts": scripts}


# CPU time in nanoseconds (the scheduler's own sum, /proc/PID/task/TID/schedstat: exact, where
# utime+stime in clock ticks would need minutes of idle to tell 0.1 % from 0.2 %) and RSS in KiB
# of the unit's main process and its children (Keepalived's VRRP child, running scripts).
IDLE_SCRIPT = r"""
main=$(systemctl show -p MainPID --value "$1")
total=0; rss=0
for pid in $main $(pgrep -P "$main"); do
    for stat in /proc/$pid/task/*/schedstat; do
        read -r run _rest < "$stat" 2>/dev/null && total=$((total + run))
    done
    rss=$((rss + $(awk '/^VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)))
done
echo "$total $rss"
"""


def idle_usage(daemon: str, seconds: int, samples: int) -> dict:
    """CPU (% of one core) and RSS (KiB, all processes of the unit) of the daemon on each node
    while idle: ``samples`` consecutive samples over ``seconds`` in all; median, min and max."""
    service = SERVICES[role_daemon(daemon)]

    def sample(node: str) -> list[int]:
        out = subprocess.run(["docker", "exec", node, "bash", "-c", IDLE_SCRIPT, "idle", service],
                             capture_output=True, text=True, check=True).stdout
        return [int(x) for x in out.split()]

    span = seconds / samples
    roles = {n: ("master" if VIP in node_addresses(n) else "backup") for n in NODES}
    cpu: dict = {n: [] for n in NODES}
    rss: dict = {n: [] for n in NODES}
    before = {n: (sample(n), time.monotonic()) for n in NODES}
    for _unused in range(samples):
        time.sleep(span)
        for node in NODES:
            (ns, kib), at = sample(node), time.monotonic()
            cpu[node].append(round(100 * (ns - before[node][0][0]) / 1e9 / (at - before[node][1]), 4))
            rss[node].append(kib)
            before[node] = ((ns, kib), at)
    totals = [round(sum(c), 4) for c in zip(*cpu.values(), strict=True)]
    result = {
        node: {"role": roles[node], "cpu_percent": round(statistics.median(cpu[node]), 4),
               "cpu_min": min(cpu[node]), "cpu_max": max(cpu[node]), "cpu_samples": cpu[node],
               "rss_kib": int(statistics.median(rss[node]))}
        for node in NODES
    }
    return {"daemon": daemon, "seconds": seconds, "samples": samples, "nodes": result,
            "total": {"cpu_percent": round(statistics.median(totals), 4), "cpu_min": min(totals),
                      "cpu_max": max(totals), "rss_kib": sum(r["rss_kib"] for r in result.values())}}


def install_agent_ref(ref: str, work: Path) -> None:
    """Replace the agent package on the nodes by the one at git ``ref`` and restart the agent;
    returns once one node holds the VIP again."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref, AGENT_SOURCES],
                             capture_output=True, check=True).stdout
    target = work / "agent-ref" / re.sub(r"[^\w.-]", "_", ref)
    target.mkdir(parents=True, exist_ok=True)
    tar = target / "agent.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as handle:
        handle.extractall(target, filter="data")
    for node in NODES:
        subprocess.run(["docker", "exec", node, "sh", "-c", f"rm -rf {AGENT_INSTALL_DIR}/havip_vrrp/*"], check=True)
        subprocess.run(["docker", "cp", f"{target / AGENT_SOURCES}/.", f"{node}:{AGENT_INSTALL_DIR}/havip_vrrp/"],
                       check=True)
        subprocess.run(["docker", "exec", node, "systemctl", "restart", SERVICES["agent"]], check=True)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if sum(VIP in node_addresses(n) for n in NODES) == 1:
            time.sleep(5)  # a few adverts: the election has settled
            return
        time.sleep(0.5)
    raise RuntimeError(f"agent@{ref}: no single VIP holder within 60 s")


NODES = ["havip-node1", "havip-node2"]
VIP = "172.16.16.12"  # the lab inventory's VIP
METRICS_PORT = 9720  # the vrrp_agent role's default
GAP_CONNECTIONS = 100


def node_addresses(node: str) -> list[str]:
    out = subprocess.run(["docker", "exec", node, "ip", "-4", "-o", "addr", "show", "eth0"],
                         capture_output=True, text=True, check=True).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines() if " inet " in line]


def advert_gaps(daemon: str, seconds: int) -> dict:
    """The master's advert gap seen by the backup: with GAP_CONNECTIONS idle and slow clients on
    the agent's metrics port (issue 13), and, for Keepalived (no metrics port), as it is."""
    addresses = {n: node_addresses(n) for n in NODES}
    master = next(n for n in NODES if VIP in addresses[n])
    backup = next(n for n in NODES if n != master)
    docker = [["docker", "exec", "-i", n, "python3"] for n in (backup, master)]
    hold = docker[1] if role_daemon(daemon) == "agent" else None
    result = advert_gap.measure(docker[0], hold, seconds, src=addresses[master][0], port=METRICS_PORT,
                                connections=GAP_CONNECTIONS)
    result.update(daemon=daemon, master=master)
    return result


def cost(daemon: str, advert: float, args: argparse.Namespace, idle: list[dict], gaps: list[dict]) -> None:
    """Idle CPU/RSS (--idle) and advert gap under held metrics connections (--gap), appended."""
    tag = f"{daemon}-a{advert:g}"
    if args.idle:
        usage = idle_usage(daemon, args.idle, args.idle_samples)
        # The machine's regime right after (page_cost.py): the same code's ratio moves with it.
        usage.update(advert_int=advert, vrrp_version=vrrp_version(advert), machine=page_cost.measure(advert))
        idle.append(usage)
        print(f"bench: {tag}: idle {usage['seconds']} s: {usage['nodes']}, both nodes {usage['total']}")
    if args.gap:
        gap = advert_gaps(daemon, args.gap)
        gap.update(advert_int=advert, vrrp_version=vrrp_version(advert))
        gaps.append(gap)
        print(f"bench: {tag}: advert gap over {gap['seconds']} s with {gap['connections']} metrics "
              f"connections: max {gap['max_gap_s']} s, p99 {gap['p99_gap_s']} s ({gap['adverts']} adverts)")


def changed_total(output: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.rsplit("PLAY RECAP", maxsplit=1)[-1]))


def converge_config(daemon: str, advert: float, extra: Path, log_prefix: Path) -> dict | None:
    """site.yml twice on the lab with these variables: wall times, changes and API calls of each run."""
    site = ["ansible-playbook", "-i", str(INVENTORY), "site.yml", "-e", f"@{extra}"]
    api = AdminClient("http://127.0.0.1:8780")  # the lab emulator (lab/emulator.sh)
    api.reset_calls()
    rc1, first, _out1 = run(site, Path(f"{log_prefix}-site-1.log"))
    calls1 = api.calls()
    api.reset_calls()
    rc2, second, out2 = run(site, Path(f"{log_prefix}-site-2.log"))
    calls2 = api.calls()
    if rc1 or rc2:
        return None
    return {"daemon": daemon, "advert_int": advert, "vrrp_version": vrrp_version(advert), "first_s": first,
            "second_s": second,
            "second_changed": changed_total(out2), "api_calls_first": calls1["total"],
            "api_mutating_first": calls1["mutating"], "api_calls_second": calls2["total"],
            "api_mutating_second": calls2["mutating"]}


PARTS = ("drills", "health", "idle", "roles", "site")


def bench_parts(text: str) -> list[str]:
    """--parts: a comma-separated subset of PARTS; anything else is named and refused."""
    parts = text.split(",")
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(map(repr, unknown))}; choose from {', '.join(PARTS)}")
    return parts


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--daemons", default="keepalived,agent")
    parser.add_argument("--adverts", default="5,1,0.1")
    parser.add_argument("--kinds", default="stop,kill,health,link")
    parser.add_argument("--keep-lab", action="store_true",
                        help="reuse the running lab instead of a fresh one, and leave it up at the end")
    parser.add_argument("--idle", type=int, default=60, help="seconds of idle CPU/RSS sampling per daemon (0: none)")
    parser.add_argument("--idle-samples", type=int, default=6, help="samples the --idle seconds are cut into")
    parser.add_argument("--gap", type=int, default=20,
                        help="seconds of advert gap capture per daemon, with 100 metrics connections held (0: none)")
    parser.add_argument("--out", default=str(OUT), help="report directory")
    parser.add_argument("--parts", default="drills,health,idle", type=bench_parts,
                        help="drills (converge, drills, idle cost), health and idle (without the lab), roles, site")
    parser.add_argument("--prev-ref", default="827fbdc", help="git ref of the previous roles (--parts roles)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    command = "make bench" + (f" BENCH_ARGS={shlex.quote(' '.join(sys.argv[1:]))}" if sys.argv[1:] else "")
    out_dir = Path(args.out).resolve()  # the drill writes its report relative to nothing else

    parts = args.parts
    health: list[dict] = []
    netns_idle: list[dict] = []
    # First, without the lab, on a quiet machine.
    adverts = [a for a in (float(x) for x in args.adverts.split(",")) if a <= 1] or [1.0, 0.1]
    if "idle" in parts and args.idle:
        netns_idle = idle_netns.part(args.daemons.split(","), adverts, samples=args.idle_samples,
                                     seconds=args.idle / args.idle_samples, out_dir=out_dir)
    if "health" in parts:
        health = health_netns.part(args.reps, args.daemons.split(","), adverts, out_dir)
    if not {"drills", "roles", "site"} & set(parts):
        report.write(out_dir, [], [], command, health=health, netns_idle=netns_idle)
        print((out_dir / "report.md").read_text())
        return 0 if all(s["passed"] for s in health) else 1
    lab = str(ROOT / "lab" / "lab.sh")
    if not args.keep_lab:
        subprocess.run([lab, "down"], check=True)
    subprocess.run([lab, "up"], check=True)
    try:
        return with_lab(args, command, out_dir, health, netns_idle)
    finally:
        # A lab left up holds the emulator's port and makes `make awx`/`make demo` refuse to start.
        if not args.keep_lab:
            subprocess.run([lab, "down"], check=False)


def with_lab(args, command: str, out_dir: Path, health: list, netns_idle: list) -> int:
    """The parts that need the lab (up when called)."""
    parts, logs = args.parts, out_dir / "logs"
    if {"roles", "site"} & set(parts):
        roles.part(parts, args.reps, args.prev_ref, out_dir, command, env=lab_env())
        if "drills" not in parts:
            return 0
    samples: list[dict] = []
    converge: list[dict] = []
    idle: list[dict] = []
    gaps: list[dict] = []
    for daemon in args.daemons.split(","):
        for advert in (float(a) for a in args.adverts.split(",")):
            tag = f"{daemon}-a{advert:g}"
            extra = out_dir / "vars" / f"{tag}.json"
            extra.parent.mkdir(parents=True, exist_ok=True)
            extra.write_text(json.dumps(cluster_vars(daemon, advert)))
            record = converge_config(daemon, advert, extra, logs / tag)
            if record is None:
                print(f"bench: site.yml failed for {tag}: see {logs}", file=sys.stderr)
                return 1
            converge.append(record)
            if daemon.startswith("agent@"):
                install_agent_ref(daemon.partition("@")[2], out_dir)
            print(f"bench: {tag}: site.yml {record['first_s']} s, then {record['second_s']} s "
                  f"({record['second_changed']} changed); API calls {record['api_calls_first']} "
                  f"({record['api_mutating_first']} mutating), then {record['api_calls_second']} "
                  f"({record['api_mutating_second']})")
            if advert <= 1:  # the cost of frequent adverts
                cost(daemon, advert, args, idle, gaps)
            for kind in args.kinds.split(","):
                for rep in range(1, args.reps + 1):
                    report_dir = out_dir / "raw" / f"{tag}-{kind}-{rep}"
                    drill = [
                        "ansible-playbook", "-i", str(INVENTORY), "playbooks/failover_drill.yml",
                        "-e", f"@{extra}", "-e", "drill_cluster_group=cluster", "-e", "drill_probe_host=havip-probe",
                        "-e", "drill_vip=172.16.16.12", "-e", f"drill_kind={kind}",
                        "-e", f"drill_daemon_service={SERVICES[role_daemon(daemon)]}",
                        "-e", "drill_health_service=havip-whoami",
                        "-e", f"drill_report_dir={report_dir}",
                    ]
                    rc, wall, _out = run(drill, logs / f"{tag}-{kind}-{rep}.log")
                    path = report_dir / f"{kind}.json"
                    missing = {"kind": kind, "outage_s": None, "bound_s": 0}
                    sample = json.loads(path.read_text()) if path.exists() else missing
                    sample.update(daemon=daemon, advert_int=advert, vrrp_version=vrrp_version(advert), rep=rep,
                                  passed=rc == 0, wall_s=wall)
                    sample.pop("probe", None)
                    samples.append(sample)
                    print(f"bench: {tag} {kind} #{rep}: outage {sample['outage_s']} s"
                          f"{'' if rc == 0 else ' (drill FAILED, see ' + str(logs) + ')'}")
    result = report.write(out_dir, samples, converge, command, idle=idle, gaps=gaps, health=health,
                          netns_idle=netns_idle)
    print((out_dir / "report.md").read_text())
    print(f"bench: {len(samples)} drills; report in {out_dir}/report.json, report.md, outage.png")
    return 0 if all(r["failed_runs"] == 0 for r in result["rows"] + result["health_rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
