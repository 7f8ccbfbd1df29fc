"""lab/bench/idle_netns.py's table: each agent's CPU against Keepalived's, as the ratio of the medians
and as the median of the per-sample ratios (each sample taken over the same seconds for every pair,
so that what loads the machine then weighs on both)."""

from __future__ import annotations

import os
from types import SimpleNamespace

from lab.bench import idle_netns


def _pair(label: str) -> SimpleNamespace:
    me = SimpleNamespace(pid=os.getpid())
    return SimpleNamespace(label=label, daemons=[me, me], holders=lambda: ["a"])


def test_each_sample_is_compared_with_keepalived_s_over_the_same_seconds(capsys):
    keepalived, agent = _pair("keepalived"), _pair("agent")
    cpu = {
        id(keepalived): {"master": [0.1, 0.3, 0.1], "backup": [0.0, 0.0, 0.0], "both": [0.1, 0.3, 0.1]},
        # Twice Keepalived's in every sample: the busy middle sample weighs on both alike.
        id(agent): {"master": [0.2, 0.6, 0.2], "backup": [0.0, 0.0, 0.0], "both": [0.2, 0.6, 0.2]},
    }
    idle_netns.report([keepalived, agent], cpu)
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in capsys.readouterr().out.splitlines()}
    assert rows["keepalived"][4:6] == ["1.00", "1.00 (1.00-1.00)"]
    assert rows["agent"][1] == "0.200 (0.200-0.600)"
    assert rows["agent"][4:6] == ["2.00", "2.00 (2.00-2.00)"]


def test_the_per_sample_ratios_show_their_spread(capsys):
    keepalived, agent = _pair("keepalived"), _pair("agent")
    cpu = {
        id(keepalived): {"master": [0.1, 0.2, 0.4], "backup": [0.0] * 3, "both": [0.1, 0.2, 0.4]},
        id(agent): {"master": [0.3, 0.3, 0.2], "backup": [0.0] * 3, "both": [0.3, 0.3, 0.2]},
    }
    idle_netns.report([keepalived, agent], cpu)
    row = next(line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| agent"))
    assert row[4] == "1.50"  # 0.3 / 0.2
    assert row[5] == "1.50 (0.50-3.00)"  # 3.0, 1.5, 0.5


def test_each_daemon_s_own_pages_touched_get_a_column(capsys):
    """The pages each daemon touched in a second (page_cost.pages_touched_each: its program's text
    and its data), master then backup: a figure that does not move with the machine."""
    keepalived, agent = _pair("keepalived"), _pair("agent")
    cpu = {id(p): {"master": [0.1], "backup": [0.1], "both": [0.2]} for p in (keepalived, agent)}
    pages = {id(keepalived): ["16+13", "16+13"], id(agent): ["99+76", "181+120"]}
    idle_netns.report([keepalived, agent], cpu, pages)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("| own pages touched in 1 s, master, backup (text+data) |")
    assert lines[1].count("|") == lines[0].count("|")
    assert next(line for line in lines if line.startswith("| agent")).endswith("| a | 99+76, 181+120 |")
