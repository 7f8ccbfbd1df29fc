"""The agent's thin I/O helpers that need neither root nor a network: track and notify scripts
(R3, R4h), status file, Prometheus metrics, structured logs and the command line."""

import contextlib
import pathlib
import subprocess
import sys
import time
import urllib.request

import pytest
from havip_vrrp import __main__ as cli
from havip_vrrp import config, scripts, status
from havip_vrrp.daemon import _quote
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_config import GUIDE_PRIMARY


def drive(track, timeout=5.0):
    """Poll a TrackScript until it reports a change (or the time is up)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        changed = track.poll(time.monotonic())
        if changed is not None:
            return changed
        time.sleep(0.01)
    return None


def test_track_script_fall_and_rise(tmp_path):
    flag = tmp_path / "ok"
    flag.write_text("")
    script = config.VrrpScript("chk", script=f"test -e {flag}", interval=0.05, fall=2, rise=2)
    track = scripts.TrackScript(script)
    assert track.ok
    flag.unlink()
    assert drive(track) is False
    assert track.last_result == "exit 1"
    flag.write_text("")
    assert drive(track) is True


def test_hung_track_script_is_killed_and_fails():
    script = config.VrrpScript("slow", script="sleep 30", interval=0.05, timeout=0.2)
    track = scripts.TrackScript(script)
    start = time.monotonic()
    assert drive(track) is False
    assert track.last_result == "timeout"
    assert time.monotonic() - start < 3
    track.stop()


def test_missing_track_script_fails():
    track = scripts.TrackScript(config.VrrpScript("x", script="/nonexistent/check", interval=1))
    assert track.poll(0.0) is False
    assert track.last_result.startswith("cannot start")


def test_unknown_script_user_is_a_failure_not_a_crash():
    track = scripts.TrackScript(config.VrrpScript("x", script="/bin/true", interval=1), "no_such_user_hv")
    if scripts.os.geteuid() != 0:
        pytest.skip("script_user only applies when running as root")
    assert track.poll(0.0) is False
    assert "unknown script_user" in track.last_result


def test_notify_commands_like_keepalived():
    conf = config.parse(GUIDE_PRIMARY)
    mc = conf.machine_config("VI_1")
    assert scripts.notify_commands(mc, "MASTER", 100) == [["/etc/keepalived/notify_action.sh", "MASTER"]]
    conf.instances["VI_1"].notify = "/usr/local/bin/n.sh --flag"
    assert scripts.notify_commands(conf.machine_config("VI_1"), "STOP", 100)[-1] == [
        "/usr/local/bin/n.sh", "--flag", "INSTANCE", "VI_1", "STOP", "100",
    ]


def test_notify_runner_runs_and_reaps(tmp_path):
    out = tmp_path / "out"
    runner = scripts.NotifyRunner(timeout=5)
    assert runner.run(["/bin/sh", "-c", f"echo $0 > {out}", "MASTER"], 0.0) is None
    runner.wait(timeout=5)
    assert out.read_text().strip() == "MASTER"
    assert runner.run(["/nonexistent/notify"], 0.0)


SNAPSHOT = {
    "pid": 42,
    "config": "/etc/keepalived/keepalived.conf",
    "instances": {
        "VI_1": {
            "state": "MASTER", "vrid": 51, "interface": "eth0", "priority": 100, "effective_priority": 100,
            "vips": ["172.16.16.12"], "master_since": 1000.0, "last_failover": 1000.0, "master_ip": "172.16.16.5",
            "peers": {"172.16.16.6": {"priority": 100, "last_seen": 1009.0}},
            "transitions": 2, "adverts_sent": 7, "adverts_received": 3,
        }
    },
    "adverts_dropped": {"bad_auth": 2},
}  # fmt: skip


def test_status_file_round_trip_and_text(tmp_path):
    path = tmp_path / "run" / "status.json"
    status.write_status(str(path), SNAPSHOT)
    assert status.read_status(str(path)) == SNAPSHOT
    text = status.format_status(SNAPSHOT, now=1010.0)
    assert "instance VI_1: MASTER" in text
    assert "master since: 1970-01-01T00:16:40Z (10s ago)" in text
    assert "peer 172.16.16.6: priority 100" in text
    assert "dropped: bad_auth 2" in text


def test_metrics_text():
    text = status.render_metrics(SNAPSHOT)
    assert 'havip_vrrp_state{instance="VI_1",state="MASTER"} 2' in text
    assert 'havip_vrrp_transitions_total{instance="VI_1"} 2' in text
    assert 'havip_vrrp_adverts_sent_total{instance="VI_1"} 7' in text
    assert 'havip_vrrp_adverts_received_total{instance="VI_1"} 3' in text
    assert 'havip_vrrp_adverts_dropped_total{reason="bad_auth"} 2' in text
    assert 'havip_vrrp_last_failover_timestamp_seconds{instance="VI_1"} 1000.000' in text
    assert "# TYPE havip_vrrp_transitions_total counter" in text


def test_metrics_server_on_loopback():
    server = status.MetricsServer(port=0)
    try:
        body = status.render_metrics(SNAPSHOT)
        assert scrape(server, lambda: body).decode() == body
    finally:
        server.close()


def scrape(server, render):
    """GET /metrics from a thread while this one turns the daemon's loop for the server."""
    import threading  # noqa: PLC0415

    result = {}

    def fetch():
        result["body"] = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5).read()

    thread = threading.Thread(target=fetch)
    thread.start()
    end = time.monotonic() + 5
    while thread.is_alive() and time.monotonic() < end:
        serve(server, render)
    thread.join(timeout=5)
    return result.get("body")


