"""The benchmark report: grouping, statistics, the Markdown table and the chart file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.bench import merge, report


def sample(daemon, advert, kind, outage, passed=True):
    return {"daemon": daemon, "advert_int": advert, "kind": kind, "outage_s": outage, "bound_s": 4.6,
            "passed": passed}


def test_the_bench_uses_the_collections_formula():
    from ansible_collections.havip.tencentcloud.plugins.plugin_utils import vrrp_timing  # noqa: PLC0415

    assert report.master_down_interval is vrrp_timing.master_down_interval


def test_master_down_interval_follows_rfc3768():
    """The collection's formula (plugins/plugin_utils/vrrp_timing.py), at the lab's priority in the rows."""
    assert round(report.master_down_interval(1, 100, 2), 3) == 3.609
    assert round(report.master_down_interval(5, 100, 2), 3) == 15.609
    assert round(report.master_down_interval(1, 255, 2), 3) == 3.004
    rows = report.summarise([sample("keepalived", 5, "stop", 1.0)])
    assert rows[0]["master_down_interval_s"] == 15.609


def test_rows_group_by_daemon_advert_and_kind_with_median_min_max():
    samples = [sample("keepalived", 1, "stop", x) for x in (0.4, 0.9, 0.5)] + [
        sample("keepalived", 1, "kill", 3.5), sample("agent", 1, "stop", 0.6, passed=False)]
    rows = report.summarise(samples)
    assert [(r["daemon"], r["kind"]) for r in rows] == [("agent", "stop"), ("keepalived", "kill"),
                                                        ("keepalived", "stop")]
    stop = rows[2]
    assert (stop["runs"], stop["median_s"], stop["min_s"], stop["max_s"]) == (3, 0.5, 0.4, 0.9)
    assert rows[0]["failed_runs"] == 1


def test_markdown_and_chart_are_written(tmp_path):
    samples = [sample("keepalived", 5, "stop", 0.42), sample("agent", 5, "stop", 0.61)]
    converge = [{"daemon": "keepalived", "advert_int": 5, "first_s": 80.1, "second_s": 12.3, "second_changed": 0},
                {"daemon": "agent", "advert_int": 5, "first_s": 70.0, "second_s": 11.0, "second_changed": 0,
                 "api_calls_first": 14, "api_mutating_first": 3, "api_calls_second": 6, "api_mutating_second": 0}]
    result = report.write(tmp_path, samples, converge, "make bench")
    table = (tmp_path / "report.md").read_text()
    assert "| keepalived | 5 | stop | 1 | 0.42 | 0.42 | 0.42 | 15.609 |" in table
    assert "| keepalived | 5 | 80.1 | 12.3 | 0 | - | - |" in table
    assert "| agent | 5 | 70.0 | 11.0 | 0 | 14 (3) | 6 (0) |" in table
    assert (tmp_path / "outage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(result["rows"]) == 2


def test_raw_drill_reports_are_read_back_with_the_drills_own_verdict(tmp_path):
    def drill(name, kind, **fields):
        path = tmp_path / "raw" / name / f"{kind}.json"
        path.parent.mkdir(parents=True)
        base = {"kind": kind, "master_before": "n1", "answered_after": "n2", "holders_after": ["n2"],
                "outage_s": 0.6, "bound_s": 4.6, "advert_int": 1.0}
        path.write_text(json.dumps(dict(base, **fields)))

    drill("keepalived-a1-stop-1", "stop")
    drill("keepalived-a1-kill-1", "kill", outage_s=5.0)  # beyond the bound
    drill("agent-a1-stop-1", "stop", holders_after=["n1", "n2"])  # two holders
    samples = {(s["daemon"], s["kind"]): s for s in merge.raw_samples(tmp_path)}
    assert samples[("keepalived", "stop")]["passed"] is True
    assert samples[("keepalived", "kill")]["passed"] is False
    assert samples[("agent", "stop")]["passed"] is False
    assert samples[("keepalived", "stop")]["advert_int"] == 1


def test_vrrpv3_rows_are_apart_and_scale_the_skew_time():
    """RFC 5798 6.1: with VRRPv3 the skew time is (256 - priority) x advert_int / 256."""
    assert round(report.master_down_interval(0.1, 100, 3), 3) == 0.361
    samples = [dict(sample("agent", 0.1, "kill", x), vrrp_version=3) for x in (0.4, 0.5)] + [
        sample("agent", 1, "kill", 3.0)]
    rows = report.summarise(samples)
    assert [(r["advert_int"], r["vrrp_version"], r["master_down_interval_s"]) for r in rows] == [
        (1.0, 2, 3.609), (0.1, 3, 0.361)]
    table = report.markdown(rows, [], "make bench")
    assert "| agent | 0.1 (VRRPv3) | kill | 2 | 0.45 | 0.4 | 0.5 | 0.361 |" in table


def test_bench_runs_sub_second_adverts_as_vrrpv3_without_auth_pass():
    from lab.bench.__main__ import cluster_vars  # noqa: PLC0415 - the bench's own entry module

    v3 = cluster_vars("agent", 0.1)
    assert v3["keepalived_vrrp_version"] == 3
    assert all("auth_pass" not in inst and inst["advert_int"] == 0.1 for inst in v3["keepalived_instances"])
    v2 = cluster_vars("keepalived", 5.0)
    assert v2["keepalived_vrrp_version"] == 2
    assert all(inst["advert_int"] == 5 and isinstance(inst["advert_int"], int) for inst in v2["keepalived_instances"])


def test_idle_cost_and_advert_gap_tables(tmp_path):
    """Issue 13: the report shows each daemon's idle CPU/RSS and the advert gap under held metrics
    connections side by side."""
    idle = [{"daemon": "agent", "advert_int": 0.1, "vrrp_version": 3, "seconds": 30,
             "nodes": {"havip-node1": {"cpu_percent": 0.2, "rss_kib": 14000}}}]
    gaps = [{"daemon": "agent", "advert_int": 0.1, "vrrp_version": 3, "connections": 100, "opened": 240,
             "adverts": 199, "max_gap_s": 0.104, "p99_gap_s": 0.102, "seconds": 20},
            {"daemon": "keepalived", "advert_int": 1.0, "vrrp_version": 2, "connections": 0, "opened": 0,
             "adverts": 20, "max_gap_s": 1.001, "p99_gap_s": 1.0, "seconds": 20}]
    report.write(tmp_path, [sample("agent", 0.1, "stop", 0.3)], [], "make bench", idle=idle, gaps=gaps)
    table = (tmp_path / "report.md").read_text()
    assert "| agent | 0.1 (VRRPv3) | havip-node1 | 0.2 | 14000 | 30 |" in table
    assert "| agent | 0.1 (VRRPv3) | 100 (240) | 199 | 0.104 | 0.102 | 20 |" in table
    assert "| keepalived | 1 | 0 (0) | 20 | 1.001 | 1.0 | 20 |" in table
    assert json.loads((tmp_path / "report.json").read_text())["advert_gaps"] == gaps


def test_idle_cost_side_by_side_with_samples_and_an_agent_from_a_git_ref(tmp_path):
    """Issue 13: several samples per node (median and range), both nodes summed and set against
    Keepalived's of the same run, and the agent at a git ref (``agent@REF``) beside this one."""
    from lab.bench.__main__ import cluster_vars, role_daemon  # noqa: PLC0415

    def usage(daemon, cpus, rss):
        nodes = {f"havip-node{i + 1}": {"role": role, "cpu_percent": c[1], "cpu_min": c[0], "cpu_max": c[2],
                                        "rss_kib": rss}
                 for i, (role, c) in enumerate(zip(("master", "backup"), cpus, strict=True))}
        total = [round(sum(x), 4) for x in zip(*cpus, strict=True)]
        return {"daemon": daemon, "advert_int": 0.1, "vrrp_version": 3, "seconds": 60, "samples": 6, "nodes": nodes,
                "total": {"cpu_percent": total[1], "cpu_min": total[0], "cpu_max": total[2], "rss_kib": 2 * rss}}

    idle = [usage("keepalived", [(0.05, 0.1, 0.2), (0.02, 0.05, 0.1)], 14000),
            usage("agent", [(0.1, 0.15, 0.3), (0.02, 0.04, 0.05)], 15000),
            usage("agent@main", [(0.2, 0.3, 0.4), (0.2, 0.25, 0.3)], 15500)]
    # The machine's regime after each (page_cost.measure): read beside the ratios.
    idle[1]["machine"] = {"sleep_s": 0.1, "page_us": 9.5, "page_in_huge_us": 0.6, "python_wakeup_us": 1200.0}
    report.write(tmp_path, [], [], "make bench", idle=idle)
    table = (tmp_path / "report.md").read_text()
    assert ("- after agent at 0.1 (VRRPv3): this machine then: a 4 KiB page first touched after 0.1 s idle cost "
            "9.5 us of CPU, 0.6 us inside 2 MiB pages; a bare CPython wake-up (epoll, 0.1 s) 1200.0 us") in table
    assert "after keepalived" not in table
    assert "| agent | 0.1 (VRRPv3) | havip-node1 (master) | 0.15 (0.1-0.3) | 15000 | 6 x 10 |" in table
    assert "| 0.1 (VRRPv3) | keepalived | 0.15 (0.07-0.3) | 1.00 | 14000 | 0 |" in table
    assert "| 0.1 (VRRPv3) | agent | 0.19 (0.12-0.35) | 1.27 | 15000 | 1000 |" in table
    assert "| 0.1 (VRRPv3) | agent@main | 0.55 (0.4-0.7) | 3.67 | 15500 | 1500 |" in table
    assert role_daemon("agent@main") == "agent" and role_daemon("keepalived") == "keepalived"
    assert cluster_vars("agent@main", 0.1)["havip_vrrp_daemon"] == "agent"


def test_the_roles_and_site_parts_take_turns_and_report_every_run(tmp_path, monkeypatch):
    """--parts roles: each version's first converge --reps times from fresh nodes, the versions taking
    turns, then its reruns; the table gives the first converges' median and range. --parts site: the
    daemons take turns in ABBA order, each converged then rerun once, with the per-turn ratio."""
    from lab.bench import roles  # noqa: PLC0415

    order, walls = [], iter(range(1, 100))

    def fake_play(cmd, collections, log, env):
        order.append((Path(collections).name, log.name))
        return {"rc": 0, "wall_s": float(next(walls)), "task_results": {"n1": 5}, "module_calls": {"n1": 5}}

    monkeypatch.setattr(roles, "play", fake_play)
    monkeypatch.setattr(roles, "extract_previous", lambda ref: Path("prev"))
    monkeypatch.setattr(roles.subprocess, "run", lambda *a, **k: None)
    roles.part(["roles", "site"], 2, "abc", tmp_path, "make bench", env={})
    result = json.loads((tmp_path / "roles.json").read_text())
    firsts = [log for _collections, log in order if "-first-" in log and not log.startswith("roles-site-")]
    assert firsts == ["roles-prev-first-1.log", "roles-current-first-1.log",
                      "roles-current-first-2.log", "roles-prev-first-2.log"]
    assert result["role_keepalived"]["current"]["first"]["all_s"] == [2.0, 3.0]
    assert list(result["role_keepalived"]) == ["previous (abc)", "current"]
    table = (tmp_path / "roles.md").read_text()
    assert "| keepalived role alone | current | 2.5 (2.0-3.0) |" in table, table
    # site.yml: keepalived, agent, then agent, keepalived; each converged then rerun once.
    site = [log for _collections, log in order if log.startswith("roles-site-")]
    assert site == [f"roles-site-{daemon}-{step}-{turn}.log"
                    for turn, daemons in ((1, ("keepalived", "agent")), (2, ("agent", "keepalived")))
                    for daemon in daemons for step in ("first", "rerun")]
    assert result["site"]["keepalived"]["rerun"]["all_s"] == [10.0, 16.0]
    assert result["site"]["agent"]["rerun"]["all_s"] == [12.0, 14.0]
    assert result["site"]["ratio_per_turn"]["all"] == [round(12 / 10, 3), round(14 / 16, 3)]
    assert result["ratios"]["site_rerun_agent_over_keepalived"] == round(13.0 / 13.0, 3)
    assert "| site.yml, agent (turns) | current | 12.0 (11.0-13.0) | 13.0 (12.0-14.0) |" in table, table

    # --parts site alone: no role runs, the ratios of the site only.
    order.clear()
    roles.part(["site"], 2, "abc", tmp_path, "make bench", env={})
    result = json.loads((tmp_path / "roles.json").read_text())
    assert all(log.startswith("roles-site-") for _collections, log in order)
    assert "role_keepalived" not in result and set(result["ratios"]) == {
        "site_rerun_agent_over_keepalived", "site_rerun_agent_over_keepalived_per_turn_median"}


