# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VRRP plan of one cluster: its nodes, where each keeps its configuration and state, its
instances and their timing (Master_Down_Interval per backup, the failover drill's bounds).

Resolved once, on the controller, from the inventory (hostvars) and the roles' defaults, which are
not in hostvars outside the roles: the filter reads them from the collection's own
roles/*/defaults/main.yml. site.yml, cloud_bind.yml and the failover drill read the plan instead of
reading keepalived.conf back or recomputing timings. The plan never holds auth_pass: it is built
from a list of the keys it needs, never by copying an instance.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.havip.tencentcloud.plugins.plugin_utils.vrrp_timing import (
    effective_advert_int,
    master_down_interval,
    skew_time,
)

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
# Where the public defaults may live: the daemon roles and their private shared role.
DEFAULTS_ROLES = ("_vrrp", "keepalived", "vrrp_agent")
DAEMONS = ("keepalived", "agent")
DEFAULT_DAEMON = "keepalived"  # site.yml's default for havip_vrrp_daemon
# Everything the plan reads from a node's variables; nothing else is looked at.
PLAN_VARS = (
    "keepalived_cluster_group", "keepalived_instances", "keepalived_instance_defaults", "keepalived_vrrp_version",
    "keepalived_vrrp_scripts", "keepalived_track_processes", "keepalived_config_dir", "keepalived_state_dir",
    "keepalived_notify_log", "keepalived_unicast_src_ip", "vrrp_agent_service", "vrrp_agent_status_file",
    "vrrp_agent_cli",
)
# Failure kinds the drill knows; each costs at most the backup's Master_Down_Interval (plus the
# slowest health check's detection for `health`: a tracked script or a tracked process). A graceful
# stop sends a priority-0 advert, after which the backup waits only its Skew_Time; the bound still
# allows for that one advert being lost.
DOWN_KINDS = ("stop", "kill", "reboot", "link")
TEMPLATE_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _load_yaml(path):
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def role_defaults(roles_dir=ROLES_DIR):
    """The roles' public defaults the plan reads, and the keepalived service name per OS family."""
    return copy.deepcopy(_read_role_defaults(roles_dir))


@functools.lru_cache(maxsize=4)
def _read_role_defaults(roles_dir):
    found = {}
    for role in DEFAULTS_ROLES:
        for key, value in _load_yaml(roles_dir / role / "defaults" / "main.yml").items():
            if key in PLAN_VARS:
                found.setdefault(key, value)
    services = {}
    for role in DEFAULTS_ROLES:
        vars_dir = roles_dir / role / "vars"
        for path in sorted(vars_dir.glob("*.yml")) if vars_dir.is_dir() else []:
            service = _load_yaml(path).get("_keepalived_service")
            if service:
                services.setdefault(path.stem, service)
    found["_keepalived_services"] = services
    return found


def _node_vars(host, hostvars, defaults):
    """A node's value of each plan variable: its inventory or extra vars, else the roles' default.
    A default written as "{{ other_plan_variable }}" (or with such parts) is resolved here."""
    own = hostvars.get(host)
    if own is None:
        raise AnsibleFilterError(f"vrrp_plan: {host!r} is not an inventory host")
    values = {}
    for key in PLAN_VARS:
        if key in own:
            values[key] = own[key]
        elif key in defaults:
            values[key] = defaults[key]
    for key in PLAN_VARS:
        if key in values and key not in own:
            values[key] = _resolve_default(values[key], key, values)
    values["havip_vrrp_daemon"] = own.get("havip_vrrp_daemon", DEFAULT_DAEMON)
    facts = own.get("ansible_facts") or {}
    services = defaults.get("_keepalived_services") or {}
    family = facts.get("os_family")
    names = set(services.values())
    values["_keepalived_service"] = services.get(family) or (names.pop() if len(names) == 1 else "keepalived")
    values["_facts"] = facts
    return values


def _resolve_default(value, key, values):
    if isinstance(value, str):
        def substitute(match):
            other = match.group(1)
            if other == key or other not in values or not isinstance(values[other], (str, int, float)):
                raise AnsibleFilterError(
                    f"vrrp_plan: the roles' default of {key} ({value!r}) uses {other}, which the plan cannot "
                    f"resolve outside the role; set {key} in the inventory"
                )
            return str(values[other])

        return TEMPLATE_RE.sub(substitute, value)
    if isinstance(value, list):
        return [_resolve_default(item, key, values) for item in value]
    if isinstance(value, dict):
        return {k: _resolve_default(v, key, values) for k, v in value.items()}
    return value


def _interface_address(facts, interface):
    entry = facts.get(str(interface).replace("-", "_")) or facts.get(interface) or {}
    return (entry.get("ipv4") or {}).get("address")


def _version(host, values):
    version = values.get("keepalived_vrrp_version", 2)
    try:
        version = int(version)
    except (TypeError, ValueError):
        version = None
    if version not in (2, 3) or isinstance(values.get("keepalived_vrrp_version"), bool):
        raise AnsibleFilterError(
            f"vrrp_plan: keepalived_vrrp_version={values.get('keepalived_vrrp_version')!r} on {host}: must be 2 "
            "(RFC 3768) or 3 (RFC 5798) (R3, R4g)"
        )
    return version


def _scripts(values):
    scripts = {}
    for script in values.get("keepalived_vrrp_scripts") or []:
        if not isinstance(script, dict) or not script.get("name"):
            continue
        interval, fall = script.get("interval", 1), script.get("fall", 1)
        scripts[script["name"]] = {
            "name": script["name"],
            "interval": interval,
            "fall": fall,
            "rise": script.get("rise", 1),
            "timeout": script.get("timeout"),
            "weight": script.get("weight", 0),
            # A check that starts failing is acted on after at most `fall` runs, `interval` apart.
            "detect_s": float(interval) * float(fall),
        }
    return scripts


def _processes(values):
    """The node's vrrp_track_process blocks and how long each takes to report a death."""
    processes = {}
    for track in values.get("keepalived_track_processes") or []:
        if not isinstance(track, dict) or not track.get("name"):
            continue
        delay = track.get("delay") or 0  # keepalived.conf(5): delay sets terminate_delay; unset, 0
        if isinstance(delay, bool) or not isinstance(delay, (int, float)):
            # No plan without a number; the range is the preflight's (vrrp_option_errors).
            raise AnsibleFilterError(
                f"vrrp_plan: keepalived_track_processes[{track['name']}].delay={delay!r}: must be a number of "
                "seconds (R3)"
            )
        processes[track["name"]] = {
            "name": track["name"],
            "process": track.get("process"),
            "weight": track.get("weight", 0),
            "delay": delay,
            # The kernel reports the exit at once (Keepalived: the process connector; the agent: a
            # pidfd), with no interval to wait: the loss counts after terminate_delay.
            "detect_s": float(delay),
        }
    return processes


def _tracked(inst, key="track_scripts"):
    """Names of the instance's track_scripts or track_processes (plain names, or {name, weight}
    entries)."""
    names = []
    for entry in inst.get(key) or []:
        name = entry.get("name") if isinstance(entry, dict) else entry
        if name:
            names.append(str(name))
    return names


def _node_instances(host, values, version):
    """{name: merged instance} of one node (role defaults + the instance's own keys)."""
    instances = values.get("keepalived_instances") or []
    if not isinstance(instances, list):
        raise AnsibleFilterError(f"vrrp_plan: keepalived_instances on {host} must be a list (R3)")
    defaults = values.get("keepalived_instance_defaults") or {}
    merged = {}
    for item in instances:
        if not isinstance(item, dict):
            raise AnsibleFilterError(f"vrrp_plan: keepalived_instances on {host}: each instance must be a dict (R3)")
        inst = dict(defaults)
        inst.update(item)
        name = str(inst.get("name") or "?")
        advert = effective_advert_int(inst.get("advert_int"), version)
        if advert is None:
            raise AnsibleFilterError(
                f"vrrp_plan: keepalived_instances[{name}].advert_int={inst.get('advert_int')!r} on {host}: with "
                f"keepalived_vrrp_version {version} it must be "
                + ("1-255 whole seconds (RFC 3768 5.3.7)" if version == 2 else "0.01-40.95 s in steps of 0.01 "
                   "(RFC 5798 5.2.7)") + " (R4g)"
            )
        priority = inst.get("priority")
        if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 254:
            raise AnsibleFilterError(
                f"vrrp_plan: keepalived_instances[{name}].priority={priority!r} on {host}: must be an integer "
                "1-254 (R3)"
            )
        inst["_advert"] = advert
        merged[name] = inst
    return merged


def _expected_master(nodes, priorities, states):
    """The node that must win a fresh election: the one highest priority, or among equals the one
    configured MASTER; None when the election decides (equal priorities, all BACKUP: the guide's)."""
    top = max(priorities.values())
    best = [n for n in nodes if priorities[n] == top]
    if len(best) == 1:
        return best[0]
    masters = [n for n in best if states[n] == "MASTER"]
    return masters[0] if len(masters) == 1 else None


def _instance_plan(name, nodes, per_node, version, checks):
    """``checks``: {"track_scripts": vrrp_scripts, "track_processes": vrrp_track_processes}, by name."""
    insts = {n: per_node[n][name] for n in nodes}
    first = insts[nodes[0]]
    vrids = {n: i.get("virtual_router_id") for n, i in insts.items()}
    if len(set(map(str, vrids.values()))) != 1:
        raise AnsibleFilterError(
            f"vrrp_plan: keepalived_instances[{name}].virtual_router_id differs between the nodes {vrids}; both "
            "nodes of an instance need the same one (R4d)"
        )
    priorities = {n: insts[n]["priority"] for n in nodes}
    states = {n: str(insts[n].get("state", "BACKUP")) for n in nodes}
    adverts = {n: insts[n]["_advert"] for n in nodes}
    master_down, skew = {}, {}
    for node in nodes:
        # A VRRPv3 backup times the master by the interval the master advertises (RFC 5798 6.4.2);
        # VRRPv2 by its own. With several possible masters, the longest.
        others = [adverts[n] for n in nodes if n != node] or [adverts[node]]
        base = max(others) if version == 3 else adverts[node]
        master_down[node] = master_down_interval(base, priorities[node], version)
        skew[node] = skew_time(base, priorities[node], version)
    down = max(master_down.values())
    tracked = {key: _tracked(first, key) for key in checks}
    # A failing health check is acted on after the slowest tracked check's detection time.
    detect = [checks[key][n]["detect_s"] for key, names in tracked.items() for n in names if n in checks[key]]
    bounds = dict.fromkeys(DOWN_KINDS, down)
    bounds["health"] = down + max(detect) if detect else None
    return {
        "name": name,
        "vrid": vrids[nodes[0]],
        "vips": [str(v) for v in first.get("virtual_ipaddresses") or []],
        "interface": first.get("interface"),
        "vrrp_version": version,
        "advert_int": max(adverts.values()),
        "advert_int_by_node": adverts,
        "priorities": priorities,
        "states": states,
        "nopreempt": bool(first.get("nopreempt", False)),
        # How often the master repeats its gratuitous ARP (R4c); 0: Keepalived's default, never.
        "garp_master_refresh": max(int(insts[n].get("garp_master_refresh") or 0) for n in nodes),
        "expected_master": _expected_master(nodes, priorities, states),
        "track_scripts": tracked["track_scripts"],
        "track_processes": tracked["track_processes"],
        "skew_s": skew,
        "master_down_s": master_down,
        "bounds_s": bounds,
    }


def _required(host, values, key):
    value = values.get(key)
    if value in (None, ""):
        # No path of our own: a guessed one would read the wrong file without a word.
        raise AnsibleFilterError(
            f"vrrp_plan: {key} has no value for {host}, neither in the inventory nor in the roles' defaults"
        )
    return value


def _node_plan(host, values):
    daemon = values["havip_vrrp_daemon"]
    if daemon not in DAEMONS:
        raise AnsibleFilterError(
            f"vrrp_plan: havip_vrrp_daemon={daemon!r} on {host}: must be keepalived or agent"
        )
    config_dir = str(_required(host, values, "keepalived_config_dir")).rstrip("/") or "/"
    state_dir = str(_required(host, values, "keepalived_state_dir")).rstrip("/") or "/"
    instances = values.get("keepalived_instances") or []
    interface = ((values.get("keepalived_instance_defaults") or {}).get("interface")
                 if not instances or not isinstance(instances[0], dict) or "interface" not in instances[0]
                 else instances[0]["interface"])
    node = {
        "daemon": daemon,
        "service": (_required(host, values, "vrrp_agent_service") if daemon == "agent"
                    else values["_keepalived_service"]),
        "config_dir": config_dir,
        "config_file": f"{config_dir}/keepalived.conf",
        "state_dir": state_dir,
        "state_file": f"{state_dir}/state",
        "notify_log": values.get("keepalived_notify_log"),
        "address": values.get("keepalived_unicast_src_ip") or _interface_address(values["_facts"], interface or "eth0"),
    }
    if daemon == "agent":
        node["status_file"] = values.get("vrrp_agent_status_file")
        node["cli"] = values.get("vrrp_agent_cli")
    return node


def vrrp_plan(hosts, hostvars, defaults=None):
    """The plan of the cluster made of ``hosts`` (an inventory group's members), see vrrp_plan.yml."""
    if isinstance(hosts, str) or not hosts:
        raise AnsibleFilterError(f"vrrp_plan: expects the cluster's hosts (a non-empty list), got {hosts!r}")
    nodes = [str(h) for h in hosts]
    defaults = role_defaults() if defaults is None else defaults
    values = {n: _node_vars(n, hostvars, defaults) for n in nodes}
    groups = {n: values[n].get("keepalived_cluster_group") for n in nodes}
    if len(set(groups.values())) != 1:
        raise AnsibleFilterError(
            f"vrrp_plan: the nodes name different clusters in keepalived_cluster_group ({groups}); one cluster "
            "is one inventory group (R3, R4a)"
        )
    versions = {n: _version(n, values[n]) for n in nodes}
    if len(set(versions.values())) != 1:
        raise AnsibleFilterError(
            f"vrrp_plan: keepalived_vrrp_version differs between the nodes ({versions}); VRRPv2 and VRRPv3 do not "
            "elect together (R4g)"
        )
    version = versions[nodes[0]]
    per_node = {n: _node_instances(n, values[n], version) for n in nodes}
    names = list(per_node[nodes[0]])
    for node in nodes[1:]:
        if sorted(per_node[node]) != sorted(names):
            raise AnsibleFilterError(
                f"vrrp_plan: keepalived_instances names differ between {nodes[0]} ({sorted(names)}) and {node} "
                f"({sorted(per_node[node])}); every node of a cluster runs the same instances (R3)"
            )
    scripts = _scripts(values[nodes[0]])
    processes = _processes(values[nodes[0]])
    checks = {"track_scripts": scripts, "track_processes": processes}
    instances = [_instance_plan(name, nodes, per_node, version, checks) for name in names]
    kinds = (*DOWN_KINDS, "health")
    bounds = {}
    for kind in kinds:
        found = [i["bounds_s"][kind] for i in instances if i["bounds_s"][kind] is not None]
        bounds[kind] = max(found) if found else None
    masters = {i["expected_master"] for i in instances}
    return {
        "cluster": groups[nodes[0]],
        "nodes": nodes,
        "vrrp_version": version,
        "node": {n: _node_plan(n, values[n]) for n in nodes},
        "scripts": list(scripts.values()),
        "processes": list(processes.values()),
        "instances": instances,
        "advert_int": max((i["advert_int"] for i in instances), default=None),
        "master_down_s": max((max(i["master_down_s"].values()) for i in instances), default=None),
        "expected_master": masters.pop() if len(masters) == 1 else None,
        "bounds_s": bounds,
    }


class FilterModule:
    """The VRRP plan of a cluster."""

    def filters(self):
        return {"vrrp_plan": vrrp_plan}
