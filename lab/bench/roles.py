"""`make bench BENCH_ARGS="--parts roles"` and `--parts site`: the cost of a role run (issue 11) and of
site.yml per daemon (issue 13).

- roles: the keepalived role alone on the lab's two nodes, the PREVIOUS version (git ref --prev-ref, extracted
  with `git archive` into build/bench-prev/) beside the current one: a first converge on fresh nodes
  (lab down, lab up), --reps times each, the two versions taking turns; then --reps idempotent reruns;
  wall time, task results and module calls per node (lab/bench/callback/bench_calls.py).
- site: site.yml with Keepalived and with the agent on the same lab, the daemons taking turns --reps times
  (keepalived, agent, then agent, keepalived, ...): each turn converges the daemon and then reruns it once
  (idempotent), so that the reruns compared (the issue 13 item 7 comparison) are spread over the same
  minutes and a drift of the machine weighs on both alike (a block of reruns per daemon, measured one
  daemon after the other, met two machines: 1.27x one day, 0.8x another).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tarfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "lab" / "inventory.yml"
PLAYBOOK = ROOT / "lab" / "bench" / "role_converge.yml"
CURRENT = ROOT / "build" / "collections"
PREV = ROOT / "build" / "bench-prev"


def extract_previous(ref: str) -> Path:
    """The collection's roles, plugins and metadata at ref, as an ansible_collections tree."""
    dest = PREV / ref / "ansible_collections" / "havip" / "tencentcloud"
    if not (dest / "galaxy.yml").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", ref, "roles", "plugins", "meta", "galaxy.yml"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
    return PREV / ref


def play(cmd: list[str], collections: Path, log: Path, env: dict) -> dict:
    """One ansible-playbook run: wall seconds, rc, per-host task results and module calls."""
    counts = log.with_suffix(".calls.json")
    env = dict(env, ANSIBLE_COLLECTIONS_PATH=str(collections),
               ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "lab" / "bench" / "callback"),
               ANSIBLE_CALLBACKS_ENABLED="bench_calls", HAVIP_BENCH_CALLS=str(counts))
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    wall = round(time.monotonic() - start, 2)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr)
    got = json.loads(counts.read_text()) if counts.exists() else {"task_results": {}, "module_calls": {}}
    return {"rc": proc.returncode, "wall_s": wall, **got}


