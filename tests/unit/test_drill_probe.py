"""The drill's probe (playbooks/drill/files/havip_probe.py, R8): TCP against real listeners on loopback, ICMP
through real raw and datagram sockets in a private network namespace, the neighbour table parsing."""
import importlib.util
import json
import pathlib
import socket
import subprocess
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBE = ROOT / "playbooks/drill/files/havip_probe.py"
spec = importlib.util.spec_from_file_location("havip_probe", PROBE)
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)

ARP_HEADER = "IP address       HW type     Flags       HW address            Mask     Device\n"


def arp_table(path, vip, mac, flags="0x2"):
    path.write_text(ARP_HEADER + f"{vip}     0x1         {flags}         {mac}     *        eth0\n")


def test_analyse_finds_longest_gap_and_switch():
    samples = [(0.00, "a"), (0.02, "a"), (0.04, None), (0.06, None), (1.54, "b"), (1.56, "b")]
    report = probe.analyse(samples)
    assert report["first_node"] == "a"
    assert report["last_node"] == "b"
    assert report["switches"] == 1
    assert report["outage_s"] == pytest.approx(1.52)
    assert report["outage_start_s"] == pytest.approx(0.02)
    assert report["misses"] == 2
    assert report["segments"] == [["a", 0.0, 0.02], ["b", 1.54, 1.56]]
    assert report["answering_at_end"] is True


def test_analyse_without_any_answer_is_all_outage():
    report = probe.analyse([(0.0, None), (0.5, None), (1.0, None)])
    assert report["first_node"] is None
    assert report["outage_s"] == pytest.approx(1.0)
    assert report["answering_at_end"] is False


def test_analyse_without_failover_has_no_switch():
    report = probe.analyse([(0.0, "a"), (0.02, "a"), (0.04, "a")])
    assert report["switches"] == 0
    assert report["outage_s"] == pytest.approx(0.02)


def test_neighbour_reads_complete_entries_only(tmp_path):
    table = tmp_path / "arp"
    arp_table(table, "172.16.16.12", "02:42:ac:10:10:05")
    assert probe.neighbour("172.16.16.12", str(table)) == "02:42:ac:10:10:05"
    assert probe.neighbour("172.16.16.13", str(table)) == probe.UNKNOWN
    arp_table(table, "172.16.16.12", "00:00:00:00:00:00", flags="0x0")  # incomplete: being resolved
    assert probe.neighbour("172.16.16.12", str(table)) == probe.UNKNOWN
    assert probe.neighbour("172.16.16.12", str(tmp_path / "absent")) == probe.UNKNOWN


def test_echo_request_checksum_verifies():
    packet = probe.echo_request(0x1234, 7)
    assert packet[0] == probe.ICMP_ECHO_REQUEST
    assert probe.checksum(packet) == 0  # a correct checksum sums to zero


def listen(port=0):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)

    def accept():
        while True:
            try:
                conn, _peer = server.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return server


def test_tcp_probe_measures_a_real_outage_and_the_switch_in_the_neighbour_table(tmp_path):
    """The service answers, goes away for about 0.6 s, then answers again while the VIP's neighbour
    entry names another MAC (what the new master's gratuitous ARP does); the probe stops --settle after."""
    table = tmp_path / "arp"
    arp_table(table, "127.0.0.1", "02:00:00:00:00:0a")
    first = listen()
    port = first.getsockname()[1]

    def failover():
        time.sleep(0.5)
        first.close()
        time.sleep(0.6)
        arp_table(table, "127.0.0.1", "02:00:00:00:00:0b")
        listen(port)

    threading.Thread(target=failover, daemon=True).start()
    args = probe.argparse.Namespace(host="127.0.0.1", port=port, icmp=False, interval=0.02, timeout=0.2,
                                    duration=8.0, settle=0.3, neighbours=str(table))
    started = time.monotonic()
    report = probe.run(args)
    assert report["first_node"] == "02:00:00:00:00:0a"
    assert report["last_node"] == "02:00:00:00:00:0b"
    assert report["switches"] == 1
    assert report["method"] == "tcp"
    # The gap cannot be shorter than the 0.6 s without a listener; the upper limit only guards
    # against a probe that misses answers (loose: CI machines are loaded).
    assert 0.55 <= report["outage_s"] <= 3.0, report
    assert time.monotonic() - started < 5.0, "the probe did not stop after the switch"


def test_tcp_probe_without_a_listener_reports_no_answer():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        args = probe.argparse.Namespace(host="127.0.0.1", port=port, icmp=False, interval=0.02, timeout=0.2,
                                        duration=0.3, settle=1.0, neighbours="/nonexistent")
        report = probe.run(args)
    assert report["answers"] == 0
    assert report["misses"] == report["samples"] > 1
    assert report["first_node"] is None


def in_netns(script):
    """Runs a shell script in a fresh network namespace (only its own loopback: no traffic leaves)."""
    result = subprocess.run(["unshare", "-n", "sh", "-ec", "ip link set lo up\n" + script],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_icmp_probe_as_root_uses_a_raw_socket():
    report = in_netns(f"/usr/bin/python3 {PROBE} 127.0.0.1 --icmp --duration 0.2 --interval 0.05")
    assert report["icmp_socket"] == "raw"
    assert report["misses"] == 0
    assert report["answers"] >= 3


def test_icmp_probe_without_root_uses_the_ping_datagram_socket():
    report = in_netns(
        'sysctl -qw net.ipv4.ping_group_range="65534 65534"\n'
        f"setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 {PROBE} 127.0.0.1 --icmp"
        " --duration 0.2 --interval 0.05")
    assert report["icmp_socket"] == "datagram"
    assert report["misses"] == 0
    assert report["answers"] >= 3


def test_icmp_probe_counts_an_unreachable_vip_as_misses():
    report = in_netns(f"/usr/bin/python3 {PROBE} 10.255.255.1 --icmp --duration 0.2 --interval 0.05")
    assert report["answers"] == 0
    assert report["misses"] >= 3


def test_a_port_out_of_range_is_refused_with_the_rule():
    result = subprocess.run(["/usr/bin/python3", str(PROBE), "127.0.0.1", "--port", "70000"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "--port 70000: a TCP port is 1-65535" in result.stderr