def serve(server, render, seconds=0.05):
    """One turn of the daemon's loop for the metrics server alone; returns the time it took."""
    start = time.monotonic()
    for key, _unused in server.selector.select(timeout=seconds):
        server.on_ready(key.data[1], time.monotonic(), render)
    server.expire(time.monotonic())
    return time.monotonic() - start


def test_metrics_server_never_blocks_on_idle_or_slow_clients():
    """Finding 1 of issue 13: one idle connection held the loop for 0.5 s. Now 100 idle and slow
    clients cost microseconds per turn, at most MAX_CLIENTS are held, each for CLIENT_TIMEOUT at
    most, and a real scrape still gets an answer once they are gone."""
    import socket  # noqa: PLC0415

    server = status.MetricsServer(port=0)
    clients = []
    try:
        for i in range(100):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            if i % 2:
                sock.sendall(b"GET /met")  # a slow client: half a request line, never finished
            clients.append(sock)
            serve(server, lambda: "x\n", seconds=0)  # the daemon's loop turns between connections
        worst = max(serve(server, lambda: "x\n", seconds=0.01) for _unused in range(100))
        assert worst < 0.05, worst  # each turn returns at once (the select timeout is 0.01)
        assert len(server.clients) <= server.MAX_CLIENTS
        assert server.refused >= 100 - server.MAX_CLIENTS
        time.sleep(server.CLIENT_TIMEOUT + 0.1)
        serve(server, lambda: "x\n", seconds=0.01)
        assert not server.clients  # every held connection timed out
        assert scrape(server, lambda: "ok\n") == b"ok\n"
    finally:
        for sock in clients:
            sock.close()
        server.close()


def test_log_quoting():
    assert _quote("MASTER") == "MASTER"
    assert _quote("higher priority advert") == '"higher priority advert"'
    assert _quote('a"b') == '"a\\"b"'
    assert _quote("") == '""'


def test_check_config_cli(tmp_path, capsys):
    good = tmp_path / "keepalived.conf"
    good.write_text(GUIDE_PRIMARY)
    assert cli.main(["--check-config", "-f", str(good)]) == 0
    bad = tmp_path / "bad.conf"
    bad.write_text(GUIDE_PRIMARY.replace("    nopreempt\n", "    nopreempt\n    vrrp_strict\n"))
    assert cli.main(["--check-config", "-f", str(bad)]) == 1
    assert f"{bad}:27: unknown or unsupported vrrp_instance keyword 'vrrp_strict'" in capsys.readouterr().err


def test_cli_as_module(tmp_path):
    good = tmp_path / "keepalived.conf"
    good.write_text(GUIDE_PRIMARY)
    env_path = str(cli.__file__).rsplit("/havip_vrrp/", 1)[0]
    proc = subprocess.run([sys.executable, "-m", "havip_vrrp", "--check-config", "-f", str(good)],
                          capture_output=True, text=True, env={"PYTHONPATH": env_path}, check=False)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "havip_vrrp", "status", "--status-file", str(tmp_path / "none")],
                          capture_output=True, text=True, env={"PYTHONPATH": env_path}, check=False)
    assert proc.returncode == 3


@pytest.mark.parametrize("args", [[], ["bogus"]])
def test_cli_usage(args):
    with pytest.raises(SystemExit) if args else pytest.raises(AssertionError):
        assert cli.main(args) != 2


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*'{}"#!\n ab1.0/', "vrrp_instance", "global_defs", "priority", "virtual_router_id", " 51"]),
        max_size=40,
    ).map("".join)
)
def test_config_parser_only_raises_config_error(text):
    with contextlib.suppress(config.ConfigError):
        config.parse(text)


# The hardened systemd unit of the vrrp_agent role keeps CAP_NET_RAW and CAP_NET_ADMIN only. The
# agent used to call setgroups() for script_user root even though it already was root: without
# CAP_SETGID that raised SubprocessError in the child, which crashed the agent at its first track
# or notify script. Run the scripts under the same capability bounds, through setpriv.
CAPLESS = ["setpriv", "--bounding-set=-all,+net_raw,+net_admin", "--inh-caps=-all"]
CAPLESS_SCRIPT = """
import sys
from havip_vrrp import config, scripts
track = scripts.TrackScript(config.VrrpScript("chk", script="/bin/true", interval=1), sys.argv[1])
track.poll(0.0)
track.proc.wait(timeout=5)
print(track.poll(1.0) is None and track.last_result)
runner = scripts.NotifyRunner()
print(runner.run(["/bin/true"], 0.0, sys.argv[1]))
track = scripts.TrackScript(config.VrrpScript("chk", script="/bin/true", interval=1, fall=1), "nobody")
print(track.poll(0.0), track.last_result.startswith("cannot start: cannot switch to script_user"))
"""


def test_scripts_run_as_root_script_user_without_setgid_capability():
    import shutil  # noqa: PLC0415

    if scripts.os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv (util-linux) to drop capabilities")
    agent_dir = str(pathlib.Path(scripts.__file__).resolve().parents[1])
    result = subprocess.run(
        [*CAPLESS, sys.executable, "-c", CAPLESS_SCRIPT, "root"],
        capture_output=True, text=True, timeout=30, env={"PYTHONPATH": agent_dir, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # root: the track script ran (exit 0) and the notify started; another user: a failure, no crash.
    assert result.stdout.split("\n")[:3] == ["exit 0", "None", "False True"]


def test_no_demotion_when_already_the_script_user():
    if scripts.os.geteuid() != 0:
        pytest.skip("script_user only applies when running as root")
    assert scripts._demote("root") is None
    assert scripts._demote("nobody") is not None


@pytest.mark.parametrize("address", ["0.0.0.0 --x", "localhost", "127.1", "::1", ""])
def test_metrics_address_must_be_an_ipv4_address(address, capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--metrics-address", address])
    assert "is not an IPv4 address" in capsys.readouterr().err
