"""make bench's `idle` part for real (lab/bench/idle_netns.part): Keepalived's pair and this checkout's agent
pair, each in two network namespaces, at the same time; one short sample. What is asserted is what the
report rests on (each pair elected one master, both daemons' CPU and RSS read, their own pages counted),
not the figures, which belong to `make bench`."""

from __future__ import annotations

import json
import os

import pytest

from lab.bench import idle_netns

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(idle_netns.test_interop.KEEPALIVED),
    reason="network namespaces and raw sockets need root, and Keepalived (make host-tools)",
)


def test_the_idle_part_measures_both_daemons_side_by_side(tmp_path):
    records = idle_netns.part(["keepalived", "agent"], [0.1, 0.2], samples=2, seconds=1.0, out_dir=tmp_path)
    assert json.loads((tmp_path / "idle-netns" / "records.json").read_text()) == records
    assert [(r["advert_int"], r["vrrp_version"], r["samples"]) for r in records] == [(0.1, 3, 2), (0.2, 3, 2)]
    for record in records:  # the second measure's namespaces beside the first one's files
        assert [row["daemon"] for row in record["pairs"]] == ["keepalived", "agent"]
        for row in record["pairs"]:
            assert row["holders"] == ["a"], row  # the priority-150 side holds the VIP, and only it
            assert len(row["both"]) == 2 and all(cpu > 0 for cpu in row["master"]), row  # a master sends adverts
            assert all(kib > 1024 for kib in row["rss_kib"]), row
            assert len(row["own_pages"]) == 2 and all(int(p.split("+")[1]) > 0 for p in row["own_pages"]), row
        assert record["machine"]["page_us"] > 0


@pytest.mark.parametrize("ref", ["worktree", "HEAD"])
def test_each_agent_runs_as_the_role_installs_it(tmp_path, ref):
    """The modules only, compiled by the nodes' interpreter (checked-hash, as roles/vrrp_agent does): the
    same RSS whether the code comes from the checkout (with or without a test run's __pycache__) or a ref."""
    package = idle_netns.agent_dir(ref, tmp_path) / "havip_vrrp"
    modules = sorted(p.stem for p in package.glob("*.py"))
    assert len(modules) >= 10
    assert sorted(p.name for p in package.iterdir()) == sorted([*(f"{m}.py" for m in modules), "__pycache__"])
    tag = idle_netns.subprocess.run([idle_netns.AGENT_PYTHON, "-c", "import sys; print(sys.implementation.cache_tag)"],
                                    capture_output=True, text=True, check=True).stdout.strip()
    cache = package / "__pycache__"
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{m}.{tag}.pyc" for m in modules)
    assert all(p.read_bytes()[4] == 0b11 for p in cache.iterdir())  # checked-hash (PEP 552)
