"""The keepalived role across the OS families, on the controller: what the el Molecule scenario
cannot show.

The RedHat family's path itself - Ansible's facts of a Rocky 9-like node selecting vars/RedHat.yml,
the guide's `yum list keepalived` answered by dnf (R2), the RPM installed through
ansible.builtin.dnf and run by its own unit and /etc/sysconfig/keepalived, the R2 source build with
the RedHat build package names, firewalld - runs for real in molecule/el (EL-like nodes with dnf,
rpm and a local RPM repository); the stand-in test of vars/RedHat.yml's selection went with it.
Left here: ansible-playbook runs the role's first task (include_vars of vars/<os_family>.yml
through first_found) and its preflight on localhost with the facts of a guide node of each family
(playbooks/os_family.yml), then renders the role's templates with the same facts
(playbooks/render_keepalived.yml). Checks: Keepalived's configuration and scripts are
byte-identical across the families (one scenario runs one family), the Debian facts select
vars/Debian.yml, an unsupported family stops first, and ansible-core maps the RedHat family's
other distributions (CentOS, TencentOS, ...; the scenario's nodes are Rocky only) to RedHat.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.facts.system.distribution import Distribution

from tests.unit.playbook_runner import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
ROLE_VARS = ROOT / "roles" / "keepalived" / "vars"
FAMILIES = ("Debian", "RedHat")
HOSTS = ("HAVIP-01", "HAVIP-02")
# Files that must not depend on the OS family: the configuration and the scripts it runs.
SAME_EVERYWHERE = ("keepalived.conf", "notify_action.sh", "check_service.sh")


def run(render_dir: Path, os_family: str) -> subprocess.CompletedProcess:
    return ansible_playbook(
        "-i", HERE / "inventory" / "guide.yml",
        "-e", f"test_os_family={os_family}",
        "-e", f"render_dir={render_dir}",
        "-e", "keepalived_config_dir={{ render_dir }}/{{ inventory_hostname }}",
        # Inside the role: its variable selection and preflight only (no package manager, no change).
        "--tags", "keepalived_preflight,untagged",
        "--skip-tags", "keepalived_install",
        HERE / "playbooks" / "os_family.yml",
        HERE / "playbooks" / "render_keepalived.yml",
    )


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
def test_debian_facts_select_vars_debian(rendered, host):
    got = selected(rendered, "Debian", host)
    expected = yaml.safe_load((ROLE_VARS / "Debian.yml").read_text())
    assert {k: v for k, v in got.items() if k not in ("os_family", "__vrrp_os")} == expected
    assert got["_keepalived_candidate_cmd"][:2] == ["apt-cache", "policy"]


def test_debian_installed_query_reads_the_controller_package():
    # host-tools installs Keepalived on the controller (Debian): the role's own query and regex
    # (decide.yml's installed-package shortcut) read the version dpkg reports, and nothing for a
    # package that is not installed.
    got = yaml.safe_load((ROLE_VARS / "Debian.yml").read_text())
    regex = re.compile(got["_keepalived_installed_regex"])
    out = subprocess.run(["sh", "-c", got["_keepalived_installed_cmd"]], capture_output=True, text=True, check=True)
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "keepalived"], capture_output=True, text=True,
                             check=True).stdout
    assert regex.findall(out.stdout) == [re.sub(r"^\d+:", "", version).split("-")[0].split("+")[0]]
    absent = got["_keepalived_installed_cmd"].replace(" keepalived", " havip-no-such-package")
    missing = subprocess.run(["sh", "-c", absent], capture_output=True, text=True, check=False)
    assert regex.findall(missing.stdout) == []


# The shared _vrrp role has no vars files (ansible-lint's var-naming, see its argument spec): its
# preflight picks the firewall and SELinux paths of the family.
VRRP_OS = {
    "Debian": {"nftables_conf": "/etc/nftables.conf", "nftables_dir": "/etc/nftables.d",
               "iptables_save_file": "/etc/iptables/rules.v4", "iptables_service": "netfilter-persistent",
               "selinux_packages": []},
    "RedHat": {"nftables_conf": "/etc/sysconfig/nftables.conf", "nftables_dir": "/etc/nftables",
               "iptables_save_file": "/etc/sysconfig/iptables", "iptables_service": "iptables",
               "selinux_packages": ["policycoreutils-python-utils"]},
}


@pytest.mark.parametrize("family", FAMILIES)
def test_shared_preflight_selects_the_family_paths(rendered, family):
    assert selected(rendered, family, HOSTS[0])["__vrrp_os"] == VRRP_OS[family]


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
