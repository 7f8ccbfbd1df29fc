"""What AWX does with a custom credential type, so that a job can be given exactly what AWX gives it.

Written after reading AWX's CredentialType.inject_credential (awx/main/models/credential/__init__.py)
and the checks of CredentialTypeInputField / CredentialTypeInjectorField (awx/main/fields.py):

- AWX refuses a type whose fields or injectors break its schema, whose env injector names a variable
  that steers Ansible (ANSIBLE_*) or AWX itself, or whose templates name a field it does not define
  (rendered once with every field set to "EXAMPLE" and undefined names fatal).
- At launch, the template namespace holds the credential's inputs: empty strings are left out (so
  `{{ field }}` renders as "" through Jinja's lenient default), missing booleans are False, and each
  secret input is "**********" in the copy AWX stores and shows (`job_env`).
- `file` injectors are written first, each to a fresh file under `<private_data_dir>/env`, and their
  paths offered to the other templates as `tower.filename` (one file) or `tower.filename.<name>`.
- `env` injectors become environment variables of the ansible-playbook process.
- `extra_vars` injectors are written to a fresh file under `env/` and passed as `-e @file`.
Templates render in Jinja's immutable sandbox.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import jinja2.meta
import jinja2.sandbox
import yaml

HIDDEN = "**********"
NAME = re.compile(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$")
FILE_LABEL = re.compile(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$")
FIELD_KEYS = {"id", "label", "type", "format", "choices", "help_text", "multiline", "secret", "ask_at_runtime",
              "default"}
FIELD_TYPES = {"string": str, "boolean": bool}
STRING_ONLY_KEYS = ("choices", "multiline", "format", "secret")
INJECTOR_KINDS = {"file", "env", "extra_vars"}
# Variables AWX sets for its own use on every job; a credential may not replace them.
RESERVED_ENV = frozenset({
    "VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE", "CALLBACK_CONNECTION",
    "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH",
})


class CredentialTypeError(ValueError):
    """AWX would refuse this credential type (or this credential's inputs)."""


@dataclass
class Injection:
    """What one credential adds to a job."""

    env: dict[str, str] = field(default_factory=dict)       # the ansible-playbook process's environment
    safe_env: dict[str, str] = field(default_factory=dict)  # what AWX stores and shows: secrets hidden
    args: list[str] = field(default_factory=list)           # ansible-playbook arguments (-e @file)
    files: list[Path] = field(default_factory=list)         # every file written under env/


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _sandbox(**kwargs: Any) -> jinja2.sandbox.ImmutableSandboxedEnvironment:
    return jinja2.sandbox.ImmutableSandboxedEnvironment(**kwargs)


def fields(ctype: dict) -> dict[str, dict]:
    return {f["id"]: f for f in ctype.get("inputs", {}).get("fields", [])}


def secret_fields(ctype: dict) -> set[str]:
    return {name for name, f in fields(ctype).items() if f.get("secret") is True}


def referenced_fields(template: str) -> set[str]:
    """The names a template reads (its undeclared variables)."""
    return jinja2.meta.find_undeclared_variables(_sandbox().parse(template))


def _check_inputs_schema(inputs: dict) -> None:
    unknown = set(inputs) - {"fields", "required"}
    if unknown:
        # 'dependencies' is for AWX's own types only.
        raise CredentialTypeError(f"inputs: unknown keys {sorted(unknown)}")
    seen: set[str] = set()
    for f in inputs.get("fields", []):
        if not {"id", "label"} <= set(f):
            raise CredentialTypeError(f"inputs.fields: {f!r} needs an id and a label")
        extra = set(f) - FIELD_KEYS
        if extra:
            raise CredentialTypeError(f"inputs.fields {f['id']}: unknown keys {sorted(extra)}")
        if not NAME.match(f["id"]) or f["id"] == "tower":
            raise CredentialTypeError(f"inputs.fields: {f['id']!r} is not a valid field id")
        if f["id"] in seen:
            raise CredentialTypeError(f"inputs.fields: field ids must be unique ({f['id']})")
        seen.add(f["id"])
        kind = f.get("type", "string")
        if kind not in FIELD_TYPES:
            raise CredentialTypeError(f"inputs.fields {f['id']}: type {kind!r} is not string or boolean")
        if "default" in f and not isinstance(f["default"], FIELD_TYPES[kind]):
            raise CredentialTypeError(f"inputs.fields {f['id']}: default {f['default']!r} is not a {kind}")
        for key in STRING_ONLY_KEYS:
            if key in f and kind != "string":
                raise CredentialTypeError(f"inputs.fields {f['id']}: {key} not allowed for {kind} type")
    for name in inputs.get("required", []):
        if name not in seen:
            raise CredentialTypeError(f"inputs.required: {name!r} is not a field")


def _check_injectors_schema(injectors: dict) -> None:
    unknown = set(injectors) - INJECTOR_KINDS
    if unknown:
        raise CredentialTypeError(f"injectors: unknown kinds {sorted(unknown)}")
    for label, tmpl in injectors.get("file", {}).items():
        if not FILE_LABEL.match(label) or not isinstance(tmpl, str):
            raise CredentialTypeError(f"injectors.file: {label!r} must be template or template.NAME, a string")
    labels = list(injectors.get("file", {}))
    if "template" in labels and len(labels) > 1:
        raise CredentialTypeError("injectors.file: use template.NAME for every file when injecting several")
    for name, tmpl in injectors.get("env", {}).items():
        if not NAME.match(name) or not isinstance(tmpl, str) or not tmpl.isascii():
            raise CredentialTypeError(f"injectors.env: {name!r} must be a variable name with an ASCII template")
        if name.startswith("ANSIBLE_"):
            raise CredentialTypeError(f"injectors.env: {name} may affect Ansible configuration")
        if name in RESERVED_ENV:
            raise CredentialTypeError(f"injectors.env: {name} is reserved by AWX")
    for name, tmpl in injectors.get("extra_vars", {}).items():
        if not NAME.match(name) or not isinstance(tmpl, str):
            raise CredentialTypeError(f"injectors.extra_vars: {name!r} must be a variable name with a template")


class _Exploding:
    """A `tower` name that the templates may not print (AWX's validation namespace)."""

    def __init__(self, message: str) -> None:
        self._message = message

    def __str__(self) -> str:
        raise jinja2.UndefinedError(self._message)


def validate_type(ctype: dict) -> None:
    """Refuse the type as AWX's API would when it is created."""
    _check_inputs_schema(ctype.get("inputs", {}))
    injectors = ctype.get("injectors", {})
    _check_injectors_schema(injectors)
    example: dict[str, Any] = dict.fromkeys(fields(ctype), "EXAMPLE")
    tower = _Exploding("cannot reference the reserved tower namespace itself")
    tower.filename = _Exploding("tower.filename needs an unnamed file injector (template)")  # type: ignore[attr-defined]
    labels = list(injectors.get("file", {}))
    if "template" in labels:
        tower.filename = "EXAMPLE_FILENAME"  # type: ignore[attr-defined]
    else:
        for label in labels:
            setattr(tower.filename, label.split(".", 1)[1], "EXAMPLE_FILENAME")  # type: ignore[attr-defined]
    example["tower"] = tower
    strict = _sandbox(undefined=jinja2.StrictUndefined)
    for kind, templates in injectors.items():
        for key, tmpl in templates.items():
            try:
                strict.from_string(tmpl).render(example)
            except jinja2.UndefinedError as exc:
                raise CredentialTypeError(f"injectors.{kind}.{key} uses an undefined field ({exc})") from exc
            except jinja2.sandbox.SecurityError as exc:
                raise CredentialTypeError(f"injectors.{kind}.{key}: unsafe code ({exc})") from exc
            except jinja2.TemplateSyntaxError as exc:
                raise CredentialTypeError(f"injectors.{kind}.{key}: template syntax error ({exc})") from exc


def validate_inputs(ctype: dict, inputs: dict) -> None:
    """Refuse a credential's inputs as AWX would when the credential is saved."""
    known = fields(ctype)
    unknown = set(inputs) - set(known)
    if unknown:
        raise CredentialTypeError(f"credential inputs: unknown fields {sorted(unknown)}")
    for name, value in inputs.items():
        kind = known[name].get("type", "string")
        if not isinstance(value, FIELD_TYPES[kind]):
            raise CredentialTypeError(f"credential inputs: {name} must be a {kind}")
        if "choices" in known[name] and value not in known[name]["choices"]:
            raise CredentialTypeError(f"credential inputs: {name} must be one of {known[name]['choices']}")
    for name in ctype.get("inputs", {}).get("required", []):
        if inputs.get(name) in (None, ""):
            raise CredentialTypeError(f"credential inputs: {name} is required")


def _namespaces(ctype: dict, inputs: dict) -> tuple[dict, dict]:
    """The namespace the job's templates see, and the one AWX stores (secrets hidden)."""
    secrets = secret_fields(ctype)
    real: dict[str, Any] = {}
    safe: dict[str, Any] = {}
    for name, value in inputs.items():
        if isinstance(value, bool):
            real[name] = safe[name] = value
            continue
        if name in secrets:
            safe[name] = HIDDEN
        elif value:
            safe[name] = value
        if value:
            real[name] = value
    for name, f in fields(ctype).items():
        if f.get("type") == "boolean" and name not in inputs:
            real[name] = safe[name] = False
        if f.get("format") == "ssh_private_key" and name in real and not real[name].endswith("\n"):
            real[name] += "\n"
    return real, safe


def _write_private(directory: Path, text: str, mode: int) -> Path:
    handle, path = tempfile.mkstemp(dir=directory)
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.chmod(path, mode)
    return Path(path)


def inject(ctype: dict, inputs: dict, private_data_dir: Path) -> Injection:
    """Render the credential into a job's environment, files and arguments, as AWX does at launch."""
    validate_type(ctype)
    validate_inputs(ctype, inputs)
    injectors = ctype.get("injectors", {})
    real, safe = _namespaces(ctype, inputs)
    env_dir = private_data_dir / "env"
    env_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    sandbox = _sandbox()
    out = Injection()
    tower = SimpleNamespace()
    for label, tmpl in injectors.get("file", {}).items():
        path = _write_private(env_dir, sandbox.from_string(tmpl).render(**real), stat.S_IRUSR | stat.S_IWUSR)
        out.files.append(path)
        if "." not in label:
            tower.filename = str(path)
        else:
            if not hasattr(tower, "filename"):
                tower.filename = SimpleNamespace()
            setattr(tower.filename, label.split(".", 1)[1], str(path))
    real["tower"] = safe["tower"] = tower
    for name, tmpl in injectors.get("env", {}).items():
        out.env[name] = sandbox.from_string(tmpl).render(**real)
        out.safe_env[name] = sandbox.from_string(tmpl).render(**safe)
    extra_vars = {name: sandbox.from_string(tmpl).render(**real)
                  for name, tmpl in injectors.get("extra_vars", {}).items()}
    if extra_vars:
        path = _write_private(env_dir, yaml.safe_dump(extra_vars), stat.S_IRUSR)
        out.files.append(path)
        out.args += ["-e", f"@{path}"]
    return out
