"""The private data directory AWX hands to ansible-runner for a job template, and the run.

Laid out as AWX's RunJob lays it out once the project is synced (paths relative to the directory):
  project/                   the SCM project, copied in: site.yml and collections/requirements.yml
  requirements_collections/  what the project update installed from collections/requirements.yml
  inventory/hosts            the inventory, handed over as AWX does: an executable script printing JSON
                             (group and host variables as stored, AWX's remote_tower_* host variables)
  env/envvars                the job's environment: AWX's own variables and the credentials' env injectors
  env/extravars              the job's extra variables: AWX's awx_*/tower_* job metadata
  env/cmdline                ansible-playbook options: verbosity, --diff, -e @<credential extra_vars file>
  env/settings               ansible-runner settings (the job template's timeout)
  env/tmp*                   files written by credential injectors (file and extra_vars injectors)
ansible-runner then writes artifacts/<job id>/ (stdout, job_events/, status, rc, command).
Without an execution environment container the paths are the host's, not /runner/...
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import injectors

# The job template's playbook in the user's project (README, "AWX and Automation Platform").
SITE_YML = """---
# The project's job template playbook: the collection's whole guide.
- name: The whole guide
  ansible.builtin.import_playbook: havip.tencentcloud.site
"""


@dataclass
class Job:
    """One job template launch: its number, name, options and credential."""

    job_id: int
    name: str
    credential_type: dict
    credential_inputs: dict
    verbosity: int = 3
    diff_mode: bool = True
    timeout: int = 900


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def write_project(root: Path, tarball: Path) -> None:
    """The SCM project as AWX copies it in: the playbook and the collection requirement."""
    project = root / "project"
    _write(project / "site.yml", SITE_YML, 0o644)
    requirements = {"collections": [{"name": str(tarball), "type": "file"}]}
    _write(project / "collections" / "requirements.yml", yaml.safe_dump(requirements), 0o644)


def project_update(root: Path, env: dict[str, str]) -> None:
    """What AWX's project update runs for collections/requirements.yml, into the job's directory."""
    subprocess.run(["ansible-galaxy", "collection", "install", "-r",
                    str(root / "project" / "collections" / "requirements.yml"),
                    "-p", str(root / "requirements_collections")],
                   check=True, env=env | {"ANSIBLE_COLLECTIONS_PATH": str(root / "requirements_collections")},
                   stdout=subprocess.DEVNULL)


def inventory_data(source: Path, env: dict[str, str]) -> dict:
    """An inventory as AWX stores it after an import: groups with their variables, host variables,
    nothing templated; AWX adds remote_tower_enabled/remote_tower_id to every host."""
    listed = subprocess.run(["ansible-inventory", "-i", str(source), "--list", "--export"],
                            check=True, env=env, capture_output=True, text=True).stdout
    data = json.loads(listed)
    hostvars = data.setdefault("_meta", {}).setdefault("hostvars", {})
    for number, host in enumerate(sorted(_hosts(data)), start=1):
        hostvars.setdefault(host, {}).update(remote_tower_enabled="true", remote_tower_id=number)
    return data


def _hosts(data: dict) -> set[str]:
    return {h for name, group in data.items() if name != "_meta" for h in group.get("hosts", [])}


def write_inventory(root: Path, data: dict) -> Path:
    # AWX's form: a script only its owner may read and run, printing the JSON.
    path = root / "inventory" / "hosts"
    _write(path, f"#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint({json.dumps(data)!r})\n", 0o700)
    return path


def awx_env(root: Path, job: Job) -> dict[str, str]:
    """The variables AWX sets on every job (RunJob.build_env), before the credentials' injectors."""
    return {
        "JOB_ID": str(job.job_id),
        "INVENTORY_ID": "1",
        "PROJECT_REVISION": "lab",
        "MAX_EVENT_RES": "700000",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_COLLECTIONS_PATH": ":".join([str(root / "requirements_collections"), "~/.ansible/collections",
                                              "/usr/share/ansible/collections"]),
        "ANSIBLE_ROLES_PATH": ":".join([str(root / "requirements_roles"), "~/.ansible/roles",
                                        "/usr/share/ansible/roles", "/etc/ansible/roles"]),
    }


def awx_extra_vars(job: Job) -> dict:
    """The job metadata AWX passes as extra variables to every job (env/extravars)."""
    meta = {"job_id": job.job_id, "job_launch_type": "manual", "job_template_name": job.name,
            "project_revision": "lab", "inventory_name": "havip-lab", "user_name": "admin"}
    return {f"{prefix}_{key}": value for prefix in ("awx", "tower") for key, value in meta.items()}


def prepare(root: Path, job: Job, tarball: Path, inventory: Path, tools_env: dict[str, str]) -> injectors.Injection:
    """Lay out the private data directory for the job; return the credential's injection."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_project(root, tarball)
    project_update(root, tools_env)
    write_inventory(root, inventory_data(inventory, tools_env))
    injection = injectors.inject(job.credential_type, job.credential_inputs, root)
    env_dir = root / "env"
    envvars = awx_env(root, job) | injection.env
    _write(env_dir / "envvars", yaml.safe_dump(envvars), stat.S_IRUSR | stat.S_IWUSR)
    _write(env_dir / "extravars", yaml.safe_dump(awx_extra_vars(job)), stat.S_IRUSR)
    cmdline = ([f"-{'v' * job.verbosity}"] if job.verbosity else []) + (["--diff"] if job.diff_mode else [])
    _write(env_dir / "cmdline", shlex.join(cmdline + injection.args), stat.S_IRUSR | stat.S_IWUSR)
    _write(env_dir / "settings", yaml.safe_dump({"job_timeout": job.timeout}), stat.S_IRUSR | stat.S_IWUSR)
    return injection


def run(root: Path, job: Job):  # -> ansible_runner.Runner
    """Launch the job as AWX's worker does: ansible-runner on the private data directory.

    ansible-runner starts from this process's environment; like an AWX worker's, it must carry no
    Ansible setting or Tencent Cloud key of its own, so that only the job's env/envvars count."""
    # Imported here: the unit tests of this package also run where ansible-runner is not installed
    # (lab/compat.sh's venv of the oldest ansible-core).
    import ansible_runner  # noqa: PLC0415

    for name in [k for k in os.environ if k.startswith(("ANSIBLE_", "TENCENTCLOUD_"))]:
        del os.environ[name]
    return ansible_runner.run(private_data_dir=str(root), playbook="site.yml",
                              inventory=str(root / "inventory" / "hosts"), ident=str(job.job_id), quiet=True)


def tools_env() -> dict[str, str]:
    """The environment for the project update and the inventory import: ours, minus what would point
    Ansible at the checkout or carry a key."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "TENCENTCLOUD_"))}
