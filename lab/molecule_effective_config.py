"""Print, or compare between two trees, every Molecule scenario's effective configuration.

The configuration is loaded by Molecule's own code (molecule.config.Config), which merges the
project's base configuration (.config/molecule/config.yml) under each scenario's molecule.yml and
interpolates ${VARS}, exactly as `molecule test` does. Used to show that moving shared settings into
the base configuration changed no scenario.

Usage:
  python3 lab/molecule_effective_config.py [TREE]          one YAML document per scenario
  python3 lab/molecule_effective_config.py --compare REV  diff against git revision REV of this repository
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parent.parent
BASE_CONFIG = Path(".config/molecule/config.yml")
# Fixed values for the variables lab/molecule.sh exports, so that both trees see the same ones.
LAB_ENV = {
    "HAVIP_LAB_IMAGE": "havip-lab/node:test",
    "HAVIP_LAB_IMAGE_EL": "havip-lab/node-el:test",
    "HAVIP_EL_RPM_REPO": "/srv/rpm-test",
}


def effective_configs(tree: Path) -> dict[str, dict]:
    """Each scenario's merged configuration, loaded in a child process (Molecule caches per process)."""
    # Each scenario gets a throw-away ephemeral directory: loading a configuration writes Molecule's
    # state file there, which must not touch a real run's.
    code = (
        "import os, sys, tempfile, yaml\n"
        "from molecule.config import Config\n"
        "out = {}\n"
        "with tempfile.TemporaryDirectory() as tmp:\n"
        "    for name in sys.argv[3:]:\n"
        "        os.environ['MOLECULE_EPHEMERAL_DIRECTORY'] = os.path.join(tmp, name)\n"
        "        c = Config(f'molecule/{name}/molecule.yml', args={'base_config': [sys.argv[2]]},\n"
        "                   command_args={'subcommand': 'test'})\n"
        "        out[name] = c.config_data\n"
        "with open(sys.argv[1], 'w') as f:\n"
        "    yaml.safe_dump(out, f, sort_keys=True)\n"
    )
    scenarios = sorted(p.parent.name for p in (tree / "molecule").glob("*/molecule.yml"))
    env = {**os.environ, **LAB_ENV, "MOLECULE_PROJECT_DIRECTORY": str(tree)}
    # Molecule asks ansible-config, which sits beside this interpreter in the virtualenv.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in ("HAVIP_KEEPALIVED_2_2_7_TARBALL", "HAVIP_KEEPALIVED_2_3_4_TARBALL"):
        env.pop(name, None)
    with tempfile.NamedTemporaryFile("r", suffix=".yml") as result:
        done = subprocess.run(
            [sys.executable, "-c", code, result.name, str(tree / BASE_CONFIG), *scenarios],
            cwd=tree, env=env, capture_output=True, text=True, check=False,
        )
        if done.returncode:
            sys.exit(f"loading the Molecule configuration of {tree} failed:\n{done.stdout}{done.stderr}")
        return yaml.safe_load(result)


def export_revision(rev: str, into: Path) -> Path:
    """The files of `rev` this comparison reads (molecule/ and .config/), unpacked under `into`."""
    archive = subprocess.run(
        ["git", "-C", str(TOP), "archive", "--format=tar", rev, "molecule", ".config"],
        capture_output=True, check=True,
    ).stdout
    path = into / "tree.tar"
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(into, filter="data")
    return into


class _PlainDumper(yaml.SafeDumper):
    """Writes every value in full: a YAML anchor in one tree and not the other is no difference."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def dump(configs: dict[str, dict]) -> list[str]:
    text = yaml.dump(configs, Dumper=_PlainDumper, sort_keys=True, default_flow_style=False)
    return text.splitlines(keepends=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", nargs="?", default=str(TOP))
    parser.add_argument("--compare", metavar="REV")
    args = parser.parse_args()
    if not args.compare:
        sys.stdout.writelines(dump(effective_configs(Path(args.tree))))
        return 0
    after = effective_configs(TOP)
    with tempfile.TemporaryDirectory() as tmp:
        before = effective_configs(export_revision(args.compare, Path(tmp)))
    diff = list(difflib.unified_diff(dump(before), dump(after), f"{args.compare}", "working tree"))
    sys.stdout.writelines(diff)
    print(
        f"{len(after)} scenarios ({', '.join(sorted(after))}): effective configuration "
        + ("DIFFERS from" if diff or sorted(before) != sorted(after) else "identical to")
        + f" {args.compare}"
    )
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
