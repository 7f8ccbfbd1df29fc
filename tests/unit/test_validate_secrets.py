"""validate: never puts auth_pass in the job output (issue 11, R3).

The template module prints the validate command's stderr when it fails. Keepalived 2.2.7's config
test (the Debian package the lab nodes install) quotes the words it cannot place, with their line:
a brace in auth_pass puts four of its eight characters there. The filter refuses such a password
before anything is rendered; the validate command the private role runs is wrapped by
vrrp_validate_redacted as well, so that no message about an auth_pass line is shown.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_vrrp_filters import vrrp

ROOT = Path(__file__).resolve().parents[2]
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
AGENT = f"{sys.executable} -S -m havip_vrrp --check-config -f %s"
CONF = """global_defs {
    router_id n1
    enable_script_security
    script_user root
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass SECRET
    }
    unicast_src_ip 172.16.16.5
    unicast_peer {
        172.16.16.6
    }
    virtual_ipaddress {
        172.16.16.12
    }
    garp_master_delay 1
}
"""
PIECES = ("Qz", "Xy", "Wv")


def run(command, path):
    # As the template module runs it: Python's % fills the file, then no shell splits the words.
    return subprocess.run(shlex.split(command % path), capture_output=True, text=True, check=False,
                          cwd=ROOT / "roles" / "vrrp_agent" / "files")


@pytest.fixture
def leaking(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF.replace("SECRET", "Qz}Xy{Wv").replace("garp_master_delay 1", "garp_master_dlay 1"))
    return str(path)


def test_keepalived_alone_echoes_pieces_of_a_braced_password(leaking):
    """The hazard, measured: without the wrapper the secret's words come back."""
    proc = run(f"{KEEPALIVED} -t -f %s", leaking)
    assert proc.returncode != 0
    assert "Unknown keyword 'Xy'" in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", [f"{KEEPALIVED} -t -f %s", AGENT], ids=["keepalived", "agent"])
def test_the_wrapped_validate_shows_no_piece_and_keeps_the_rest(leaking, command):
    proc = run(vrrp.vrrp_validate_redacted(command), leaking)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert not any(piece in output for piece in PIECES), output
    if command != AGENT:
        assert "Line 23) Unknown keyword 'garp_master_dlay'" in output  # other lines still explain the failure
        assert "(messages about the auth_pass line are not shown)" in output


def test_a_good_file_still_passes(tmp_path):
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF.replace("SECRET", "s3cret"))
    proc = run(vrrp.vrrp_validate_redacted(AGENT), str(path))
    assert proc.returncode == 0, proc.stderr
    assert "s3cret" not in proc.stdout + proc.stderr


def test_the_password_of_the_issue_is_refused_before_rendering():
    instances = vrrp.vrrp_instances([{"name": "VI_1", "virtual_router_id": 51, "auth_pass": "Qz}Xy{Wv",
                                      "unicast_src_ip": "172.16.16.5", "unicast_peers": ["172.16.16.6"],
                                      "virtual_ipaddresses": ["172.16.16.12"], "interface": "eth0",
                                      "state": "BACKUP", "priority": 100, "advert_int": 1,
                                      "garp_master_delay": 1, "garp_master_refresh": 5}], {}, "n1", {}, ["n1"])
    errors = vrrp.vrrp_config_errors(instances, [], {})
    assert [e for e in errors if "auth_pass" in e] == [
        "keepalived_instances[VI_1].auth_pass: holds whitespace, a control character, a brace, a quote, a "
        "backslash, '#' or '!', which keepalived.conf would read as syntax (R3 PASS authentication); value not shown"]


def test_a_command_without_one_file_placeholder_is_refused():
    with pytest.raises(Exception, match="must hold %s once"):
        vrrp.vrrp_validate_redacted("keepalived -t")
