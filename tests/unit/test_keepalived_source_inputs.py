"""R2 source-path inputs are checked before anything is installed.

Runs the keepalived role's checks for real (--tags keepalived_preflight: preflight and the
install decision, which only read) on the controller: each bad input stops the role with a
message naming the variable, and nothing is written.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import re
import subprocess
import threading
from pathlib import Path

import pytest

from tests.unit.playbook_runner import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
TARBALL_BYTES = b"not really a tarball, but its checksum is real"
SHA = hashlib.sha256(TARBALL_BYTES).hexdigest()

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/bin/apt-cache").exists(),
    reason="the role's install decision asks apt as root (CI runs as root on Debian)",
)


def run_role(tmp_path: Path, **extra) -> subprocess.CompletedProcess:
    extra.setdefault("keepalived_config_dir", str(tmp_path / "etc-keepalived"))
    extra.setdefault("keepalived_source_build_dir", str(tmp_path / "src"))
    proc = ansible_playbook("-i", HERE / "inventory" / "localhost.yml", HERE / "playbooks" / "keepalived_role.yml",
                            "--tags", "keepalived_preflight", extra_vars=extra)
    # Nothing the role would write exists: the checks stopped (or ended) before any change.
    assert not (tmp_path / "etc-keepalived").exists()
    assert not (tmp_path / "src").exists()
    return proc


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """A tarball served over HTTP on loopback, as keepalived_source_url would be."""
    root = tmp_path_factory.mktemp("www")
    (root / "keepalived-2.2.7.tar.gz").write_bytes(TARBALL_BYTES)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_unknown_method(tmp_path):
    proc = run_role(tmp_path, keepalived_install_method="yum")
    assert proc.returncode != 0
    # The role's argument spec answers first, naming the variable, the value and the choices.
    assert "value of keepalived_install_method must be one of: auto, package, source, got: yum" in proc.stdout


def test_unparseable_version(tmp_path):
    proc = run_role(tmp_path, keepalived_install_method="source", keepalived_source_version="2.2.x",
                    keepalived_source_sha256=SHA)
    assert proc.returncode != 0
    assert "keepalived_source_version=2.2.x: not a version such as 1.2.24" in proc.stdout


def test_missing_checksum_for_a_url(tmp_path, web):
    proc = run_role(tmp_path, keepalived_install_method="source",
                    keepalived_source_url=f"{web}/keepalived-2.2.7.tar.gz")
    assert proc.returncode != 0
    assert "keepalived_source_sha256, the tarball's SHA-256 as 64 hex digits (got '')" in proc.stdout


def test_checksum_mismatch_of_an_archive(tmp_path):
    archive = tmp_path / "keepalived-2.2.7.tar.gz"
    archive.write_bytes(TARBALL_BYTES)
    proc = run_role(tmp_path, keepalived_install_method="source", keepalived_source_archive=str(archive),
                    keepalived_source_sha256="0" * 64)
    assert proc.returncode != 0
    assert f"SHA-256 {SHA} does not match keepalived_source_sha256 {'0' * 64}" in proc.stdout


def test_missing_archive(tmp_path):
    proc = run_role(tmp_path, keepalived_install_method="source",
                    keepalived_source_archive=str(tmp_path / "nope.tar.gz"), keepalived_source_sha256=SHA)
    assert proc.returncode != 0
    assert "nope.tar.gz: no such file on the controller" in proc.stdout


def test_unreachable_url(tmp_path):
    proc = run_role(tmp_path, keepalived_install_method="source", keepalived_source_sha256=SHA,
                    keepalived_source_url="http://127.0.0.1:9/keepalived-2.2.7.tar.gz")
    assert proc.returncode != 0
    assert "keepalived_source_url=http://127.0.0.1:9/keepalived-2.2.7.tar.gz: not reachable" in proc.stdout


def test_source_version_below_the_minimum(tmp_path):
    proc = run_role(tmp_path, keepalived_install_method="source", keepalived_source_sha256=SHA,
                    keepalived_min_version="2.3.0")
    assert proc.returncode != 0
    assert "keepalived_source_version (got 2.2.7) at least keepalived_min_version (2.3.0, R4b)" in proc.stdout


def test_good_url_and_checksum_pass_the_checks(tmp_path, web):
    proc = run_role(tmp_path, keepalived_install_method="source", keepalived_source_sha256=SHA,
                    keepalived_source_url=f"{web}/keepalived-2.2.7.tar.gz")
    assert proc.returncode == 0, proc.stdout
    assert "installing from source (Keepalived 2.2.7)" in proc.stdout


@pytest.mark.parametrize(("minimum", "method"), [("1.2.24", "package"), ("99.0", "source")])
def test_auto_decides_by_the_offered_version(tmp_path, minimum, method):
    offered = subprocess.run(["apt-cache", "policy", "keepalived"], capture_output=True, text=True, check=True)
    if "Candidate:" not in offered.stdout:
        pytest.fail("apt offers no keepalived on this machine: run `apt-get update` (make host-tools does)")
    proc = run_role(tmp_path, keepalived_install_method="auto", keepalived_min_version=minimum,
                    keepalived_source_sha256=SHA, keepalived_source_version="99.1",
                    keepalived_source_archive=str(tmp_path / "missing.tar.gz"))
    assert f"keepalived_min_version is {minimum}: installing from {method}" in " ".join(proc.stdout.split())
    # Issue 11 (first converge): an offer that satisfies R2 is taken without refreshing the package lists
    # first (the package task refreshes lists older than an hour in its own round trip); one that does
    # not may come from old lists, which are refreshed (in the same round trip) before apt is asked again.
    refresh = re.search(r"TASK \[[^\]]*Refresh the apt lists and ask again when what apt offers would not do"
                        r"[^\n]*\n(\w+): ", proc.stdout)
    assert refresh, proc.stdout
    assert (refresh.group(1) == "skipping") == (method == "package"), proc.stdout
    # On Debian the read of the installed package asks apt-cache in the same round trip.
    ask = re.search(r"TASK \[[^\]]*Ask the package manager which Keepalived it offers[^\n]*\n(\w+): ", proc.stdout)
    assert ask and ask.group(1) == "skipping", proc.stdout
    if method == "package":
        assert proc.returncode == 0, proc.stdout
    else:
        # The source branch went on to check its inputs (and found the archive missing).
        assert proc.returncode != 0
        assert "missing.tar.gz: no such file on the controller" in proc.stdout
