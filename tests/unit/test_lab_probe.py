"""The failover probe (lab/probe/havip_probe.py) against real whoami servers on loopback."""
import http.server
import importlib.util
import pathlib
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = load("havip_probe", "lab/probe/havip_probe.py")
whoami = load("havip_whoami", "lab/services/havip_whoami.py")


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


def test_analyse_without_any_answer_is_all_outage():
    report = probe.analyse([(0.0, None), (0.5, None), (1.0, None)])
    assert report["first_node"] is None
    assert report["outage_s"] == pytest.approx(1.0)


def test_analyse_without_failover_has_no_switch():
    report = probe.analyse([(0.0, "a"), (0.02, "a"), (0.04, "a")])
    assert report["switches"] == 0
    assert report["outage_s"] == pytest.approx(0.02)


def serve(name):
    handler = type("Handler", (whoami.WhoAmI,), {"body": (name + "\n").encode()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_probe_measures_a_real_outage_and_switch_on_loopback():
    """Node a answers, goes away for about 0.6 s, then node b answers on the same port."""
    first = serve("node-a")
    port = first.server_address[1]

    def failover():
        time.sleep(0.5)
        first.shutdown()
        first.server_close()
        time.sleep(0.6)
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        handler = type("Handler", (whoami.WhoAmI,), {"body": b"node-b\n"})
        second = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=second.serve_forever, daemon=True).start()

    threading.Thread(target=failover, daemon=True).start()
    args = probe.argparse.Namespace(host="127.0.0.1", port=port, interval=0.02, timeout=0.2,
                                    duration=5.0, settle=0.3)
    report = probe.run(args)
    assert report["first_node"] == "node-a"
    assert report["last_node"] == "node-b"
    assert report["switches"] == 1
    # The gap cannot be shorter than the 0.6 s without a server; the upper limit only guards
    # against a probe that misses answers (it is loose: CI machines are loaded).
    assert 0.55 <= report["outage_s"] <= 3.0, report
