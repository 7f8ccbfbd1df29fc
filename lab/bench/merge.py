"""Rebuild or combine bench reports: `python3 -m lab.bench.merge OUT DIR [DIR...]`.

Each DIR is a bench output directory: its report.json when there is one (samples, converge and idle
figures), else its raw drill reports (raw/<daemon>-a<advert>-<kind>-<rep>/<kind>.json, written by
playbooks/failover_drill.yml even when the drill's checks fail) and the converge/idle lines of its
bench.log. A raw sample passes when the drill's own checks hold: the VIP moved from the master to
the single other node within the bound.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

from lab.bench import report

RAW = re.compile(r"^(?P<daemon>[a-z]+)-a(?P<advert>[\d.]+)-(?P<kind>[a-z]+)-(?P<rep>\d+)$")


def raw_samples(directory: Path) -> list[dict]:
    samples = []
    for path in sorted((directory / "raw").glob("*/*.json")):
        match = RAW.match(path.parent.name)
        if not match:
            continue
        sample = json.loads(path.read_text())
        sample.pop("probe", None)
        holders = sample.get("holders_after") or []
        sample.update(
            daemon=match["daemon"], advert_int=float(match["advert"]), rep=int(match["rep"]),
            passed=(sample.get("answered_after") not in (None, sample.get("master_before"))
                    and len(holders) == 1 and holders[0] != sample.get("master_before")
                    and float(sample["outage_s"]) <= float(sample["bound_s"])),
        )
        samples.append(sample)
    return samples


def log_converge(directory: Path) -> list[dict]:
    log = directory / "bench.log"
    found = []
    if log.exists():
        for m in re.finditer(r"bench: (\w+)-a([\d.]+): site.yml ([\d.]+) s, then ([\d.]+) s \((\d+) changed\)",
                             log.read_text()):
            found.append({"daemon": m[1], "advert_int": float(m[2]), "vrrp_version": 3 if float(m[2]) < 1 else 2,
                          "first_s": float(m[3]),
                          "second_s": float(m[4]), "second_changed": int(m[5])})
    return found


def log_idle(directory: Path) -> list[dict]:
    log = directory / "bench.log"
    found = []
    if log.exists():
        for m in re.finditer(r"bench: (\w+)-a([\d.]+): idle (\d+) s: (\{.*\})$", log.read_text(), re.M):
            advert = float(m[2])
            found.append({"daemon": m[1], "advert_int": advert, "vrrp_version": 3 if advert < 1 else 2,
                          "seconds": int(m[3]), "nodes": ast.literal_eval(m[4])})
    return found


def main() -> int:
    out, *dirs = (Path(a) for a in sys.argv[1:])
    samples, converge, idle, gaps, commands = [], [], [], [], []
    for directory in dirs:
        path = directory / "report.json"
        if path.exists():
            data = json.loads(path.read_text())
            samples += data["samples"]
            converge += data["converge"]
            idle += data.get("idle", [])
            gaps += data.get("advert_gaps", [])
            commands.append(data["command"])
        else:
            samples += raw_samples(directory)
            converge += log_converge(directory)
            idle += log_idle(directory)
            commands.append(f"make bench (raw reports of {directory})")
    report.write(out, samples, converge, " + ".join(commands), idle=idle, gaps=gaps)
    print((out / "report.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
