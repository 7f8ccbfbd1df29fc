"""The keepalived role on the RedHat family (EL 8/9, TencentOS Server), proven without a RedHat host.

ansible-playbook runs the role's own first task (include_vars of vars/<os_family>.yml through
first_found) and its preflight on localhost with the facts of a guide node of each family
(playbooks/os_family.yml), then renders the role's templates with the same facts
(playbooks/render_keepalived.yml). Checks: the RedHat facts select vars/RedHat.yml (yum, the
RedHat build packages), the Debian facts vars/Debian.yml, and Keepalived's configuration and
scripts are byte-identical across the families.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.facts.system.distribution import Distribution

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
ROLE_VARS = ROOT / "roles" / "keepalived" / "vars"
FAMILIES = ("Debian", "RedHat")
HOSTS = ("HAVIP-01", "HAVIP-02")
# Files that must not depend on the OS family: the configuration and the scripts it runs.
SAME_EVERYWHERE = ("keepalived.conf", "notify_action.sh", "check_service.sh")


def run(render_dir: Path, os_family: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "build" / "collections"), ANSIBLE_NOCOLOR="1")
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i", str(HERE / "inventory" / "guide.yml"),
        "-e", f"test_os_family={os_family}",
        "-e", f"render_dir={render_dir}",
        "-e", "keepalived_config_dir={{ render_dir }}/{{ inventory_hostname }}",
        # Inside the role: its variable selection and preflight only (no package manager, no change).
        "--tags", "keepalived_preflight,untagged",
        "--skip-tags", "keepalived_install",
        str(HERE / "playbooks" / "os_family.yml"),
        str(HERE / "playbooks" / "render_keepalived.yml"),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, dict[str, bytes]]]:
    """{os_family: {host: {file name: content}}}, every family rendered at the same path."""
    # Not under /tmp: Keepalived's script security refuses world-writable parents (as in
    # test_keepalived_template.py); one directory per xdist worker.
    render_dir = ROOT / "build" / "test-render" / f"os-family-{os.getpid()}"
    out: dict[str, dict[str, dict[str, bytes]]] = {}
    for family in FAMILIES:
        shutil.rmtree(render_dir, ignore_errors=True)
        render_dir.mkdir(parents=True)
        proc = run(render_dir, family)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out[family] = {
            host: {f.name: f.read_bytes() for f in (render_dir / host).iterdir()} for host in HOSTS
        }
    shutil.rmtree(render_dir, ignore_errors=True)
    return out


def selected(rendered, family: str, host: str) -> dict:
    return json.loads(rendered[family][host]["os_vars.json"])


@pytest.mark.parametrize("host", HOSTS)
def test_redhat_facts_select_vars_redhat(rendered, host):
    got = selected(rendered, "RedHat", host)
    expected = yaml.safe_load((ROLE_VARS / "RedHat.yml").read_text())
    assert got["os_family"] == "RedHat"
    for name in ("_keepalived_package", "_keepalived_service", "_keepalived_candidate_cmd",
                 "_keepalived_build_packages"):
        assert got[name] == expected[name], name
    # Every variable of vars/RedHat.yml, not only the four above, is what the role sees.
    assert {k: v for k, v in got.items() if k != "os_family"} == expected
    # R2 on the guide's CentOS: the package manager is asked with yum (dnf answers to it on EL 8/9).
    assert got["_keepalived_candidate_cmd"][0] == "yum"
    assert "list" in got["_keepalived_candidate_cmd"]
    assert "openssl-devel" in got["_keepalived_build_packages"]


@pytest.mark.parametrize("host", HOSTS)
def test_debian_facts_select_vars_debian(rendered, host):
    got = selected(rendered, "Debian", host)
    expected = yaml.safe_load((ROLE_VARS / "Debian.yml").read_text())
    assert {k: v for k, v in got.items() if k != "os_family"} == expected
    assert got["_keepalived_candidate_cmd"][:2] == ["apt-cache", "policy"]


def test_the_families_differ_where_they_must(rendered):
    debian, redhat = selected(rendered, "Debian", "HAVIP-01"), selected(rendered, "RedHat", "HAVIP-01")
    assert debian["_keepalived_candidate_cmd"] != redhat["_keepalived_candidate_cmd"]
    assert debian["_keepalived_build_packages"] != redhat["_keepalived_build_packages"]


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("name", SAME_EVERYWHERE)
def test_rendered_files_are_identical_across_families(rendered, host, name):
    debian, redhat = rendered["Debian"][host][name], rendered["RedHat"][host][name]
    assert debian, name
    assert debian == redhat, name


def test_the_guide_values_are_in_both_renders(rendered):
    # Guards the comparison above against two equally broken renders.
    for family in FAMILIES:
        conf = rendered[family]["HAVIP-01"]["keepalived.conf"].decode()
        assert "virtual_router_id 51" in conf
        assert "unicast_src_ip 172.16.16.5" in conf
        assert "172.16.16.12" in conf


def test_an_unsupported_family_stops_before_anything():
    render_dir = ROOT / "build" / "test-render" / f"os-family-suse-{os.getpid()}"
    shutil.rmtree(render_dir, ignore_errors=True)
    render_dir.mkdir(parents=True)
    try:
        proc = run(render_dir, "Suse")
        assert proc.returncode != 0
        # The role's first task (the per-OS variables) stops the play: no preflight, no change.
        assert "No file was found when using first_found" in proc.stdout
        assert "Check keepalived_install_method" not in proc.stdout
        assert not list(render_dir.glob("*/os_vars.json"))
    finally:
        shutil.rmtree(render_dir, ignore_errors=True)


@pytest.mark.parametrize("distribution", ["RedHat", "CentOS", "Rocky", "AlmaLinux", "OracleLinux", "TencentOS"])
def test_ansible_reports_el_and_tencentos_as_the_redhat_family(distribution):
    # The facts that select vars/RedHat.yml on a real host: ansible-core's distribution map.
    assert Distribution.OS_FAMILY[distribution] == "RedHat"