def test_an_unknown_bench_part_is_named_and_refused():
    import argparse  # noqa: PLC0415

    from lab.bench import __main__ as bench  # noqa: PLC0415

    assert bench.bench_parts("drills,roles") == ["drills", "roles"]
    wanted = "unknown part\\(s\\) 'helth'; choose from drills, health, idle, roles, site"
    with pytest.raises(argparse.ArgumentTypeError, match=wanted):
        bench.bench_parts("drills,helth")


def _bench_with_a_failing_part(monkeypatch, tmp_path, *flags):
    """main() with lab.sh recorded instead of run and the lab's parts failing: the lab.sh calls."""
    from lab.bench import __main__ as bench  # noqa: PLC0415

    calls = []
    monkeypatch.setattr(bench.subprocess, "run", lambda argv, **_kw: calls.append(Path(argv[0]).name + " " + argv[1]))

    def fails(*_args):
        raise RuntimeError("a part failed")

    monkeypatch.setattr(bench, "with_lab", fails)
    monkeypatch.setattr("sys.argv", ["bench", "--parts", "roles", "--out", str(tmp_path), *flags])
    with pytest.raises(RuntimeError, match="a part failed"):
        bench.main()
    return calls


def test_the_bench_takes_down_the_lab_it_brought_up_even_when_a_part_fails(monkeypatch, tmp_path):
    # A lab left up holds the emulator's port: the next `make awx` or `make demo` refuses to start.
    assert _bench_with_a_failing_part(monkeypatch, tmp_path) == ["lab.sh down", "lab.sh up", "lab.sh down"]


def test_keep_lab_reuses_the_lab_and_leaves_it_up(monkeypatch, tmp_path):
    assert _bench_with_a_failing_part(monkeypatch, tmp_path, "--keep-lab") == ["lab.sh up"]
