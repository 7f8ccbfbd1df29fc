"""What the health bench without the lab computes (lab/bench/health_netns.py, issue 12), not its
timings: the inventory it renders the roles with, the configuration the roles render from it,
the plan's bound beside each row, the report's table, and a testbed that leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from test_keepalived_template import block, check_with_both_daemons, directives

from lab.bench import health_netns, report

ROOT = Path(__file__).resolve().parents[2]


def hosts(inv):
    return inv["all"]["children"]["cluster"]["hosts"]


@pytest.mark.parametrize("advert", [1.0, 0.1])
def test_only_the_master_tracks_the_check_under_test(advert, tmp_path):
    for check, tracked in (("script", ("track_scripts", ["chk_svc"])), ("track_process", ("track_processes", ["svc"]))):
        inv = health_netns.inventory(check, advert, tmp_path, 18080)
        master, peer = (hosts(inv)[health_netns.HOSTS[s]] for s in "ab")
        inst = master["keepalived_instances"][0]
        assert inst[tracked[0]] == tracked[1]
        other = "track_processes" if tracked[0] == "track_scripts" else "track_scripts"
        assert inst[other] == []
        assert peer["keepalived_instances"][0]["track_scripts"] == peer["keepalived_instances"][0][
            "track_processes"] == []
        assert (peer["keepalived_vrrp_scripts"], peer["keepalived_track_processes"]) == ([], [])
        group = inv["all"]["children"]["cluster"]["vars"]
        assert group["keepalived_check_process"] == health_netns.SERVICE
        assert len(health_netns.SERVICE) <= 15  # the kernel keeps 15 characters of a process name
        if advert == 1.0:
            assert (group["keepalived_vrrp_version"], inst["advert_int"]) == (2, 1)
            assert isinstance(inst["advert_int"], int) and inst["auth_pass"]
        else:
            assert (group["keepalived_vrrp_version"], inst["advert_int"]) == (3, 0.1)
            assert "auth_pass" not in inst  # RFC 5798
    script = hosts(health_netns.inventory("script", advert, tmp_path, 1))["havip-tb-a"]["keepalived_vrrp_scripts"][0]
    # make bench's check at 1 s and 0.1 s: interval 1 x fall 2.
    assert (script["interval"], script["fall"], script["rise"], script["timeout"]) == (1, 2, 1, 1)


def test_the_bound_beside_each_row_is_the_plans():
    """master-down + the slowest tracked check: a script's interval x fall, a process's delay (0)."""
    bounds = {(check, advert): health_netns.plan_bound(health_netns.inventory(check, advert, Path("/x"), 1))
              for check in health_netns.CHECKS for advert in (1.0, 0.1)}
    assert bounds == {("script", 1.0): 5.609, ("track_process", 1.0): 3.609,  # 3 x 1 + 156/256, RFC 3768 6.1
                      ("script", 0.1): 2.361, ("track_process", 0.1): 0.361}  # 3 x 0.1 + 156 x 0.1/256, RFC 5798


def accepted_by_both_daemons(conf: Path) -> None:
    """keepalived -t checks that the interface exists: the copy checked names eth0 (as the template
    tests do) instead of the veth."""
    copy = conf.with_name("checked.conf")
    copy.write_text(conf.read_text().replace(f"interface {health_netns.DEV}\n", "interface eth0\n"))
    check_with_both_daemons(copy)


def test_the_roles_render_the_configuration_both_daemons_run():
    render_dir = ROOT / "build" / "test-render" / f"health-netns-{os.getpid()}"  # not /tmp: script security
    subprocess.run(["rm", "-rf", str(render_dir)], check=True)
    inv = health_netns.inventory("track_process", 0.1, render_dir, 18080)
    confs = health_netns.render(inv, render_dir)
    text = confs["a"].read_text()
    assert directives(block(text, "vrrp_track_process svc")) == [
        ["process", health_netns.SERVICE], ["weight", "0"], ["quorum", "1"]]
    body = block(text, "vrrp_instance VI_1")
    assert ["track_process", "{"] in directives(body) and ["interface", health_netns.DEV] in directives(body)
    assert ["unicast_src_ip", "10.254.12.5"] in directives(body) and ["vrrp_version", "3"] in directives(text)
    assert "track_process" not in confs["b"].read_text()
    accepted_by_both_daemons(confs["a"])
    accepted_by_both_daemons(confs["b"])

    inv = health_netns.inventory("script", 1.0, render_dir, 18080)
    confs = health_netns.render(inv, render_dir)
    script = directives(block(confs["a"].read_text(), "vrrp_script chk_svc"))
    assert ["interval", "1"] in script and ["fall", "2"] in script
    check = (confs["a"].parent / "check_service.sh").read_text()
    assert f"pgrep -x {health_netns.SERVICE} " in check and "/dev/tcp/127.0.0.1/18080" in check
    accepted_by_both_daemons(confs["a"])
    subprocess.run(["rm", "-rf", str(render_dir)], check=True)


def sample(daemon, check, advert, outage, passed=True):
    return {"daemon": daemon, "check": check, "advert_int": advert, "vrrp_version": report.vrrp_version(advert),
            "outage_s": outage, "passed": passed, "bound_s": 3.609 if check == "track_process" else 5.609}


def test_rows_give_median_and_range_per_advert_daemon_and_check(tmp_path):
    samples = [sample("keepalived", "script", 1, x) for x in (1.9, 1.2, 2.5)] + [
        sample("agent", "track_process", 1, 0.62), sample("agent", "track_process", 1, None, passed=False),
        sample("agent", "track_process", 0.1, 0.07)]
    rows = report.health_rows(samples)
    assert [(r["advert_int"], r["daemon"], r["check"]) for r in rows] == [
        (1.0, "agent", "track_process"), (1.0, "keepalived", "script"), (0.1, "agent", "track_process")]
    assert (rows[1]["runs"], rows[1]["median_s"], rows[1]["min_s"], rows[1]["max_s"]) == (3, 1.9, 1.2, 2.5)
    assert (rows[0]["runs"], rows[0]["failed_runs"], rows[0]["median_s"]) == (2, 1, 0.62)
    result = report.write(tmp_path, [], [], "make bench BENCH_ARGS='--parts health'", health=samples)
    table = (tmp_path / "report.md").read_text()
    assert "| 1 | keepalived | script | 3 | 1.9 | 1.2 | 2.5 | 5.609 |" in table
    assert "| 1 | agent | track_process | 2 (1 failed) | 0.62 | 0.62 | 0.62 | 3.609 |" in table
    assert "| 0.1 (VRRPv3) | agent | track_process | 1 | 0.07 | 0.07 | 0.07 | 3.609 |" in table
    assert "| daemon | advert_int (s) | failure |" not in table  # no lab drills in this run
    assert "probe" not in table and "Measured with `make bench BENCH_ARGS='--parts health'`." in table
    assert result["health_rows"] == rows


def test_the_health_part_is_in_make_benchs_default_parts(monkeypatch):
    from lab.bench import __main__ as bench  # noqa: PLC0415 - the bench's own entry module

    monkeypatch.setattr("sys.argv", ["lab.bench"])
    assert "health" in bench.parse_args().parts  # --parts is parsed into its list of parts


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a network namespace)")
def test_the_testbed_leaves_nothing_behind_on_an_error(tmp_path):
    netns, dev = f"hvtt{os.getpid() % 100000}", f"hvtt{os.getpid() % 100000}d"

    def present():
        return Path(f"/run/netns/{netns}").exists(), Path(f"/sys/class/net/{dev}").exists()

    with pytest.raises(KeyboardInterrupt), health_netns.Testbed(tmp_path, netns=netns, dev=dev) as bed:
        assert present() == (True, True)
        assert bed.holders() == []
        peer = subprocess.run(["ip", "-n", netns, "-o", "link", "show", dev], capture_output=True, text=True,
                              check=True).stdout
        assert "veth" in subprocess.run(["ip", "-d", "link", "show", dev], capture_output=True, text=True,
                                        check=True).stdout and f": {dev}@" in peer  # the same name on both nodes
        sleeper = bed.start("b", ["sleep", "60"], tmp_path / "sleep.log")
        raise KeyboardInterrupt  # Ctrl-C in the middle of a run
    assert sleeper.poll() is not None
    assert present() == (False, False)
    with health_netns.Testbed(tmp_path, netns=netns, dev=dev), pytest.raises(RuntimeError, match="exists already"):
        health_netns.Testbed(tmp_path, netns=netns, dev=dev)
    assert present() == (False, False)
