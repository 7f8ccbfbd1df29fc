"""lab/awx/injectors.py renders a credential as AWX does, and refuses what AWX refuses.

The end-to-end job (lab/awx.sh, `make awx`) relies on this rendering being AWX's, so each rule of
AWX's CredentialType.inject_credential and of its type validation is pinned here, on the collection's
own credential type and on small types made for one rule each.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab.awx import injectors, job

ROOT = Path(__file__).resolve().parents[3]
CREDENTIAL_TYPE = ROOT / "extensions" / "awx" / "credential_type_tencentcloud.yml"
KEY = "k3y-Secret-Value"


@pytest.fixture
def ctype() -> dict:
    return injectors.load(CREDENTIAL_TYPE)


def small(injector: dict, fields: list[dict] | None = None, required: list[str] | None = None) -> dict:
    fields = fields if fields is not None else [
        {"id": "user", "label": "User"}, {"id": "token", "label": "Token", "secret": True},
        {"id": "verify", "label": "Verify", "type": "boolean"}]
    inputs = {"fields": fields} | ({"required": required} if required else {})
    return {"name": "t", "kind": "cloud", "inputs": inputs, "injectors": injector}


def test_the_collections_type_is_accepted_and_injects_env_only(ctype, tmp_path):
    inputs = {"secret_id": "AKIDx", "secret_key": KEY, "region": "ap-guangzhou"}
    out = injectors.inject(ctype, inputs, tmp_path)
    assert out.env == {
        "TENCENTCLOUD_SECRET_ID": "AKIDx", "TENCENTCLOUD_SECRET_KEY": KEY, "TENCENTCLOUD_SESSION_TOKEN": "",
        "TENCENTCLOUD_REGION": "ap-guangzhou", "TENCENTCLOUD_CAM_ROLE_NAME": "", "TENCENTCLOUD_ASSUME_ROLE_ARN": "",
        "TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME": ""}
    assert out.args == [] and out.files == []
    assert not list((tmp_path / "env").iterdir())


def test_secret_inputs_are_hidden_in_the_stored_env_even_when_empty(ctype, tmp_path):
    out = injectors.inject(ctype, {"secret_id": "AKIDx", "secret_key": KEY, "session_token": "",
                                   "region": "ap-guangzhou"}, tmp_path)
    assert out.safe_env["TENCENTCLOUD_SECRET_KEY"] == injectors.HIDDEN
    assert out.safe_env["TENCENTCLOUD_SESSION_TOKEN"] == injectors.HIDDEN
    assert out.safe_env["TENCENTCLOUD_SECRET_ID"] == "AKIDx"
    assert KEY not in yaml.safe_dump(out.safe_env)


def test_empty_and_missing_inputs_render_as_empty_strings(tmp_path):
    t = small({"env": {"X_USER": "{{ user }}", "X_TOKEN": "[{{ token }}]"}})
    assert injectors.inject(t, {"user": ""}, tmp_path).env == {"X_USER": "", "X_TOKEN": "[]"}


def test_missing_booleans_are_false(tmp_path):
    t = small({"extra_vars": {"verify_tls": "{{ verify }}"}})
    out = injectors.inject(t, {}, tmp_path)
    assert out.args[0] == "-e" and out.args[1].startswith("@" + str(tmp_path / "env"))
    written = Path(out.args[1][1:])
    assert yaml.safe_load(written.read_text()) == {"verify_tls": "False"}
    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IRUSR


def test_file_injectors_come_first_and_their_paths_reach_env(tmp_path):
    t = small({"file": {"template.conf": "user={{ user }}", "template.key": "{{ token }}"},
               "env": {"X_CONF": "{{ tower.filename.conf }}", "X_KEY": "{{ tower.filename.key }}"}})
    out = injectors.inject(t, {"user": "u", "token": KEY}, tmp_path)
    assert Path(out.env["X_CONF"]).read_text() == "user=u"
    assert Path(out.env["X_KEY"]).read_text() == KEY
    assert all(Path(p).parent == tmp_path / "env" for p in out.env.values())
    assert stat.S_IMODE(Path(out.env["X_KEY"]).stat().st_mode) == stat.S_IRUSR | stat.S_IWUSR
    single = small({"file": {"template": "{{ user }}"}, "env": {"X_FILE": "{{ tower.filename }}"}})
    assert Path(injectors.inject(single, {"user": "v"}, tmp_path).env["X_FILE"]).read_text() == "v"


@pytest.mark.parametrize(("injector", "message"), [
    ({"env": {"ANSIBLE_CONFIG": "{{ user }}"}}, "may affect Ansible configuration"),
    ({"env": {"JOB_ID": "{{ user }}"}}, "reserved by AWX"),
    ({"env": {"1BAD": "{{ user }}"}}, "variable name"),
    ({"env": {"X": "{{ nope }}"}}, "undefined field"),
    ({"env": {"X": "{{ user "}}, "syntax error"),
    ({"env": {"X": "{{ tower }}"}}, "reserved tower namespace"),
    ({"file": {"template": "a", "template.b": "b"}}, "template.NAME for every file"),
    ({"file": {"config": "a"}}, "template or template.NAME"),
    ({"env": {"X": "{{ tower.filename }}"}}, "needs an unnamed file injector"),
    ({"file": {"template.a": "x"}, "env": {"X": "{{ tower.filename }}"}}, "needs an unnamed file injector"),
    ({"file": {"template.a": "x"}, "env": {"X": "{{ tower.filename.b }}"}}, "undefined field"),
    ({"extra_vars": {"bad-name": "{{ user }}"}}, "variable name"),
    ({"injectors_typo": {}}, "unknown kinds"),
])
def test_types_awx_refuses(injector, message):
    with pytest.raises(injectors.CredentialTypeError, match=message):
        injectors.validate_type(small(injector))


@pytest.mark.parametrize(("fields", "message"), [
    ([{"id": "a", "label": "A"}, {"id": "a", "label": "A again"}], "unique"),
    ([{"id": "tower", "label": "T"}], "not a valid field id"),
    ([{"id": "a"}], "needs an id and a label"),
    ([{"id": "a", "label": "A", "type": "integer"}], "string or boolean"),
    ([{"id": "a", "label": "A", "type": "boolean", "secret": True}], "secret not allowed for boolean"),
    ([{"id": "a", "label": "A", "default": 1}], "is not a string"),
    ([{"id": "a", "label": "A", "hint": "x"}], "unknown keys"),
])
def test_fields_awx_refuses(fields, message):
    with pytest.raises(injectors.CredentialTypeError, match=message):
        injectors.validate_type(small({}, fields))


def test_credentials_awx_refuses(ctype, tmp_path):
    with pytest.raises(injectors.CredentialTypeError, match="region is required"):
        injectors.inject(ctype, {"secret_id": "AKIDx", "secret_key": KEY, "region": ""}, tmp_path)
    with pytest.raises(injectors.CredentialTypeError, match="unknown fields"):
        injectors.inject(ctype, {"region": "ap-guangzhou", "secret": KEY}, tmp_path)
    with pytest.raises(injectors.CredentialTypeError, match="must be a boolean"):
        injectors.inject(small({}), {"verify": "yes"}, tmp_path)


def test_templates_run_in_the_sandbox(tmp_path):
    t = small({"env": {"X": "{{ user.__class__.__mro__ }}"}})
    with pytest.raises(injectors.CredentialTypeError, match="unsafe"):
        injectors.inject(t, {"user": "u"}, tmp_path)


def test_referenced_fields():
    assert injectors.referenced_fields("{{ a }}-{{ b | default('') }}-{{ tower.filename }}") == {"a", "b", "tower"}


def test_the_job_environment_and_files_are_awxs(ctype, tmp_path):
    the_job = job.Job(job_id=7, name="t", credential_type=ctype, credential_inputs={})
    env = job.awx_env(tmp_path, the_job)
    assert env["JOB_ID"] == "7"
    assert env["ANSIBLE_COLLECTIONS_PATH"].split(":")[0] == str(tmp_path / "requirements_collections")
    extra = job.awx_extra_vars(the_job)
    assert extra["awx_job_id"] == extra["tower_job_id"] == 7
    data = {"_meta": {"hostvars": {"h": {"x": 1}}}, "g": {"hosts": ["h"], "vars": {"v": "{{ x }}"}}}
    script = job.write_inventory(tmp_path, data)
    assert stat.S_IMODE(script.stat().st_mode) == 0o700
    assert json.loads(subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                     check=True).stdout) == data
