"""python3 -m lab.awx --keys KEYS.json --work DIR [--inventory lab/inventory.yml] [--endpoint HOST:PORT]

site.yml as an AWX job template runs it, against a lab that is up (lab/awx.sh brings it up and down):
the collection built and installed as a project update installs it, the lab inventory handed over as
AWX hands inventories over, a credential of the collection's type (extensions/awx) rendered into the
job exactly as AWX renders it (SecretId/SecretKey/region: the emulator's key pair from KEYS.json),
and ansible-runner (AWX's engine) running the job, at -vvv with --diff. Then, through the real
Tencent Cloud SDK against the emulator: the HAVIP exists, is bound to the ENI of the node that
holds the VIP (the master), and carries the EIP (R1, R5, R6). Last, no secret (the SecretKey, the
VRRP auth_pass) appears in anything the job left: stdout, events, artifacts, the emulator's log.
Exit status 0 only when every check holds; each failure is named.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import subprocess
import sys
import time
from pathlib import Path

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import vpc_client

from . import injectors, job

TOP = Path(__file__).resolve().parents[2]
CREDENTIAL_TYPE = TOP / "extensions" / "awx" / "credential_type_tencentcloud.yml"
EIP_RANGE = ipaddress.ip_network("198.51.100.0/24")


class CheckFailed(AssertionError):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def build_tarball(out: Path) -> Path:
    """The Galaxy tarball of this checkout, as a project's requirements would fetch it."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("havip-tencentcloud-*.tar.gz"):
        old.unlink()
    subprocess.run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(out), str(TOP)],
                   check=True, env=job.tools_env(), stdout=subprocess.DEVNULL)
    [tarball] = out.glob("havip-tencentcloud-*.tar.gz")
    return tarball


def values_of(data: object, key: str) -> set[str]:
    """Every string value of `key` at any depth (the inventory's auth_pass values)."""
    found: set[str] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            if k == key and isinstance(v, str):
                found.add(v)
            found |= values_of(v, key)
    elif isinstance(data, list):
        for item in data:
            found |= values_of(item, key)
    return found


def check_secrets_only_in_env(ctype: dict, root: Path, secrets: set[str]) -> None:
    """The credential type injects its secrets through env only; nothing else in the job's directory
    holds them (the inventory's own auth_pass is the inventory's business, not the credential's)."""
    secret_fields = injectors.secret_fields(ctype)
    for kind in ("extra_vars", "file"):
        for name, tmpl in ctype.get("injectors", {}).get(kind, {}).items():
            used = injectors.referenced_fields(tmpl) & secret_fields
            check(not used, f"injectors.{kind}.{name} carries the secret field(s) {sorted(used)}: env only")
    envvars = (root / "env" / "envvars").read_text()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "requirements_collections" not in p.parts):
        if path == root / "env" / "envvars":
            continue
        text = path.read_text(errors="replace")
        for secret in secrets:
            check(secret not in text, f"a secret is in {path.relative_to(root)} (only env/envvars may hold the key)")
    check(all(s in envvars for s in secrets), "env/envvars does not hold the key: the credential was not injected")


def check_job(runner, root: Path) -> list[dict]:
    check(runner.status == "successful" and runner.rc == 0,
          f"the job ended {runner.status} (rc {runner.rc}); see {root}/artifacts/{runner.config.ident}/stdout")
    events = list(runner.events)
    stats = next((e["event_data"] for e in events if e.get("event") == "playbook_on_stats"), None)
    check(stats is not None, "the job has no playbook_on_stats event")
    check(not stats.get("failures") and not stats.get("dark"), f"failed or unreachable hosts: {stats}")
    # The roles and playbooks that ran are the ones the project update installed from the tarball.
    ours = {e["event_data"]["task_path"].split(":")[0] for e in events
            if "ansible_collections/havip/tencentcloud/" in e.get("event_data", {}).get("task_path", "")}
    check(ours, "no task of havip.tencentcloud ran")
    installed = str(root / "requirements_collections") + "/"
    strays = sorted(p for p in ours if not p.startswith(installed))
    check(not strays, f"tasks ran from outside the installed collection: {strays[:3]}")
    return events