def summary(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    node = sorted(runs[0]["module_calls"])[0] if runs[0]["module_calls"] else None
    return {"runs": len(runs), "median_s": round(statistics.median(walls), 2), "min_s": min(walls),
            "max_s": max(walls), "all_s": walls,
            "task_results_per_node": runs[0]["task_results"].get(node) if node else None,
            "module_calls_per_node": runs[0]["module_calls"].get(node) if node else None}


def run_role(reps: int, prev_ref: str, logs: Path, env: dict, lab: Path) -> dict:
    """--parts roles: each version converges --reps times from fresh nodes, the versions taking turns
    (previous, current, then current, previous, ...) so that a drift of the machine's load weighs on
    both alike; after its last first converge, --reps idempotent reruns."""
    out: dict = {}
    versions = {f"previous ({prev_ref})": extract_previous(prev_ref), "current": CURRENT}
    role = [*map(str, ("ansible-playbook", "-i", INVENTORY, PLAYBOOK)), "-e", "bench_role=keepalived"]
    firsts: dict[str, list[dict]] = {name: [] for name in versions}
    for turn in range(1, reps + 1):
        order = list(versions) if turn % 2 else list(reversed(versions))
        for name in order:
            collections = versions[name]
            tag = "prev" if name != "current" else "current"
            subprocess.run([str(lab), "down"], check=True)
            subprocess.run([str(lab), "up"], check=True)
            first = play(role, collections, logs / f"roles-{tag}-first-{turn}.log", env)
            firsts[name].append(first)
            print(f"bench: keepalived role, {name}: first converge #{turn} {first['wall_s']} s")
            if turn < reps:
                continue
            reruns = [play(role, collections, logs / f"roles-{tag}-rerun-{i}.log", env) for i in range(1, reps + 1)]
            if any(r["rc"] for r in firsts[name] + reruns):
                raise RuntimeError(f"bench roles: the keepalived role ({name}) failed, see {logs}")
            out[name] = {"first": summary(firsts[name]), "rerun": summary(reruns)}
            print(f"bench: keepalived role, {name}: reruns {out[name]['rerun']}")
    return {name: out[name] for name in versions}


SITE_DAEMONS = ("keepalived", "agent")


def run_site(reps: int, logs: Path, env: dict) -> dict:
    """--parts site: the daemons take turns, in the order keepalived, agent, then agent, keepalived, ...
    (so that a drift of the machine's load over the run weighs on both alike); each turn converges
    the daemon, then reruns it once (idempotent). The agent's rerun over Keepalived's in the same
    turn is the per-turn ratio."""
    site = ["ansible-playbook", "-i", str(INVENTORY), "site.yml"]
    converges: dict[str, list[dict]] = {daemon: [] for daemon in SITE_DAEMONS}
    reruns: dict[str, list[dict]] = {daemon: [] for daemon in SITE_DAEMONS}
    for turn in range(1, reps + 1):
        for daemon in SITE_DAEMONS if turn % 2 else SITE_DAEMONS[::-1]:
            extra = ["-e", json.dumps({"havip_vrrp_daemon": daemon})]
            first = play(site + extra, CURRENT, logs / f"roles-site-{daemon}-first-{turn}.log", env)
            rerun = play(site + extra, CURRENT, logs / f"roles-site-{daemon}-rerun-{turn}.log", env)
            if first["rc"] or rerun["rc"]:
                raise RuntimeError(f"bench site: site.yml with {daemon} failed, see {logs}")
            converges[daemon].append(first)
            reruns[daemon].append(rerun)
            print(f"bench: site.yml with {daemon}, turn {turn}: converge {first['wall_s']} s, "
                  f"rerun {rerun['wall_s']} s")
    out: dict = {daemon: {"first": summary(converges[daemon]), "rerun": summary(reruns[daemon])}
                 for daemon in SITE_DAEMONS}
    per_turn = [a["wall_s"] / k["wall_s"] for a, k in zip(reruns["agent"], reruns["keepalived"], strict=True)]
    out["ratio_per_turn"] = {"median": round(statistics.median(per_turn), 3),
                             "all": [round(r, 3) for r in per_turn]}
    return out


def ratios(result: dict) -> dict:
    out = {}
    if "role_keepalived" in result:
        prev, cur = result["role_keepalived"].values()
        out["role_rerun_current_over_previous"] = round(cur["rerun"]["median_s"] / prev["rerun"]["median_s"], 3)
        out["role_first_current_over_previous"] = round(cur["first"]["median_s"] / prev["first"]["median_s"], 3)
    if "site" in result:
        site = result["site"]
        out["site_rerun_agent_over_keepalived"] = round(site["agent"]["rerun"]["median_s"]
                                                        / site["keepalived"]["rerun"]["median_s"], 3)
        out["site_rerun_agent_over_keepalived_per_turn_median"] = site["ratio_per_turn"]["median"]
    return out


def markdown(result: dict, command: str) -> str:
    lines = [f"Command: `{command}`", "", "| what | version | first median (min-max) (s) | "
             "rerun median (min-max) (s) | task results / node (rerun) | module calls / node (rerun) |",
             "|---|---|---|---|---|---|"]
    for name, rec in result.get("role_keepalived", {}).items():
        r = rec["rerun"]
        f = rec["first"]
        lines.append(f"| keepalived role alone | {name} | {f['median_s']} ({f['min_s']}-{f['max_s']}) | "
                     f"{r['median_s']} ({r['min_s']}-{r['max_s']}) | {r['task_results_per_node']} | "
                     f"{r['module_calls_per_node']} |")
    for daemon in SITE_DAEMONS if "site" in result else ():
        rec = result["site"][daemon]
        r = rec["rerun"]
        f = rec["first"]
        lines.append(f"| site.yml, {daemon} (turns) | current | {f['median_s']} ({f['min_s']}-{f['max_s']}) | "
                     f"{r['median_s']} ({r['min_s']}-{r['max_s']}) | {r['task_results_per_node']} | "
                     f"{r['module_calls_per_node']} |")
    if "site" in result:
        lines += ["", "site.yml (turns): the daemons take turns (keepalived, agent, then agent, keepalived, ...), "
                  "each converged then rerun once; the agent's rerun over Keepalived's per turn: "
                  + ", ".join(map(str, result["site"]["ratio_per_turn"]["all"])) + "."]
    lines += ["", "Ratios: " + ", ".join(f"{k} = {v}" for k, v in result["ratios"].items()), ""]
    return "\n".join(lines)


def part(parts: list[str], reps: int, prev_ref: str, out_dir: Path, command: str, *, env: dict) -> None:
    """Run the roles and/or site parts and write out_dir/roles.json and roles.md."""
    logs = out_dir / "logs"
    result: dict = {"prev_ref": prev_ref, "reps": reps}
    if "roles" in parts:
        result["role_keepalived"] = run_role(reps, prev_ref, logs, env, ROOT / "lab" / "lab.sh")
    if "site" in parts:
        result["site"] = run_site(reps, logs, env)
    result["ratios"] = ratios(result)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "roles.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / "roles.md").write_text(markdown(result, command))
    print(markdown(result, command))
