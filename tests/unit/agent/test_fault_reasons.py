"""site.yml's "why no single MASTER" (R5) against the real daemons: Keepalived 2.2.7 and the agent,
each in its network namespace, track a health check that fails on purpose; what vrrp_state_reasons
reads from their own logs names the script and the instance in FAULT.

Needs root (namespaces) and /usr/sbin/keepalived (`make host-tools`); skipped otherwise."""

import pathlib
import sys

import pytest

from .test_interop import ADVERT_INT, wait_for
from .test_interop import pytestmark as interop_skip

pytestmark = interop_skip  # the same rule: root and /usr/sbin/keepalived

COLLECTIONS = pathlib.Path(__file__).resolve().parents[3] / "build" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.havip.tencentcloud.plugins.filter.vrrp_state_reasons import (  # noqa: E402
    vrrp_state_reasons,
)

CHECK = "check_service"
# What each daemon says when the check's command exits 1.
EXIT_1 = {"keepalived": "exited with status 1", "agent": "exit 1"}
ENTERED = {"keepalived": ("Entering MASTER STATE", "Entering FAULT STATE"), "agent": ("new=MASTER", "new=FAULT")}
# Single node: MASTER after its Master_Down_Interval, with room for a loaded machine.
ELECTION_TIMEOUT = 3 * ADVERT_INT + 1 + 10


@pytest.fixture
def checked(pair):
    """The pair, where every config tracks CHECK: it fails (exit 1) while <tmp>/down exists."""
    script = pair.tmp / "check.sh"
    script.write_text(f"#!/bin/sh\ntest ! -e {pair.tmp}/down\n")
    script.chmod(0o755)
    original = pair.config

    def config(side, priority, *args, **kwargs):
        path = original(side, priority, *args, **kwargs)
        block = f'vrrp_script {CHECK} {{\n    script "{script}"\n    interval 1\n    fall 1\n    rise 1\n}}\n'
        path.write_text(path.read_text().replace(
            "vrrp_instance VI_1 {", f"{block}vrrp_instance VI_1 {{\n    track_script {{\n        {CHECK}\n    }}", 1))
        return path

    pair.config = config
    return pair


def start(pair, daemon):
    if daemon == "keepalived":
        pair.start_keepalived("a", 100)
        return "keepalived-a.log"
    pair.start_agent("a", 100)
    return "agent-a.log"


@pytest.mark.parametrize("daemon", ["keepalived", "agent"])
def test_a_check_failing_on_the_master_is_named_with_the_instance_in_fault(checked, daemon):
    log = start(checked, daemon)
    master, fault = ENTERED[daemon]
    assert wait_for(lambda: master in checked.log(log), timeout=ELECTION_TIMEOUT), checked.log(log)
    assert vrrp_state_reasons(checked.log(log), daemon) == []
    (checked.tmp / "down").touch()
    assert wait_for(lambda: fault in checked.log(log), timeout=10), checked.log(log)
    reasons = vrrp_state_reasons(checked.log(log), daemon)
    assert reasons[0] == f"track script {CHECK} failed ({EXIT_1[daemon]})", checked.log(log)
    assert reasons[1].startswith("instance VI_1 in FAULT"), checked.log(log)
    assert len(reasons) == 2


@pytest.mark.parametrize("daemon", ["keepalived", "agent"])
def test_a_check_failing_from_the_start_is_named(checked, daemon):
    (checked.tmp / "down").touch()
    log = start(checked, daemon)
    expected = f"track script {CHECK} failed ({EXIT_1[daemon]})"
    assert wait_for(lambda: expected in vrrp_state_reasons(checked.log(log), daemon), timeout=10), checked.log(log)