def check_credential_reached_modules(events: list[dict], secret_id: str) -> int:
    """The cloud modules got the key from the job's environment (their env fallbacks), the SecretKey
    masked as no_log in what they report back."""
    invoked = [e["event_data"]["res"]["invocation"].get("module_args", {}) for e in events
               if e.get("event") == "runner_on_ok"
               and isinstance(e.get("event_data", {}).get("res", {}).get("invocation"), dict)]
    cloud = [a for a in invoked if a.get("secret_id") == secret_id]
    check(cloud, "no module ran with the credential's SecretId")
    masked = {a.get("secret_key") for a in cloud}
    check(masked == {"VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}, f"secret_key reached the modules as {len(masked)} values, "
          "not only as the no_log mask")
    return len(cloud)


def vip_holders(hosts: list[str], vip: str) -> list[str]:
    holders = []
    for host in hosts:
        out = subprocess.run(["docker", "exec", host, "ip", "-4", "-o", "addr", "show"],
                             check=True, capture_output=True, text=True).stdout
        if f" {vip}/" in out:
            holders.append(host)
    return holders


def vpc(keys: tuple[str, str], endpoint: str, region: str) -> vpc_client.VpcClient:
    http = HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=10)
    return vpc_client.VpcClient(credential.Credential(*keys), region, ClientProfile(httpProfile=http))


def check_cloud(client: vpc_client.VpcClient, group: dict, hostvars: dict, hosts: list[str]) -> dict:
    """R1, R5, R6 as the VPC API sees them after the job."""
    gv = group["vars"]
    vip = gv["havip_address"]
    havips = client.call_json("DescribeHaVips", {"Filters": [{"Name": "havip-name", "Values": [gv["havip_name"]]}]})
    havips = havips["Response"]["HaVipSet"]
    check(len(havips) == 1, f"R1: expected one HAVIP named {gv['havip_name']}, found {len(havips)}")
    havip = havips[0]
    check(havip["Vip"] == vip and havip["VpcId"] == gv["havip_vpc_id"] and havip["SubnetId"] == gv["havip_subnet_id"],
          f"R1: HAVIP {havip['HaVipId']} is {havip['Vip']} in {havip['VpcId']}/{havip['SubnetId']}")
    holders = vip_holders(hosts, vip)
    check(len(holders) == 1, f"R5: expected one node holding the VIP {vip}, found {holders}")
    master = holders[0]
    instance = hostvars[master]["havip_instance_id"]
    enis = client.call_json("DescribeNetworkInterfaces",
                            {"Filters": [{"Name": "attachment.instance-id", "Values": [instance]}]})
    enis = [e["NetworkInterfaceId"] for e in enis["Response"]["NetworkInterfaceSet"]]
    check(len(enis) == 1, f"the emulator knows {len(enis)} ENIs of {instance}")
    check(havip["NetworkInterfaceId"] == enis[0] and havip["State"] == "AVAILABLE",
          f"R5: HAVIP {havip['HaVipId']} is {havip['State']} on ENI {havip['NetworkInterfaceId']!r}, "
          f"the master {master} is {instance} with ENI {enis[0]}")
    addresses = client.call_json("DescribeAddresses",
                                 {"Filters": [{"Name": "address-name", "Values": [gv["havip_eip_name"]]}]})
    addresses = addresses["Response"]["AddressSet"]
    check(len(addresses) == 1, f"R6: expected one EIP named {gv['havip_eip_name']}, found {len(addresses)}")
    eip = addresses[0]
    check(ipaddress.ip_address(eip["AddressIp"]) in EIP_RANGE, f"R6: EIP {eip['AddressIp']} is not a lab record")
    check(havip["AddressIp"] == eip["AddressIp"] and eip["AddressStatus"] == "BIND"
          and eip["InstanceId"] == havip["HaVipId"],
          f"R6: HAVIP carries EIP {havip['AddressIp']!r}; EIP {eip['AddressIp']} is {eip['AddressStatus']} "
          f"on {eip['InstanceId']!r}")
    return {"havip": havip["HaVipId"], "vip": vip, "master": master, "instance": instance, "eni": enis[0],
            "eip": eip["AddressIp"]}


