"""The lab's admin endpoints (/_lab/...): unsigned, answered to loopback clients only (server.py).

Each handler takes the server and the request's JSON object (or query parameters for GET) and
returns a JSON-able answer; a ValueError becomes HTTP 400 with its message. See README.md."""

from __future__ import annotations

import logging

from .actions import DEFAULT_QUOTAS

log = logging.getLogger("havip.emulator")
DELAYS = ("task_delay", "switch_delay")


def _object(value) -> dict:
    if not isinstance(value, dict):
        raise ValueError("a JSON object is expected")
    return value


def config_view(server) -> dict:
    return {"task_delay": server.vpc.task_delay, "switch_delay": server.vpc.switch_delay,
            "rate_limits": dict(server.rate_limiter.limits),
            "quotas": {name: server.vpc.quota(name) for name in sorted(DEFAULT_QUOTAS)}}


def config(server, spec) -> dict:
    spec = _object(spec)
    known = {*DELAYS, "rate_limits", "quotas"}
    if not spec or set(spec) - known:
        raise ValueError(f"config takes {sorted(known)}")
    for name in sorted(set(spec) & set(DELAYS)):
        delay = spec[name]
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
            raise ValueError(f"{name} must be a number of seconds within [0, 600]")
    quotas = spec.get("quotas", {})
    if not isinstance(quotas, dict) or set(quotas) - set(DEFAULT_QUOTAS) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in quotas.values()):
        raise ValueError(f"quotas maps {sorted(DEFAULT_QUOTAS)} to non-negative integers")
    if "rate_limits" in spec:
        server.rate_limiter.configure(spec["rate_limits"])  # validates before it changes anything
    for name, value in quotas.items():
        server.vpc.store.set_meta("quota." + name, str(value))
    for name in sorted(set(spec) & set(DELAYS)):
        setattr(server.vpc, name, float(spec[name]))
    return config_view(server)


def announce(server, spec) -> dict:
    spec = _object(spec)
    if not isinstance(spec.get("vip"), str) or not (spec.get("mac") or spec.get("instance_id")):
        raise ValueError("announce needs 'vip' and one of 'mac' or 'instance_id'")
    result = server.vpc.announce(spec["vip"], mac=spec.get("mac"), instance_id=spec.get("instance_id"))
    log.info("announce %s from %s: %s", spec["vip"], spec.get("mac") or spec.get("instance_id"), result)
    return result


def instances(server, spec) -> dict:
    updated = []
    for item in spec if isinstance(spec, list) else [spec]:
        entry = _object(item)
        if not server.vpc.store.set_instance(entry.get("InstanceId", ""), mac=entry.get("MacAddress"),
                                             private_ip=entry.get("PrivateIpAddress")):
            raise ValueError(f"unknown instance {entry.get('InstanceId')!r}")
        updated.append(entry["InstanceId"])
    return {"updated": updated}


def request_log(server, spec) -> dict:
    since = spec.get("since", "0")
    if not str(since).isdigit():
        raise ValueError("since must be a non-negative integer (a seq of the log)")
    return server.log.snapshot(since=int(since), action=spec.get("action") or None)


def reset_log(server, _spec) -> dict:
    server.log.reset()
    return server.log.snapshot()


def reset_calls(server, _spec) -> dict:
    server.calls.reset()
    return server.calls.snapshot()


ROUTES = {
    ("GET", "/_lab/health"): lambda server, _spec: {"ok": True, "region": server.vpc.region},
    ("GET", "/_lab/calls"): lambda server, _spec: server.calls.snapshot(),
    ("POST", "/_lab/calls/reset"): reset_calls,
    ("GET", "/_lab/faults"): lambda server, _spec: server.faults.snapshot(),
    ("POST", "/_lab/faults"): lambda server, spec: server.faults.configure(_object(spec)),
    ("POST", "/_lab/faults/reset"): lambda server, _spec: server.faults.reset(),
    ("GET", "/_lab/log"): request_log,
    ("POST", "/_lab/log/reset"): reset_log,
    ("GET", "/_lab/config"): lambda server, _spec: config_view(server),
    ("POST", "/_lab/config"): config,
    ("POST", "/_lab/announce"): announce,
    ("POST", "/_lab/instances"): instances,
}
