"""The Galaxy-installed drill's outcome (molecule/galaxy, issue 12, R8): the report landed in the
user's working directory, not in the installed collection; it measured an outage within the VRRP
bound on the web server's port; the master moved and the VIP answers again; the probe was installed
by the drill itself, and the nodes run no lab service."""
import json
import os
import pathlib

import testinfra

SCRATCH = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "galaxy"
USER_DIR = SCRATCH / "user"
INSTALLED = SCRATCH / "collections" / "ansible_collections" / "havip" / "tencentcloud"
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
REPORT = USER_DIR / "havip-drills" / "stop.json"


def remote(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def report():
    return json.loads(REPORT.read_text())


def test_the_report_is_in_the_users_directory_and_nothing_was_written_into_the_collection():
    assert REPORT.is_file(), sorted(str(p) for p in USER_DIR.rglob("*"))
    manifest = json.loads((INSTALLED / "FILES.json").read_text())
    shipped = {entry["name"] for entry in manifest["files"]} | {"MANIFEST.json", "FILES.json"}
    extra = sorted(str(p.relative_to(INSTALLED)) for p in INSTALLED.rglob("*")
                   if str(p.relative_to(INSTALLED)) not in shipped and "__pycache__" not in p.parts)
    assert extra == [], extra


def test_the_outage_was_measured_on_the_health_check_port_within_the_bound():
    data = report()
    assert data["kind"] == "stop"
    assert data["probe_target"] == "172.16.28.12:8000"  # drill_probe_port defaulted to keepalived_check_port
    assert data["probe"]["method"] == "tcp"
    assert data["probe"]["answers"] > 0
    assert data["probe"]["misses"] >= 0
    assert 0 < float(data["outage_s"]) <= float(data["bound_s"]), data


def test_the_master_moved_and_the_vip_answers_from_the_backup():
    data = report()
    assert data["holders_after"] == [data["master_expected_after"]]
    assert data["master_expected_after"] != data["master_before"]
    assert data["answering_at_end"] is True
    # The lab's nodes have distinct MACs: the probe must have told them apart.
    assert data["probe_identified_nodes"] is True
    assert data["answered_before"] == data["master_before"]
    assert data["answered_after"] == data["master_expected_after"]


def test_the_drill_installed_its_own_probe_and_the_nodes_run_no_lab_service():
    probe = remote("havip-galaxy-probe").file("/usr/local/bin/havip-probe")
    assert probe.is_file
    assert probe.content_string == (INSTALLED / "playbooks" / "drill" / "files" / "havip_probe.py").read_text()
    for node in ("havip-galaxy-node1", "havip-galaxy-node2"):
        host = remote(node)
        assert host.service("www").is_running
        assert not host.file("/etc/systemd/system/havip-whoami.service").exists
        assert not host.exists("haproxy")