def scan_for_secrets(paths: list[Path], secrets: set[str]) -> list[str]:
    leaks = []
    for path in paths:
        text = path.read_text(errors="replace")
        leaks += [str(path) for secret in secrets if secret in text]
    return sorted(set(leaks))


def check_no_secret_left(root: Path, ident: str, secrets: set[str], emulator_log: Path) -> int:
    artifacts = root / "artifacts" / ident
    files = sorted(p for p in artifacts.rglob("*") if p.is_file())
    # ansible-runner records the job's whole environment, keys included, in artifacts/<id>/command
    # (mode 0600, on the worker; AWX keeps only its redacted job_env). It is the one place the key
    # must be: proof that this scan finds it when it is there.
    command = artifacts / "command"
    check(scan_for_secrets([command], secrets), "the SecretKey is not in artifacts/command: the scan proves nothing")
    check((command.stat().st_mode & 0o777) == 0o600, "artifacts/command is readable by others")
    others = [p for p in files if p != command]
    check(any(p.name == "stdout" for p in others) and any(p.parent.name == "job_events" for p in others),
          "the job left no stdout or no events")
    leaks = scan_for_secrets([*others, emulator_log], secrets)
    check(not leaks, f"a secret appears in {leaks}")
    return len(others)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=Path, required=True, help="the emulator's keys.json (one SecretId)")
    parser.add_argument("--work", type=Path, required=True, help="where the job's private data directory goes")
    parser.add_argument("--inventory", type=Path, default=TOP / "lab" / "inventory.yml")
    parser.add_argument("--endpoint", default="127.0.0.1:8780", help="the emulator")
    parser.add_argument("--emulator-log", type=Path, required=True)
    args = parser.parse_args()

    [(secret_id, secret_key)] = json.loads(args.keys.read_text()).items()
    ctype = injectors.load(CREDENTIAL_TYPE)
    region = "ap-guangzhou"
    # What a user types into AWX's credential form; the fields left empty are stored as "".
    inputs = {"secret_id": secret_id, "secret_key": secret_key, "session_token": "", "region": region}
    the_job = job.Job(job_id=42, name="havip-site", credential_type=ctype, credential_inputs=inputs)
    root = args.work / "private_data_dir"
    if root.exists():
        subprocess.run(["rm", "-rf", str(root)], check=True)

    started = time.monotonic()
    tarball = build_tarball(args.work / "galaxy")
    inventory = job.inventory_data(args.inventory, job.tools_env())
    secrets = {secret_key} | values_of(inventory, "auth_pass")
    injection = job.prepare(root, the_job, tarball, args.inventory, job.tools_env())
    check(injection.safe_env["TENCENTCLOUD_SECRET_KEY"] == injectors.HIDDEN, "AWX's stored job_env shows the key")
    check_secrets_only_in_env(ctype, root, {secret_key})
    prepared = time.monotonic()
    print(f"awx: private data directory {root} ready in {prepared - started:.0f} s; job_env as AWX shows it: "
          + ", ".join(f"{k}={v!r}" for k, v in sorted(injection.safe_env.items())), flush=True)

    runner = job.run(root, the_job)
    ran = time.monotonic()
    events = check_job(runner, root)
    calls = check_credential_reached_modules(events, secret_id)
    print(f"awx: job {the_job.job_id} {runner.status} (rc {runner.rc}) in {ran - prepared:.0f} s, "
          f"{len(events)} events; {calls} cloud module calls took the credential from the job's environment",
          flush=True)

    group = inventory["cluster"]
    hosts = group["hosts"]
    outcome = check_cloud(vpc((secret_id, secret_key), args.endpoint, region), group,
                          inventory["_meta"]["hostvars"], hosts)
    print(f"awx: HAVIP {outcome['havip']} ({outcome['vip']}) bound to {outcome['eni']} of the master "
          f"{outcome['master']} ({outcome['instance']}), EIP {outcome['eip']}", flush=True)

    scanned = check_no_secret_left(root, str(the_job.job_id), secrets, args.emulator_log)
    print(f"awx: none of {len(secrets)} secrets in {scanned} artifact files nor the emulator's log "
          f"(the key is only in env/envvars and runner's 0600 artifacts/command)", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as failure:
        print(f"awx: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
