"""The AWX credential type shipped in extensions/awx injects exactly what the modules read.

The modules' shared options fall back to environment variables (plugins/module_utils/tencentcloud.py,
``tencentcloud_argument_spec``). The credential type must inject those variables under the same
names, mark every no_log option as a secret, and require what the modules require, so that a job
template with this credential and no credential in the playbook works.
"""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import jinja2
import jinja2.sandbox
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CREDENTIAL_TYPE = ROOT / "extensions" / "awx" / "credential_type_tencentcloud.yml"
MODULE_UTILS = ROOT / "plugins" / "module_utils" / "tencentcloud.py"
# The options a credential carries; endpoint, scheme and timeouts are per-task settings.
CREDENTIAL_OPTIONS = {"secret_id", "secret_key", "session_token", "region", "cam_role_name", "role_arn",
                      "role_session_name"}


def argument_spec() -> dict[str, dict]:
    """tencentcloud_argument_spec()'s options, read from the source without importing it:
    {option: {"env": [names], "no_log": bool, "required": bool}}."""
    tree = ast.parse(MODULE_UTILS.read_text(), filename=str(MODULE_UTILS))
    func = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "tencentcloud_argument_spec")
    ret = next(n for n in ast.walk(func) if isinstance(n, ast.Return))
    assert isinstance(ret.value, ast.Call) and getattr(ret.value.func, "id", None) == "dict"
    spec = {}
    for option in ret.value.keywords:
        assert isinstance(option.value, ast.Call), option.arg
        kwargs = {k.arg: k.value for k in option.value.keywords}
        env: list[str] = []
        if "fallback" in kwargs:
            handler, names = kwargs["fallback"].elts
            assert getattr(handler, "id", None) == "env_fallback", option.arg
            env = [ast.literal_eval(n) for n in names.elts]
        spec[option.arg] = {
            "env": env,
            "no_log": "no_log" in kwargs and ast.literal_eval(kwargs["no_log"]) is True,
            "required": "required" in kwargs and ast.literal_eval(kwargs["required"]) is True,
        }
    return spec


@pytest.fixture(scope="module")
def spec() -> dict[str, dict]:
    return argument_spec()


@pytest.fixture(scope="module")
def ctype() -> dict:
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


@pytest.fixture(scope="module")
def fields(ctype) -> dict[str, dict]:
    return {f["id"]: f for f in ctype["inputs"]["fields"]}


def test_the_argument_spec_is_read_from_module_utils(spec):
    # Not required: without keys the SDK's profile file or the CVM's CAM role is used.
    assert spec["secret_key"] == {"env": ["TENCENTCLOUD_SECRET_KEY"], "no_log": True, "required": False}
    assert set(spec) >= CREDENTIAL_OPTIONS
    assert all(spec[o]["env"] for o in CREDENTIAL_OPTIONS)


def test_credential_type_shape(ctype, fields):
    assert set(ctype) >= {"name", "description", "kind", "inputs", "injectors"}
    assert ctype["kind"] == "cloud"
    assert set(ctype["injectors"]) == {"env"}
    assert set(fields) == CREDENTIAL_OPTIONS
    for field in fields.values():
        assert field["type"] == "string"
        assert field.get("label")
    assert set(ctype["inputs"]["required"]) <= set(fields)


def test_injectors_are_the_modules_env_fallbacks(ctype, spec):
    env = ctype["injectors"]["env"]
    expected = {spec[o]["env"][0]: o for o in CREDENTIAL_OPTIONS}
    assert set(env) == set(expected)
    for name, template in env.items():
        # Each variable carries the field of the option that falls back to it, and nothing else.
        assert template == f"{{{{ {expected[name]} }}}}", (name, template)
        assert name in spec[expected[name]]["env"]


def test_no_log_options_are_secret_inputs(fields, spec):
    for option in CREDENTIAL_OPTIONS:
        assert bool(fields[option].get("secret")) == spec[option]["no_log"], option
    assert fields["secret_key"]["secret"] is True
    assert fields["session_token"]["secret"] is True


def test_required_inputs_are_what_the_modules_require(ctype, spec):
    # An empty injected variable would reach a required option as "", so required options are
    # required inputs; the optional session token may be empty (module_utils passes "" as None).
    required = {o for o in CREDENTIAL_OPTIONS if spec[o]["required"]}
    assert set(ctype["inputs"]["required"]) == required
    assert "session_token" not in required
    assert 'p["session_token"] or None' in MODULE_UTILS.read_text()


def test_injectors_render_like_awx(ctype):
    inputs = {"secret_id": "AKIDexample", "secret_key": "s3cr3t", "session_token": "", "region": "ap-guangzhou",
              "cam_role_name": "", "role_arn": "qcs::cam::uin/100000000001:roleName/havip", "role_session_name": "awx"}
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    rendered = {k: env.from_string(v).render(**inputs) for k, v in ctype["injectors"]["env"].items()}
    assert rendered == {
        "TENCENTCLOUD_SECRET_ID": "AKIDexample",
        "TENCENTCLOUD_SECRET_KEY": "s3cr3t",
        "TENCENTCLOUD_SESSION_TOKEN": "",
        "TENCENTCLOUD_REGION": "ap-guangzhou",
        "TENCENTCLOUD_CAM_ROLE_NAME": "",
        "TENCENTCLOUD_ASSUME_ROLE_ARN": "qcs::cam::uin/100000000001:roleName/havip",
        "TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME": "awx",
    }


def test_the_credential_type_ships_in_the_galaxy_tarball():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    rel = CREDENTIAL_TYPE.relative_to(ROOT)
    parts = rel.parts
    for pattern in galaxy.get("build_ignore", []):
        for depth in range(1, len(parts) + 1):
            assert not fnmatch.fnmatch("/".join(parts[:depth]), pattern), pattern
