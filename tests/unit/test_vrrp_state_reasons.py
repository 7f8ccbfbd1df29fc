"""Why a node is not MASTER or BACKUP, read from its daemon's log (site.yml's R5 message)."""

from __future__ import annotations

import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "build" / "collections"))

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.havip.tencentcloud.plugins.filter.vrrp_state_reasons import (  # noqa: E402
    vrrp_state_reasons,
)

# Keepalived 2.2.7 on the lab image, journal of keepalived.service (-o cat), the check failing.
KEEPALIVED_LOG = """\
Starting Keepalived v2.2.7 (01/16,2022)
Starting VRRP child process, pid=41
VRRP_Script(checkhaproxy) failed (exited with status 1)
(VI_1) Entering FAULT STATE
Stopping
Starting Keepalived v2.2.7 (01/16,2022)
Starting VRRP child process, pid=77
Script `checkhaproxy` now returning 1
VRRP_Script(checkhaproxy) failed (exited with status 1)
VRRP_Script(checkport) succeeded
(VI_1) Entering FAULT STATE
(VI_1) sent 0 priority
"""


def test_keepalived_names_the_failing_script_and_the_instance():
    assert vrrp_state_reasons(KEEPALIVED_LOG, "keepalived") == [
        "track script checkhaproxy failed (exited with status 1)",
        "instance VI_1 in FAULT",
    ]


def test_only_the_last_start_counts_and_a_recovered_script_is_no_reason():
    log = KEEPALIVED_LOG + "VRRP_Script(checkhaproxy) succeeded\n(VI_1) Entering BACKUP STATE\n"
    assert vrrp_state_reasons(log, "keepalived") == []
    before_restart = "Starting VRRP child process, pid=1\nVRRP_Script(old) failed (exited with status 2)\n"
    assert vrrp_state_reasons(before_restart + "Starting VRRP child process, pid=2\n", "keepalived") == []


def test_a_child_that_writes_before_its_parent_says_it_started_is_read():
    # Keepalived 2.2.7, the check failing from the start (CI, 2026-12-02): the VRRP child ran the
    # check before its parent wrote "Starting VRRP child process".
    log = ("VRRP_Script(old) failed (exited with status 2)\nStopping\nStarting Keepalived v2.2.7 (01/16,2022)\n"
           "Script `check_service` now returning 1\nVRRP_Script(check_service) failed (exited with status 1)\n"
           "Starting VRRP child process, pid=28909\nStartup complete\n")
    assert vrrp_state_reasons(log, "keepalived") == ["track script check_service failed (exited with status 1)"]


def test_keepalived_fault_causes_and_timeouts():
    log = ("Starting VRRP child process, pid=5\n(VI_1) Cannot use unicast without any peers - going to fault state\n"
           "(VI_1) Entering FAULT STATE\nVRRP_Script(slow) timed_out\n"
           "VRRP_Script(kept) considered unsuccessful on reload\n")
    assert vrrp_state_reasons(log, "keepalived") == [
        "track script slow failed (timed out)",
        "track script kept failed (considered unsuccessful on reload)",
        "instance VI_1 in FAULT (Cannot use unicast without any peers - going to fault state)",
    ]
    assert vrrp_state_reasons("(VI_2): entering FAULT state (src address not configured)", "keepalived") == [
        "instance VI_2 in FAULT (src address not configured)"]


def test_the_agents_key_value_lines():
    log = """\
level=info event=started config=/etc/keepalived/keepalived.conf pid=12
level=info event=track_script script=checkhaproxy ok=False result="exit 1"
level=info event=state_change instance=VI_1 old=BACKUP new=FAULT reason="track_script checkhaproxy failed" priority=100
"""
    assert vrrp_state_reasons(log, "agent") == [
        "track script checkhaproxy failed (exit 1)",
        "instance VI_1 in FAULT (track_script checkhaproxy failed)",
    ]
    recovered = log + 'level=info event=track_script script=checkhaproxy ok=True result="exit 0"\n' + (
        "level=info event=state_change instance=VI_1 old=FAULT new=BACKUP reason=recovered priority=100\n")
    assert vrrp_state_reasons(recovered, "agent") == []


def test_an_empty_log_gives_no_reason_and_an_unknown_daemon_is_named():
    assert vrrp_state_reasons("", "agent") == []
    assert vrrp_state_reasons(None) == []
    with pytest.raises(AnsibleFilterError, match="daemon='vrrpd': must be keepalived or agent"):
        vrrp_state_reasons("", "vrrpd")
