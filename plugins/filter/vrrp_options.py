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

# Keys of one keepalived_instances item (and of keepalived_instance_defaults); keep in step with
# roles/keepalived/meta/argument_specs.yml and templates/keepalived.conf.j2.
INSTANCE_KEYS = frozenset({
    "name", "virtual_router_id", "auth_pass", "virtual_ipaddresses", "state", "interface", "nopreempt",
    "preempt_delay", "priority", "advert_int", "unicast_src_ip", "unicast_peers", "garp_master_delay",
    "garp_master_refresh", "track_interfaces", "track_scripts", "notify",
})
SCRIPT_KEYS = frozenset({"name", "script", "interval", "timeout", "fall", "rise", "weight"})


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


def vrrp_unknown_keys(instances, defaults=None, scripts=None):
    """Messages for every unknown key in keepalived_instances, keepalived_instance_defaults and
    keepalived_vrrp_scripts (the raw variables, before vrrp_instances merges them)."""
    errors = []
    _unknown(defaults, INSTANCE_KEYS - {"name"}, "keepalived_instance_defaults", errors)
    for index, item in enumerate(instances if isinstance(instances, list) else []):
        _unknown(item, INSTANCE_KEYS, f"keepalived_instances[{_label(item, index)}]", errors)
    for index, item in enumerate(scripts if isinstance(scripts, list) else []):
        _unknown(item, SCRIPT_KEYS, f"keepalived_vrrp_scripts[{_label(item, index)}]", errors)
    return errors


class FilterModule:
    """Filters for the Keepalived options beyond the guide's example."""

    def filters(self):
        return {
            "vrrp_unknown_keys": vrrp_unknown_keys,
        }
