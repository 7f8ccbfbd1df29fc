"""lab/bench/idle_netns.py's record as report.netns_idle_table renders it (in idle_netns' output and in
make bench's report.md): each agent's CPU against Keepalived's, as the ratio of the medians and as the
median of the per-sample ratios (each sample taken over the same seconds for every pair, so that what
loads the machine then weighs on both)."""

from __future__ import annotations

from lab.bench import report


def _row(daemon: str, master: list, backup: list, pages=("16+13", "16+13")) -> dict:
    both = [m + b for m, b in zip(master, backup, strict=True)]
    return {"daemon": daemon, "master": master, "backup": backup, "both": both,
            "rss_kib": [13032, 13308], "holders": ["a"], "own_pages": list(pages)}


def _record(*rows: dict, **extra) -> dict:
    return {"advert_int": 0.1, "vrrp_version": 3, "samples": len(rows[0]["both"]), "seconds": 10.0, "cpu": 1,
            "pairs": list(rows), **extra}


def _rows(lines: list[str]) -> dict:
    return {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in lines if line.startswith("| ")}


def test_each_sample_is_compared_with_keepalived_s_over_the_same_seconds():
    lines = report.netns_idle_table(_record(
        _row("keepalived", [0.1, 0.3, 0.1], [0.0, 0.0, 0.0]),
        # Twice Keepalived's in every sample: the busy middle sample weighs on both alike.
        _row("agent", [0.2, 0.6, 0.2], [0.0, 0.0, 0.0])))
    rows = _rows(lines)
    assert lines[0] == ("advert_int 0.1 s (VRRPv3), 3 x 10 s, every daemon on CPU 1, "
                        "idle CPU in % of a core: median (min-max)")
    assert rows["keepalived"][4:6] == ["1.00", "1.00 (1.00-1.00)"]
    assert rows["agent"][1] == "0.200 (0.200-0.600)"
    assert rows["agent"][4:6] == ["2.00", "2.00 (2.00-2.00)"]


def test_the_per_sample_ratios_show_their_spread():
    rows = _rows(report.netns_idle_table(_record(
        _row("keepalived", [0.1, 0.2, 0.4], [0.0] * 3),
        _row("agent", [0.3, 0.3, 0.2], [0.0] * 3))))
    assert rows["agent"][4] == "1.50"  # 0.3 / 0.2
    assert rows["agent"][5] == "1.50 (0.50-3.00)"  # 3.0, 1.5, 0.5


def test_each_daemon_s_own_pages_touched_rss_and_holders_get_columns():
    """The pages each daemon touched in a second (page_cost.pages_touched_each: its program's text
    and its data), master then backup: a figure that does not move with the machine."""
    lines = report.netns_idle_table(_record(
        _row("keepalived", [0.1], [0.1]), _row("agent", [0.1], [0.1], pages=("99+76", "181+120"))))
    header = next(line for line in lines if line.startswith("| daemon"))
    assert header.endswith("| RSS master, backup (KiB) | VIP holders "
                           "| own pages touched in 1 s, master, backup (text+data) |")
    assert all(line.count("|") == header.count("|") for line in lines if line.startswith("|"))
    assert next(line for line in lines if line.startswith("| agent")).endswith("| 13032, 13308 | a | 99+76, 181+120 |")


def test_the_machine_s_page_cost_follows_the_table():
    machine = {"sleep_s": 0.1, "page_us": 9.5, "page_in_huge_us": 0.3, "python_wakeup_us": 250.0}
    lines = report.netns_idle_table(_record(_row("keepalived", [0.1], [0.1]), machine=machine))
    assert lines[-1] == report.page_cost.describe(machine)


def test_make_bench_s_report_holds_the_side_by_side_records(tmp_path):
    record = _record(_row("keepalived", [0.1, 0.1], [0.0, 0.0]), _row("agent", [0.15, 0.15], [0.0, 0.0]))
    result = report.write(tmp_path, [], [], "make bench", netns_idle=[record])
    assert result["netns_idle"] == [record]
    text = (tmp_path / "report.md").read_text()
    assert "Idle cost side by side (lab/bench/idle_netns.py" in text
    assert ("| agent | 0.150 (0.150-0.150) | 0.000 (0.000-0.000) | 0.150 (0.150-0.150) | 1.50 | 1.50 (1.50-1.50) |"
            in text)
