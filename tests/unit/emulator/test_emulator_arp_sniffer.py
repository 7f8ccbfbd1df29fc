"""The AF_PACKET sniffer for real, on a veth pair inside a network namespace this test creates and removes.

Nothing leaves the namespace: both ends of the veth pair live in it. Needs root and iproute2."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from emulator_support import ROOT

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and iproute2 to create a network namespace")

SNIFFER = textwrap.dedent("""
    import json, sys, threading
    from lab.emulator import arp_watch
    stop = threading.Event()
    def seen(ip, mac):
        print(json.dumps({"ip": ip, "mac": mac}), flush=True)
        stop.set()
    timer = threading.Timer(10, stop.set)
    timer.daemon = True
    timer.start()
    arp_watch.sniff("veth-b", seen, stop)
""")
SENDER = textwrap.dedent("""
    import socket, time
    from lab.emulator.arp_watch import ArpFrame
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind(("veth-a", 0))
        # An ordinary request first (must be ignored), then gratuitous ones until the sniffer is up.
        who_has = bytearray(ArpFrame.gratuitous("02:42:ac:10:10:05", "172.16.16.5").pack())
        who_has[38:42] = bytes([172, 16, 16, 6])
        for _round in range(50):
            sock.send(bytes(who_has))
            sock.send(ArpFrame.gratuitous("02:42:ac:10:10:05", "172.16.16.12").pack())
            time.sleep(0.1)
""")


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def test_sniffer_reports_gratuitous_arp_from_a_veth_pair():
    ns = f"havip-arp-{os.getpid()}"
    ip("netns", "add", ns)
    try:
        ip("-n", ns, "link", "add", "veth-a", "type", "veth", "peer", "name", "veth-b")
        ip("-n", ns, "link", "set", "veth-a", "up")
        ip("-n", ns, "link", "set", "veth-b", "up")
        exec_in = ["ip", "netns", "exec", ns, sys.executable, "-c"]
        sniffer = subprocess.Popen([*exec_in, SNIFFER], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        sender = subprocess.Popen([*exec_in, SENDER], cwd=ROOT)
        try:
            line = sniffer.stdout.readline()
        finally:
            sender.kill()
            sender.wait(timeout=10)
            sniffer.wait(timeout=15)
        assert json.loads(line) == {"ip": "172.16.16.12", "mac": "02:42:ac:10:10:05"}
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=10)
