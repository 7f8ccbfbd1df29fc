"""Aggregation and rendering of benchmark results (pure: no I/O besides the files it is told to write).

A sample is one failover drill's report (playbooks/failover_drill.yml writes it) tagged with the
daemon and the advert_int it ran at. The report groups samples by (daemon, advert_int, kind) and
gives median, min and max outage beside the theoretical Master_Down_Interval (RFC 3768 6.1 / RFC 5798 6.1,
plugins/plugin_utils/vrrp_timing.py).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from lab.bench import page_cost

# The collection as `make collection` links it: the bench times with the collection's own formula.
_COLLECTIONS = Path(__file__).resolve().parents[2] / "build" / "collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible_collections.havip.tencentcloud.plugins.plugin_utils.vrrp_timing import (  # noqa: E402
    master_down_interval,
)

# The lab's nodes run the roles' default priority.
LAB_PRIORITY = 100


def vrrp_version(advert: float) -> int:
    """VRRPv2 (the guide's) carries whole seconds; a sub-second advert_int needs VRRPv3 (RFC 5798)."""
    return 2 if advert >= 1 and advert == int(advert) else 3


def advert_label(advert_int: float, version: int = 2) -> str:
    """advert_int as the tables and the chart show it; VRRPv3 is named (v2 is the guide's)."""
    return f"{advert_int:g}" + (" (VRRPv3)" if version == 3 else "")


def summarise(samples: list[dict]) -> list[dict]:
    """One row per (daemon, advert_int, kind), in a stable order."""
    groups: dict[tuple, list[dict]] = {}
    for sample in samples:
        key = (sample["daemon"], int(sample.get("vrrp_version", 2)), float(sample["advert_int"]), sample["kind"])
        groups.setdefault(key, []).append(sample)
    rows = []
    for (daemon, version, advert, kind), group in sorted(groups.items()):
        outages = [float(s["outage_s"]) for s in group if s.get("outage_s") is not None]
        failed = [s for s in group if not s.get("passed", True)]
        rows.append({
            "daemon": daemon,
            "vrrp_version": version,
            "advert_int": advert,
            "kind": kind,
            "runs": len(group),
            "failed_runs": len(failed),
            "median_s": round(statistics.median(outages), 3) if outages else None,
            "min_s": round(min(outages), 3) if outages else None,
            "max_s": round(max(outages), 3) if outages else None,
            "master_down_interval_s": round(master_down_interval(advert, LAB_PRIORITY, version), 3),
            "bound_s": max(float(s["bound_s"]) for s in group) if group else None,
        })
    return rows


def health_rows(samples: list[dict]) -> list[dict]:
    """The health drill without the lab (lab/bench/health_netns.py): one row per (advert_int,
    daemon, check), the runs' median and range beside the plan's bound."""
    groups: dict[tuple, list[dict]] = {}
    for sample in samples:
        key = (-float(sample["advert_int"]), int(sample.get("vrrp_version", 2)), sample["daemon"], sample["check"])
        groups.setdefault(key, []).append(sample)
    rows = []
    for (advert, version, daemon, check), group in sorted(groups.items()):
        times = [float(s["outage_s"]) for s in group if s.get("outage_s") is not None]
        rows.append({
            "advert_int": -advert, "vrrp_version": version, "daemon": daemon, "check": check, "runs": len(group),
            "failed_runs": sum(1 for s in group if not s.get("passed", False)),
            "median_s": round(statistics.median(times), 3) if times else None,
            "min_s": round(min(times), 3) if times else None,
            "max_s": round(max(times), 3) if times else None,
            "bound_s": max(float(s["bound_s"]) for s in group),
        })
    return rows


def health_table(rows: list[dict]) -> list[str]:
    lines = ["| advert_int (s) | daemon | health check | runs | median (s) | min (s) | max (s) | plan bound (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fail = f" ({r['failed_runs']} failed)" if r["failed_runs"] else ""
        lines.append(f"| {advert_label(r['advert_int'], r['vrrp_version'])} | {r['daemon']} | {r['check']} | "
                     f"{r['runs']}{fail} | {r['median_s']} | {r['min_s']} | {r['max_s']} | {r['bound_s']} |")
    return lines


def markdown(rows: list[dict], converge: list[dict], command: str, idle: list[dict] | None = None,
             gaps: list[dict] | None = None, *, health: list[dict] | None = None,
             netns_idle: list[dict] | None = None) -> str:
    lines = [
        "| daemon | advert_int (s) | failure | runs | median (s) | min (s) | max (s) | Master_Down_Interval (s) |",
        "|---|---|---|---|---|---|---|---|",
    ] if rows else []
    for r in rows:
        fail = f" ({r['failed_runs']} failed)" if r["failed_runs"] else ""
        advert = advert_label(r["advert_int"], r["vrrp_version"])
        lines.append(
            f"| {r['daemon']} | {advert} | {r['kind']} | {r['runs']}{fail} | {r['median_s']} | "
            f"{r['min_s']} | {r['max_s']} | {r['master_down_interval_s']} |"
        )
    if converge:
        lines += ["", "| daemon | advert_int (s) | first site.yml (s) | second site.yml (s) | changed on 2nd run "
                  "| API calls 1st (mutating) | API calls 2nd (mutating) |", "|---|---|---|---|---|---|---|"]
        for c in converge:
            first = f"{c['api_calls_first']} ({c['api_mutating_first']})" if "api_calls_first" in c else "-"
            second = f"{c['api_calls_second']} ({c['api_mutating_second']})" if "api_calls_second" in c else "-"
            advert = advert_label(c["advert_int"], c.get("vrrp_version", 2))
            lines.append(f"| {c['daemon']} | {advert} | {c['first_s']} | {c['second_s']} | "
                         f"{c['second_changed']} | {first} | {second} |")
    if netns_idle:
        lines += ["", "Idle cost side by side (lab/bench/idle_netns.py: Keepalived's pair and the agent's, each in two "
                  "network namespaces joined by a veth, all at the same time on one CPU, so that the machine's "
                  "regime weighs on both alike)."]
        for record in netns_idle:
            lines += ["", *netns_idle_table(record)]
    if idle:
        lines += ["", *idle_tables(idle)]
    if gaps:
        lines += ["", "| daemon | advert_int (s) | metrics connections held (opened) | adverts | max gap (s) | "
                  "p99 gap (s) | over (s) |", "|---|---|---|---|---|---|---|"]
        for gap in gaps:
            advert = advert_label(gap.get("advert_int", 1), gap.get("vrrp_version", 2))
            lines.append(f"| {gap['daemon']} | {advert} | {gap['connections']} ({gap['opened']}) | {gap['adverts']} | "
                         f"{gap['max_gap_s']} | {gap['p99_gap_s']} | {gap['seconds']} |")
    if health:
        lines += ["", "Health drill without the lab (lab/bench/health_netns.py: master in the host's own network "
                  "namespace, where Keepalived's track_process works): seconds from the tracked service's SIGKILL "
                  "until the backup holds the VIP, polled every 2 ms; script check interval 1 s x fall 2 against "
                  "track_process.", "", *health_table(health_rows(health))]
    outage = ("; outage = longest gap between two answers of the VIP's HTTP service, requested every 20 ms "
              "from a probe inside the subnet.")
    lines += ["", f"Measured with `{command}`" + (outage if rows else ".")]
    return "\n".join(lines) + "\n"


def _spread(use: dict) -> str:
    """median (min-max) of a CPU figure, or the single value of an older report."""
    if "cpu_min" not in use:
        return f"{use['cpu_percent']}"
    return f"{use['cpu_percent']} ({use['cpu_min']}-{use['cpu_max']})"


def idle_tables(idle: list[dict]) -> list[str]:
    """Each node's idle CPU and RSS, then both nodes side by side per advert_int, each daemon
    against Keepalived measured in the same run (issue 13's goals: 1.5x its CPU, 2 MiB of RSS)."""
    lines = ["| daemon | advert_int (s) | node (role) | idle CPU, % of a core: median (min-max) | RSS (KiB) | "
             "samples x s |", "|---|---|---|---|---|---|"]
    for usage in idle:
        advert = advert_label(usage.get("advert_int", 1), usage.get("vrrp_version", 2))
        samples = usage.get("samples")
        span = f"{samples} x {usage['seconds'] / samples:g}" if samples else f"{usage['seconds']}"
        for node, use in sorted(usage["nodes"].items()):
            role = f" ({use['role']})" if "role" in use else ""
            lines.append(f"| {usage['daemon']} | {advert} | {node}{role} | {_spread(use)} | {use['rss_kib']} | "
                         f"{span} |")
    totals = [u for u in idle if "total" in u]
    if not totals:
        return lines
    lines += ["", "| advert_int (s) | daemon | both nodes: idle CPU median (min-max) | x Keepalived's | "
              "RSS per node (KiB) | - Keepalived's (KiB) |", "|---|---|---|---|---|---|"]
    for usage in totals:
        advert = advert_label(usage.get("advert_int", 1), usage.get("vrrp_version", 2))
        base = next((u for u in totals if u["daemon"] == "keepalived"
                     and u.get("advert_int") == usage.get("advert_int")), None)
        ratio = "-"
        extra = "-"
        per_node = usage["total"]["rss_kib"] // max(1, len(usage["nodes"]))
        if base is not None and base["total"]["cpu_percent"]:
            ratio = f"{usage['total']['cpu_percent'] / base['total']['cpu_percent']:.2f}"
            extra = str(per_node - base["total"]["rss_kib"] // max(1, len(base["nodes"])))
        lines.append(f"| {advert} | {usage['daemon']} | {_spread(usage['total'])} | {ratio} | {per_node} | {extra} |")
    machine = [u for u in totals if "machine" in u]
    if machine:
        lines.append("")
        lines += [f"- after {u['daemon']} at {advert_label(u.get('advert_int', 1), u.get('vrrp_version', 2))}: "
                  f"{page_cost.describe(u['machine'])}" for u in machine]
    return lines


def _median_range(values: list, digits: int) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def netns_idle_table(record: dict) -> list[str]:
    """lab/bench/idle_netns.py's record: each pair's CPU (master, backup, both nodes: % of a core per
    sample), against Keepalived's (the first pair) as the ratio of the medians and as the median of
    the per-sample ratios (every pair sampled over the same seconds: what loads the machine then weighs
    on all alike), its RSS, VIP holders and own pages touched in 1 s; then the machine's page cost."""
    pinned = "" if record.get("cpu") is None else f", every daemon on CPU {record['cpu']}"
    lines = [f"advert_int {record['advert_int']:g} s (VRRPv{record['vrrp_version']}), {record['samples']} x "
             f"{record['seconds']:g} s{pinned}, idle CPU in % of a core: median (min-max)", "",
             "| daemon | master | backup | both nodes | x Keepalived's | x Keepalived's, per sample: median (min-max) "
             "| RSS master, backup (KiB) | VIP holders | own pages touched in 1 s, master, backup (text+data) |",
             "|---|---|---|---|---|---|---|---|---|"]
    base = record["pairs"][0]["both"]
    for row in record["pairs"]:
        cells = [_median_range(row[role], 3) for role in ("master", "backup", "both")]
        median_base = statistics.median(base)
        ratio = f"{statistics.median(row['both']) / median_base:.2f}" if median_base else "-"
        ratios = [a / k for a, k in zip(row["both"], base, strict=True) if k]
        per_sample = _median_range(ratios, 2) if ratios else "-"
        lines.append(f"| {row['daemon']} | {' | '.join(cells)} | {ratio} | {per_sample} | "
                     f"{', '.join(map(str, row['rss_kib']))} | {','.join(row['holders'])} | "
                     f"{', '.join(row['own_pages'])} |")
    if "machine" in record:
        lines += ["", page_cost.describe(record["machine"])]
    return lines


def chart(rows: list[dict], path: Path) -> None:
    """Median outage per failure kind, one bar group per daemon/advert_int, with min-max whiskers."""
    import matplotlib  # noqa: PLC0415 - only the bench needs it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    kinds = sorted({r["kind"] for r in rows})
    series = sorted({(r["daemon"], r["vrrp_version"], r["advert_int"]) for r in rows})
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(6.5, 2 + 1.8 * len(kinds)), 4.5))
    for i, (daemon, version, advert) in enumerate(series):
        xs, ys, lo, hi = [], [], [], []
        for k, kind in enumerate(kinds):
            key = (daemon, version, advert, kind)
            row = next((r for r in rows if (r["daemon"], r["vrrp_version"], r["advert_int"], r["kind"]) == key), None)
            if row is None or row["median_s"] is None:
                continue
            xs.append(k + i * width)
            ys.append(row["median_s"])
            lo.append(row["median_s"] - row["min_s"])
            hi.append(row["max_s"] - row["median_s"])
        label = f"{daemon}, advert_int {advert:g} s" + (", VRRPv3" if version == 3 else "")
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=label)
    ax.set_xticks([k + width * (len(series) - 1) / 2 for k in range(len(kinds))], kinds)
    ax.set_ylabel("outage seen by a client (s)")
    ax.set_title("HAVIP failover outage: median, min-max (probe every 20 ms)", fontsize="medium")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(out_dir: Path, samples: list[dict], converge: list[dict], command: str, *,
          idle: list[dict] | None = None, gaps: list[dict] | None = None, health: list[dict] | None = None,
          netns_idle: list[dict] | None = None) -> dict:
    rows = summarise(samples)
    report = {"command": command, "rows": rows, "converge": converge, "idle": idle or [], "advert_gaps": gaps or [],
              "samples": samples, "health_rows": health_rows(health or []), "health_samples": health or [],
              "netns_idle": netns_idle or []}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(rows, converge, command, idle, gaps, health=health, netns_idle=netns_idle)
    (out_dir / "report.md").write_text(text)
    if rows:
        chart(rows, out_dir / "outage.png")
    return report
