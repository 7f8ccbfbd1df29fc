# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Keepalived options beyond the guide's example, and the keys the roles know at all.

A key the templates do not render would be dropped without a word (a ``notify_master`` that never
runs, a ``virtual_ipaddress_excluded`` that never holds an address): every unknown key is refused
here, by name, for the paths where the role's argument spec does not run (the vrrp_agent role
includes the keepalived role's preflight). The rules of the guide itself are in vrrp.py.
"""

from __future__ import annotations

import difflib
import re

# Keys of one keepalived_instances item (and of keepalived_instance_defaults); keep in step with
# roles/keepalived/meta/argument_specs.yml and templates/keepalived.conf.j2.
INSTANCE_KEYS = frozenset({
    "name", "virtual_router_id", "auth_pass", "virtual_ipaddresses", "state", "interface", "nopreempt",
    "preempt_delay", "priority", "advert_int", "unicast_src_ip", "unicast_peers", "garp_master_delay",
    "garp_master_refresh", "track_interfaces", "track_scripts", "notify", "track_processes", "dont_track_primary",
    "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify_script", "track_files",
})
TRACK_FILE_KEYS = frozenset({"name", "file", "weight", "init_value"})
PATH_RE = re.compile(r"^/[A-Za-z0-9_./+-]+$")
NOTIFY_KEYS = ("notify_master", "notify_backup", "notify_fault", "notify_stop")
SYNC_GROUP_KEYS = frozenset({"name", "instances"})
# A command Keepalived runs: an absolute path and plain words (no quote, brace, comment or newline
# that could end the directive and add another).
COMMAND_RE = re.compile(r"^/[A-Za-z0-9_./+-]+( [A-Za-z0-9_./:=+,@%-]+)*$")
SCRIPT_KEYS = frozenset({"name", "script", "interval", "timeout", "fall", "rise", "weight"})
TRACK_PROCESS_KEYS = frozenset({"name", "process", "weight", "quorum", "quorum_max", "delay", "full_command"})
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
# A process name as /proc/PID/status shows it (Keepalived matches it exactly): at most 15 characters
# (TASK_COMM_LEN - 1), so a longer one would never match. With full_command, the command line's words.
COMM_MAX = 15
PROCESS_RE = re.compile(r"^[A-Za-z0-9_./:@+=,-]+$")


def _unknown(item, known, where, errors):
    """One message per key of ``item`` that the roles do not know, with the nearest known key."""
    if not isinstance(item, dict):
        return
    for key in sorted(str(k) for k in item if k not in known):
        near = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        errors.append(
            f"{where}: unknown key {key!r}{hint} Known keys: {', '.join(sorted(known))}. An option the role does "
            "not render would be dropped silently, so it is refused (R3)"
        )


def _label(item, index):
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) and name else f"#{index}"


def vrrp_unknown_keys(instances, defaults=None, scripts=None, *, track_processes=None, sync_groups=None,
                      track_files=None):
    """Messages for every unknown key in keepalived_instances, keepalived_instance_defaults,
    keepalived_vrrp_scripts and keepalived_track_processes (the raw variables, before vrrp_instances
    merges them)."""
    errors = []
    for index, item in enumerate(track_files if isinstance(track_files, list) else []):
        _unknown(item, TRACK_FILE_KEYS, f"keepalived_track_files[{_label(item, index)}]", errors)
    for index, item in enumerate(sync_groups if isinstance(sync_groups, list) else []):
        _unknown(item, SYNC_GROUP_KEYS, f"keepalived_vrrp_sync_groups[{_label(item, index)}]", errors)
    for index, item in enumerate(track_processes if isinstance(track_processes, list) else []):
        _unknown(item, TRACK_PROCESS_KEYS, f"keepalived_track_processes[{_label(item, index)}]", errors)
    _unknown(defaults, INSTANCE_KEYS - {"name"}, "keepalived_instance_defaults", errors)
    for index, item in enumerate(instances if isinstance(instances, list) else []):
        _unknown(item, INSTANCE_KEYS, f"keepalived_instances[{_label(item, index)}]", errors)
    for index, item in enumerate(scripts if isinstance(scripts, list) else []):
        _unknown(item, SCRIPT_KEYS, f"keepalived_vrrp_scripts[{_label(item, index)}]", errors)
    return errors


def _int_in(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_track_process(item, index, errors):
    """One vrrp_track_process block (Keepalived >= 2.0.11; keepalived.conf(5))."""
    where = f"keepalived_track_processes[{_label(item, index)}]"
    if not isinstance(item, dict):
        errors.append(f"keepalived_track_processes: each item must be a dict, got {type(item).__name__} (R3)")
        return
    if not isinstance(item.get("name"), str) or not NAME_RE.match(item["name"]):
        errors.append(f"{where}.name={item.get('name')!r}: must be letters, digits, '_', '.', '-' (R3)")
    process = item.get("process")
    full = item.get("full_command", False)
    words = process.split(" ") if isinstance(process, str) else []
    if not words or not all(PROCESS_RE.match(w) for w in words) or (len(words) > 1 and not full):
        errors.append(
            f"{where}.process={process!r}: must be a process name (letters, digits and _ . / : @ + = , -), or with "
            "full_command: true its command line, words separated by single spaces (R3)"
        )
    elif not full and len(process) > COMM_MAX:
        errors.append(
            f"{where}.process={process!r}: {len(process)} characters; the kernel keeps {COMM_MAX} of a process "
            f"name ({process[:COMM_MAX]!r}), so it would never match: give those, or set full_command: true (R3)"
        )
    if not isinstance(full, bool):
        errors.append(f"{where}.full_command={full!r}: must be a boolean (R3)")
    weight = item.get("weight", 0)
    if not _int_in(weight, -253, 253):
        errors.append(f"{where}.weight={weight!r}: must be an integer -253..253; 0 puts the instance in FAULT (R3)")
    quorum = item.get("quorum", 1)
    if not _int_in(quorum, 1, 65535):
        errors.append(f"{where}.quorum={quorum!r}: must be an integer 1-65535 (R3)")
    quorum_max = item.get("quorum_max")
    if quorum_max is not None and (not _int_in(quorum_max, 1, 65535) or (_int_in(quorum, 1, 65535)
                                                                         and quorum_max < quorum)):
        errors.append(f"{where}.quorum_max={quorum_max!r}: must be an integer from quorum ({quorum}) to 65535 (R3)")
    delay = item.get("delay")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 3600):
        errors.append(f"{where}.delay={delay!r}: must be 0-3600 seconds (R3)")


def _check_notify(inst, where, errors):
    """Per-instance notify commands (Keepalived runs each as given; R7's notify_action.sh is notify: true)."""
    for key in (*NOTIFY_KEYS, "notify_script"):
        command = inst.get(key)
        if command is None:
            continue
        if not isinstance(command, str) or not COMMAND_RE.match(command):
            errors.append(
                f"{where}.{key}={command!r}: must be an absolute path and plain arguments (letters, digits and "
                "_ . / : = + , @ % -, single spaces) (R3)"
            )
        elif key != "notify_script" and inst.get("notify"):
            errors.append(
                f"{where}.{key}: notify: true already writes {key} (notify_action.sh, R7, whose state file site.yml "
                "reads); use notify_script, which Keepalived runs in addition with INSTANCE <name> <state> "
                "<priority>, or set notify: false (R3, R7)"
            )
    if not isinstance(inst.get("dont_track_primary", False), bool):
        errors.append(f"{where}.dont_track_primary={inst.get('dont_track_primary')!r}: must be a boolean (R3)")


def _has_name(block, where, errors):
    """A block (track file, sync group) is a mapping whose name is a Keepalived word; else one error."""
    if isinstance(block, dict) and isinstance(block.get("name"), str) and NAME_RE.match(block["name"]):
        return True
    errors.append(f"{where}.name: must be letters, digits, '_', '.', '-' (R3)")
    return False


def _check_track_files(track_files, errors):
    """vrrp_track_file blocks: Keepalived reads a number from the file (weight 0: non-zero is a failure)."""
    for index, item in enumerate(track_files):
        where = f"keepalived_track_files[{_label(item, index)}]"
        if not _has_name(item, where, errors):
            continue
        path = item.get("file")
        if not isinstance(path, str) or not PATH_RE.match(path):
            errors.append(f"{where}.file={path!r}: must be an absolute path (letters, digits and _ . / + -) (R3)")
        weight = item.get("weight", 0)
        if not _int_in(weight, -254, 254):
            errors.append(f"{where}.weight={weight!r}: must be an integer -254..254; 0 - a non-zero value in the file "
                          "puts the instance in FAULT (R3)")
        init = item.get("init_value")
        if init is not None and not _int_in(init, -2147483647, 2147483647):
            errors.append(f"{where}.init_value={init!r}: must be an integer (R3)")
    _duplicates(track_files, "keepalived_track_files", errors)


def _names(items):
    return [t.get("name") for t in items if isinstance(t, dict)]


def _duplicates(items, variable, errors):
    names = _names(items)
    for dup in sorted({n for n in names if names.count(n) > 1 and isinstance(n, str)}):
        errors.append(f"{variable}: name {dup!r} is defined twice (R3)")


def _check_sync_groups(groups, instances, tracks, errors):
    """vrrp_sync_group: instances of this host, each in one group; their tracks weight 0 (keepalived.conf(5))."""
    by_name = {i.get("name"): i for i in instances or []}
    weights = {(kind, t.get("name")): t.get("weight", 0) for kind, items in tracks.items() for t in items
               if isinstance(t, dict)}
    seen = {}
    for index, group in enumerate(groups):
        where = f"keepalived_vrrp_sync_groups[{_label(group, index)}]"
        if not _has_name(group, where, errors):
            continue
        members = group.get("instances")
        if not isinstance(members, list) or len(members) < 2:
            errors.append(f"{where}.instances={members!r}: a sync group needs at least two instances (R3)")
            continue
        for member in members:
            if member not in by_name:
                errors.append(f"{where}.instances: {member!r} is not one of keepalived_instances (R3)")
            elif member in seen:
                errors.append(f"{where}.instances: {member!r} is already in sync group {seen[member]!r} (R3)")
            else:
                seen[member] = group["name"]
                inst = by_name[member]
                for kind, key in (("script", "track_scripts"), ("process", "track_processes"), ("file", "track_files")):
                    for track in inst.get(key) or []:
                        if weights.get((kind, track), 0) != 0:
                            errors.append(
                                f"{where}: {member} tracks {kind} {track!r} with weight {weights[(kind, track)]}; "
                                "in a sync group Keepalived ignores weights, so give it weight 0 (R3)"
                            )
    _duplicates(groups, "keepalived_vrrp_sync_groups", errors)


def _listed(value):
    return value if isinstance(value, list) else []


def vrrp_option_errors(instances, track_processes=None, sync_groups=None, scripts=None, track_files=None):
    """Every broken rule of the options beyond the guide's example, in one host's resolved
    instances (from vrrp_instances) and the blocks they refer to."""
    errors = []
    track_files, track_processes = _listed(track_files), _listed(track_processes)
    _check_track_files(track_files, errors)
    for index, item in enumerate(track_processes):
        _check_track_process(item, index, errors)
    _duplicates(track_processes, "keepalived_track_processes", errors)
    _check_sync_groups(_listed(sync_groups), instances,
                       {"script": _listed(scripts), "process": track_processes, "file": track_files}, errors)
    for inst in instances or []:
        where = "keepalived_instances[{}]".format(inst.get("name") or "?")
        _check_notify(inst, where, errors)
        for key, variable, known in (("track_processes", "keepalived_track_processes", _names(track_processes)),
                                     ("track_files", "keepalived_track_files", _names(track_files))):
            tracked = inst.get(key) or []
            if not isinstance(tracked, list):
                errors.append(f"{where}.{key}: must be a list of {variable} names (R3)")
                continue
            for name in tracked:
                if name not in known:
                    errors.append(f"{where}.{key}: {name!r} is not defined in {variable} (R3)")
    return errors


class FilterModule:
    """Filters for the Keepalived options beyond the guide's example."""

    def filters(self):
        return {
            "vrrp_unknown_keys": vrrp_unknown_keys,
            "vrrp_option_errors": vrrp_option_errors,
        }
