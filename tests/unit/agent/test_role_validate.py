"""The vrrp_agent role's own checks (tasks/validate.yml), run by ansible-playbook on the
controller: the metrics address (issue 13 finding 1: unvalidated, unquoted into ExecStart,
0.0.0.0 exposed the port to the whole VPC) and the script user (finding 2: a non-root
keepalived_script_user sent both nodes to FAULT under the agent)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.unit.playbook_runner import ansible_playbook

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).parent


def validate(**extra) -> subprocess.CompletedProcess:
    return ansible_playbook("-i", ROOT / "tests" / "unit" / "inventory" / "localhost.yml",
                            HERE / "playbooks" / "agent_validate.yml", extra_vars=extra)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"vrrp_agent_metrics_address": "127.0.0.53"},
        {"vrrp_agent_metrics_address": "10.0.0.5", "vrrp_agent_metrics_remote": True},
        {"vrrp_agent_metrics_address": "0.0.0.0", "vrrp_agent_metrics_remote": True},
        {"keepalived_script_user": "root"},
        {"keepalived_script_user": "root root"},
    ],
)
def test_accepted(extra):
    proc = validate(**extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"vrrp_agent_metrics_address": "0.0.0.0"}, "also needs vrrp_agent_metrics_remote: true"),
        ({"vrrp_agent_metrics_address": "10.0.0.5"}, "vrrp_agent_metrics_address=10.0.0.5"),
        ({"vrrp_agent_metrics_address": "127.0.0.1 --config /tmp/x"}, "must be an IPv4 address"),
        ({"vrrp_agent_metrics_address": "256.1.1.1", "vrrp_agent_metrics_remote": True}, "must be an IPv4 address"),
        ({"vrrp_agent_metrics_address": "::1"}, "must be an IPv4 address"),
        ({"vrrp_agent_metrics_remote": "yes please"}, "vrrp_agent_metrics_remote"),
        ({"keepalived_script_user": "nobody"}, "keepalived_script_user=nobody: the vrrp_agent role runs"),
        ({"keepalived_script_user": "havip nogroup"}, "without the CAP_SETUID/CAP_SETGID"),
        ({"keepalived_script_user": ""}, "keepalived_script_user=: the vrrp_agent role runs"),
    ],
)
def test_refused_with_the_variable_the_value_and_the_rule(extra, message):
    proc = validate(**extra)
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout
