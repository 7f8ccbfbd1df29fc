# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the role variables of a VRRP cluster into a checked plan.

The keepalived role and the vrrp_agent role render the same keepalived.conf; both resolve their
instances and run the guide's rules (R3, R4) here, on the controller, before anything changes on
a host. Every message names the variable, the bad value and the rule; auth_pass never appears.
"""

from __future__ import annotations

import ipaddress
import re
import shlex

from ansible.errors import AnsibleFilterError
from ansible_collections.havip.tencentcloud.plugins.plugin_utils.vrrp_timing import WIRE_RANGE, advert_wire_units

# R3: the guide's instance settings, used where neither the instance nor the role defaults say.
MAX_VIPS_PER_INTERFACE = 5  # R4f: at most five HAVIPs bound to one ENI
AUTH_PASS_MAX = 8  # Keepalived silently truncates longer PASS passwords
# What each VRRP version carries as advert_int (plugins/plugin_utils/vrrp_timing.py says it once).
ADVERT_INT_RANGE = WIRE_RANGE[2]
ADVERT_INT_V3_CENTISECONDS = WIRE_RANGE[3]
VRRP_VERSIONS = (2, 3)
SCRIPT_INTERVAL_RANGE = (1, 3600)
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
STATES = ("BACKUP", "MASTER")
IFNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,15}$")  # Linux: IFNAMSIZ 16 with the NUL
KEYWORD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\$?$")  # POSIX user and group names (useradd)
IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# keepalived.conf(5): blocks, quoted strings, comments ('#', '!'); backslash and single quote are
# refused too: the man page is silent on them, so the harsher reading.
SYNTAX_CHARS = set('{}"\'#!\\')


def _control_error(text):
    """Why ``text`` cannot stay on one line of a generated file, or None. str.isprintable() is False
    for every control and separator character (newline, NUL, tab, U+2028...) except the space."""
    if not text.isprintable():
        bad = next(ch for ch in text if not ch.isprintable())
        return f"holds the control character {bad!r}; it would start a new line (a new directive)"
    return None


def _word_error(value, allow=""):
    """Why ``value`` cannot be written as one keepalived.conf word, or None."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    reason = _control_error(value)
    if reason:
        return reason
    if " " in value:
        return "holds a space; it would become several words"
    bad = "".join(sorted(set(value) & SYNTAX_CHARS - set(allow)))
    if bad:
        return f"holds {bad!r}, which keepalived.conf reads as syntax (blocks, strings, comments)"
    return None


def _ipv4_error(value):
    """Why ``value`` is not an IPv4 address written the way Keepalived and the agent read it."""
    if not isinstance(value, str) or not IPV4_RE.match(value):
        return "is not an IPv4 address (a.b.c.d)"
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return "is not an IPv4 address (a.b.c.d)"
    return None


def _ip_of(facts, interface):
    """The primary IPv4 address of ``interface`` in a host's facts, or None."""
    if not facts:
        return None
    entry = facts.get(interface.replace("-", "_")) or facts.get(interface) or {}
    return (entry.get("ipv4") or {}).get("address")


def _network_of(facts, interface):
    if not facts:
        return None
    entry = facts.get(interface.replace("-", "_")) or facts.get(interface) or {}
    ipv4 = entry.get("ipv4") or {}
    if not ipv4.get("address") or not ipv4.get("netmask"):
        return None
    return ipaddress.ip_interface("{}/{}".format(ipv4["address"], ipv4["netmask"])).network


def vrrp_instances(instances, defaults, hostname, hostvars, cluster_hosts):
    """Merge each instance with the role defaults and resolve unicast_src_ip and unicast_peers.

    Peers default to the other members of the cluster group: their ``keepalived_unicast_src_ip``
    when set, else the IPv4 address of the instance's interface in their facts. An address that
    cannot be resolved stays None: vrrp_config_errors reports it.
    """
    if not isinstance(instances, list):
        raise AnsibleFilterError(
            f"keepalived_instances must be a list of VRRP instances (R3), got {type(instances).__name__}"
        )
    resolved = []
    for item in instances:
        if not isinstance(item, dict):
            raise AnsibleFilterError(f"keepalived_instances: each instance must be a dict (R3), got {item!r}")
        inst = dict(defaults or {})
        inst.update(item)
        interface = inst.get("interface", "eth0")
        own_facts = (hostvars.get(hostname) or {}).get("ansible_facts") or {}
        own_vars = hostvars.get(hostname) or {}
        if not inst.get("unicast_src_ip"):
            inst["unicast_src_ip"] = own_vars.get("keepalived_unicast_src_ip") or _ip_of(own_facts, interface)
        if not inst.get("unicast_peers"):
            peers = []
            for peer in cluster_hosts or []:
                if peer == hostname:
                    continue
                peer_vars = hostvars.get(peer) or {}
                peers.append(
                    peer_vars.get("keepalived_unicast_src_ip") or _ip_of(peer_vars.get("ansible_facts"), interface)
                )
            inst["unicast_peers"] = peers
        # The own interface is always tracked; Keepalived 2.2.7 rejects naming it (docs/guide.md).
        inst["track_interfaces"] = [i for i in inst.get("track_interfaces") or [] if i != interface]
        inst["virtual_ipaddresses"] = list(inst.get("virtual_ipaddresses") or [])
        resolved.append(inst)
    return resolved


def vrrp_foreign_vrids(hostvars, all_hosts, cluster_group, own_hosts):
    """VRIDs used by the other clusters of the inventory: {vrid: cluster group name} (R4d)."""
    foreign = {}
    own = set(own_hosts or [])
    for host in all_hosts or []:
        if host in own:
            continue
        hv = hostvars.get(host) or {}
        group = hv.get("keepalived_cluster_group")
        if not group or group == cluster_group:
            continue
        for inst in hv.get("keepalived_instances") or []:
            if isinstance(inst, dict) and "virtual_router_id" in inst:
                foreign.setdefault(inst["virtual_router_id"], group)
    return foreign


VRID_TAG = "havip:vrid"  # the VRIDs of a HAVIP's cluster, comma-separated (written by cloud_havip.yml)


def vrrp_tagged_vrids(havips, own_name=None):
    """VRIDs recorded on the VPC's other HAVIPs (tag havip:vrid): {vrid: HAVIP name} (R4d).

    Same shape as vrrp_foreign_vrids, so one check serves the inventory and the VPC."""
    tagged = {}
    for havip in havips or []:
        if not isinstance(havip, dict) or havip.get("name") == own_name:
            continue
        for part in str((havip.get("tags") or {}).get(VRID_TAG, "")).split(","):
            if part.strip().isdigit():
                tagged.setdefault(int(part), havip.get("name") or havip.get("id"))
    return tagged


def _vrid_clash(where, vrid, owner):
    """R4d, one wording for the inventory's other clusters and the VPC's other HAVIPs."""
    return (
        f"{where}.virtual_router_id={vrid}: already used by {owner}; each primary/backup cluster in a VPC "
        "needs a unique virtual_router_id (R4d)"
    )


def vrrp_vrid_errors(instances, used_by, owner="cluster group '{}'", cluster=None):
    """R4d: the instances whose virtual_router_id another cluster uses; ``used_by`` is {vrid: name}
    from vrrp_foreign_vrids (the inventory) or vrrp_tagged_vrids (the VPC's HAVIPs), ``owner``
    says what the name is ('{}' stands for it), ``cluster`` the group the instances belong to."""
    errors = []
    prefix = f"cluster {cluster}: " if cluster else ""
    for index, inst in enumerate(instances or []):
        if not isinstance(inst, dict):
            continue
        vrid = inst.get("virtual_router_id")
        if vrid in (used_by or {}):
            where = "{}keepalived_instances[{}]".format(prefix, inst.get("name") or index)
            errors.append(_vrid_clash(where, vrid, owner.format(used_by[vrid])))
    return errors


def vrrp_cluster_errors(hostname, cluster_group, groups):
    """R3, R4a: the node must belong to the inventory group its keepalived_cluster_group names
    (one group per primary/backup cluster; its other members are the unicast peers)."""
    if not isinstance(cluster_group, str) or cluster_group not in (groups or {}):
        return [
            f"keepalived_cluster_group={cluster_group!r}: no such inventory group on {hostname}; one group per "
            "primary/backup cluster, its other members are the unicast peers (R3, R4a)"
        ]
    if hostname not in groups[cluster_group]:
        return [
            f"keepalived_cluster_group={cluster_group!r}: {hostname} is not a member of that group; one group per "
            "primary/backup cluster, its other members are the unicast peers (R3, R4a)"
        ]
    return []


CLOUD_ID_RULES = {
    "havip_vpc_id": (re.compile(r"^vpc-[0-9a-z]+$"), "a VPC id, vpc-..."),
    "havip_subnet_id": (re.compile(r"^subnet-[0-9a-z]+$"), "a subnet id, subnet-..."),
}
CVM_ID_RE = re.compile(r"^ins-[0-9a-z]+$")


def havip_cloud_errors(hostvars, cluster_hosts, cluster_group):
    """R1: the cluster's cloud variables, one message per broken rule; every node must agree on
    the cluster's values (one cluster, one HAVIP) and carry its CVM's havip_instance_id."""
    errors = []
    where = f"cluster {cluster_group}"
    nodes = [(host, hostvars.get(host) or {}) for host in cluster_hosts or []]
    if not nodes:
        return [f"{where}: no hosts in the inventory group (R1)"]
    first = nodes[0][1]
    for name, (pattern, rule) in CLOUD_ID_RULES.items():
        value = first.get(name)
        if not isinstance(value, str) or not pattern.match(value):
            errors.append(f"{where}: {name}={value!r}: must be {rule} (R1)")
    address = first.get("havip_address", "")
    if address not in ("", None) and _ipv4_error(address):
        errors.append(
            f"{where}: havip_address={address!r}: {_ipv4_error(address)}; empty for an automatic address (R1)"
        )
    for name in ("havip_vpc_id", "havip_subnet_id", "havip_address", "havip_name"):
        seen = {host: hv.get(name) for host, hv in nodes}
        if len({repr(v) for v in seen.values()}) > 1:
            values = ", ".join(f"{host}: {value!r}" for host, value in seen.items())
            errors.append(f"{where}: {name} differs between the nodes ({values}); one cluster, one HAVIP (R1)")
    for host, hv in nodes:
        cvm = hv.get("havip_instance_id")
        if not isinstance(cvm, str) or not CVM_ID_RE.match(cvm):
            errors.append(f"{where}: {host}: havip_instance_id={cvm!r}: must be the CVM's instance id, ins-... (R1)")
    if not first.get("keepalived_instances"):
        errors.append(f"{where}: keepalived_instances: at least one VRRP instance is needed (R1, R4d)")
    return errors


def _int_in(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _num_in(value, low, high):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def _check_identity(inst, where, foreign_vrids, errors, version=2):
    """Name, VRID, state, preemption, priority, timing and authentication (R3, R4d, R4g)."""
    name = inst.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        errors.append(f"keepalived_instances: name {name!r} must be letters, digits, '_', '.', '-' (R3)")
    vrid = inst.get("virtual_router_id")
    if not _int_in(vrid, 1, 255):
        errors.append(f"{where}.virtual_router_id={vrid!r}: must be an integer 1-255 (R4d)")
    elif vrid in foreign_vrids:
        errors.append(_vrid_clash(where, vrid, f"cluster group '{foreign_vrids[vrid]}'"))
    state = inst.get("state")
    if state not in STATES:
        errors.append(f"{where}.state={state!r}: must be BACKUP or MASTER (R3)")
    if inst.get("nopreempt") and state != "BACKUP":
        errors.append(f"{where}.state={state!r}: nopreempt needs state BACKUP (R3)")
    delay = inst.get("preempt_delay")
    if delay is not None and not _int_in(delay, 0, 1000):
        errors.append(f"{where}.preempt_delay={delay!r}: must be an integer 0-1000 seconds (R3)")
    elif delay and inst.get("nopreempt"):
        errors.append(
            f"{where}.preempt_delay={delay}: has no effect with nopreempt; set nopreempt: false and state MASTER (R3)"
        )
    priority = inst.get("priority")
    if not _int_in(priority, 1, 254):
        errors.append(f"{where}.priority={priority!r}: must be an integer 1-254 (R3)")
    if version == 3:
        _check_v3_timing_and_auth(inst, where, errors)
        return
    advert = inst.get("advert_int")
    if not isinstance(advert, int) or advert_wire_units(advert, 2) is None:
        low, high = ADVERT_INT_RANGE
        errors.append(
            f"{where}.advert_int={advert!r}: must be an integer {low}-{high} seconds with VRRPv2 (0.01-40.95 with "
            "keepalived_vrrp_version 3); small values flap, large ones lengthen the outage (R4g)"
        )
    reason = _auth_pass_error(inst.get("auth_pass"))
    if reason:
        # Never echo the value, nor a part of it: it is the cluster's shared secret.
        errors.append(f"{where}.auth_pass: {reason} (R3 PASS authentication); value not shown")


def _auth_pass_error(auth):
    """Why ``auth`` cannot be the PASS password, in words that never quote it."""
    if not isinstance(auth, str) or not auth:
        return f"must be 1-{AUTH_PASS_MAX} bytes"
    size = len(auth.encode("utf-8", "surrogatepass"))
    if size > AUTH_PASS_MAX:
        # RFC 3768 5.3.10: 8 octets on the wire; Keepalived cuts the rest, mid-character if need be.
        return f"must be 1-{AUTH_PASS_MAX} bytes in UTF-8, got {size} (Keepalived cuts the rest on the wire)"
    if not auth.isprintable() or " " in auth or set(auth) & SYNTAX_CHARS:
        return (
            "holds whitespace, a control character, a brace, a quote, a backslash, '#' or '!', which "
            "keepalived.conf would read as syntax"
        )
    return None


def _check_v3_timing_and_auth(inst, where, errors):
    """VRRPv3: advert_int in centiseconds, and no authentication (RFC 5798 removed it)."""
    advert = inst.get("advert_int")
    low, high = ADVERT_INT_V3_CENTISECONDS
    if advert_wire_units(advert, 3) is None:
        errors.append(
            f"{where}.advert_int={advert!r}: with keepalived_vrrp_version 3 must be {low / 100}-{high / 100} "
            "seconds in steps of 0.01 (RFC 5798 5.2.7); small values flap, large ones lengthen the outage (R4g)"
        )
    if inst.get("auth_pass") is not None:
        # Keepalived drops authentication under VRRPv3; a silently ignored secret would mislead.
        errors.append(
            f"{where}.auth_pass: VRRPv3 has no authentication (RFC 5798); remove auth_pass or keep "
            "keepalived_vrrp_version 2 for the guide's PASS authentication (R3); value not shown"
        )


def _host_addresses(facts):
    """The host's IPv4 addresses from its facts (ansible_all_ipv4_addresses leaves out loopback, so
    the interfaces' own facts are added), or None without gathered facts."""
    if not facts or not isinstance(facts.get("all_ipv4_addresses"), list):
        return None
    found = list(facts["all_ipv4_addresses"])
    for name in facts.get("interfaces") or []:
        entry = facts.get(name.replace("-", "_")) or {}
        for ipv4 in [entry.get("ipv4") or {}, *(entry.get("ipv4_secondaries") or [])]:
            if isinstance(ipv4, dict) and ipv4.get("address") and ipv4["address"] not in found:
                found.append(ipv4["address"])
    return found


def _check_addresses(inst, where, facts, errors):
    """Interface, unicast source and peers, VIPs inside the interface's subnet (R1, R3, R4a)."""
    interface = inst.get("interface")
    if not isinstance(interface, str) or not IFNAME_RE.match(interface):
        errors.append(
            f"{where}.interface={interface!r}: must name the ENI, such as eth0 (letters, digits, '_', '.', '@', "
            "'-', at most 15) (R3)"
        )
        interface = ""
    elif facts and interface.replace("-", "_") not in facts and interface not in (facts.get("interfaces") or []):
        errors.append(f"{where}.interface={interface!r}: no such interface on this host (R3)")
    for tracked in inst.get("track_interfaces") or []:
        if not isinstance(tracked, str) or not IFNAME_RE.match(tracked):
            errors.append(f"{where}.track_interfaces: {tracked!r} is not an interface name (R3)")
    src = inst.get("unicast_src_ip")
    if not src:
        errors.append(
            f"{where}.unicast_src_ip: cannot be derived from the facts of interface {interface!r}; gather facts "
            "or set keepalived_unicast_src_ip (R3, R4a)"
        )
    elif _ipv4_error(src):
        errors.append(f"{where}.unicast_src_ip={src!r}: {_ipv4_error(src)} (R3)")
        src = None
    own = _host_addresses(facts)
    if src and own is not None and src not in own:
        # The agent (and Keepalived) bind their adverts to it: an address the host lacks fails at
        # start, or at a reload, on one node only.
        errors.append(
            f"{where}.unicast_src_ip={src}: not an address of this host (ansible_all_ipv4_addresses: "
            f"{', '.join(own) or 'none'}); set keepalived_unicast_src_ip to one of them (R3, R4a)"
        )
    peers = _check_peers(inst, where, src, errors)
    _check_vips(inst, where, interface, facts, node_addresses=[src, *peers], errors=errors)


def _check_peers(inst, where, src, errors):
    """The unicast peers: IPv4 addresses, none twice, not this node's own (R4a); returns them."""
    peers = inst.get("unicast_peers") or []
    if not isinstance(peers, list):
        errors.append(f"{where}.unicast_peers={peers!r}: must be a list of IPv4 addresses (R4a)")
        peers = []
    if not peers:
        errors.append(
            f"{where}.unicast_peers: empty; VRRP must be unicast to the other node (R4a): put both nodes in the "
            "group named by keepalived_cluster_group or set unicast_peers"
        )
    for peer in peers:
        if not peer:
            errors.append(
                f"{where}.unicast_peers: a peer's address cannot be derived (no facts for it); gather facts for "
                "the whole cluster or set unicast_peers (R4a)"
            )
        elif _ipv4_error(peer):
            errors.append(f"{where}.unicast_peers: {peer!r} {_ipv4_error(peer)} (R4a)")
        elif src and peer == src:
            errors.append(f"{where}.unicast_peers: {peer} is this node's own address (R3)")
    for dup in _duplicates(p for p in peers if p):
        # Keepalived and the agent would send each advert twice to it.
        errors.append(f"{where}.unicast_peers: {dup} is listed twice; each advert would be sent twice (R4a)")
    return peers


def _duplicates(values):
    """The values that occur more than once, in order of first repetition."""
    seen, dups = set(), []
    for value in values:
        key = value if isinstance(value, (str, int)) else repr(value)
        if key in seen and value not in dups:
            dups.append(value)
        seen.add(key)
    return dups


def _vip_address(vip):
    """(IPv4Interface, None) for a VIP written as a.b.c.d or a.b.c.d/prefix, else (None, reason)."""
    text = vip if isinstance(vip, str) else None
    address, _slash, prefix = (text or "").partition("/")
    if text is None or _ipv4_error(address) or (_slash and not (prefix.isdigit() and int(prefix) <= 32)):
        return None, "is not an IPv4 address (a.b.c.d or a.b.c.d/prefix)"
    return ipaddress.IPv4Interface(text), None


def _check_vips(inst, where, interface, facts, *, node_addresses, errors):
    """Each VIP is an IPv4 address inside the interface's subnet, neither reserved there nor a
    node's own, with a prefix no wider than the subnet's (R1, R3)."""
    network = _network_of(facts, interface) if interface else None
    vips = inst.get("virtual_ipaddresses") or []
    if not vips:
        errors.append(f"{where}.virtual_ipaddresses: at least one HAVIP is needed (R3)")
    for vip in vips:
        parsed, reason = _vip_address(vip)
        if parsed is None:
            errors.append(f"{where}.virtual_ipaddresses: {vip!r} {reason} (R3)")
            continue
        addr = parsed.ip
        if network is not None and addr not in network:
            errors.append(
                f"{where}.virtual_ipaddresses: {addr} is outside {interface}'s subnet {network}; a HAVIP is "
                "subnet-scoped (R1)"
            )
        elif network is not None and network.prefixlen <= 30 and addr in _reserved(network):
            errors.append(
                f"{where}.virtual_ipaddresses: {addr} is reserved in {network} (network {network.network_address}, "
                f"gateway {network.network_address + 1}, broadcast {network.broadcast_address}); only "
                f"{network.network_address + 2} - {network.broadcast_address - 1} can be a HAVIP (R1)"
            )
        if network is not None and "/" in vip and parsed.network.prefixlen < network.prefixlen:
            errors.append(
                f"{where}.virtual_ipaddresses: {vip} is wider than {interface}'s subnet {network}; the prefix "
                f"must be /{network.prefixlen} or longer (R1)"
            )
        if str(addr) in node_addresses:
            errors.append(f"{where}.virtual_ipaddresses: {addr} is a node's own address (R1)")


def _reserved(network):
    """R1, as the VPC reserves them: for 10.0.0.0/24 only 10.0.0.2 - 10.0.0.254 are usable."""
    return {network.network_address, network.network_address + 1, network.broadcast_address}


def _check_announce_and_tracking(inst, where, scripts, errors):
    """GARP timers (R4c) and track_script references (R3)."""
    for key in ("garp_master_delay", "garp_master_refresh"):
        value = inst.get(key)
        if not _int_in(value, 1, 3600):
            errors.append(
                f"{where}.{key}={value!r}: must be an integer 1-3600; the VPC learns where the HAVIP lives from "
                "these ARP announcements (R4c)"
            )
    known = {s.get("name") for s in scripts if isinstance(s, dict)}
    for script in inst.get("track_scripts") or []:
        if script not in known:
            errors.append(f"{where}.track_scripts: {script!r} is not defined in keepalived_vrrp_scripts (R3)")


def _check_instance(inst, scripts, facts, foreign_vrids, errors, *, version):
    where = "keepalived_instances[{}]".format(inst.get("name") or "?")
    for flag in ("nopreempt", "notify"):
        # The template writes the directive when the value is true: a string such as "false" is.
        if flag in inst and not isinstance(inst[flag], bool):
            errors.append(f"{where}.{flag}={inst[flag]!r}: must be a boolean (R3)")
    _check_identity(inst, where, foreign_vrids, errors, version)
    _check_addresses(inst, where, facts, errors)
    _check_announce_and_tracking(inst, where, scripts, errors)


def _check_script(script, errors):
    name = script.get("name") if isinstance(script, dict) else None
    where = "keepalived_vrrp_scripts[{}]".format(name or "?")
    if not isinstance(name, str) or not NAME_RE.match(name):
        errors.append(f"keepalived_vrrp_scripts: name {name!r} must be letters, digits, '_', '.', '-' (R3)")
        return
    path = script.get("script")
    if not isinstance(path, str) or not path.startswith("/"):
        errors.append(f"{where}.script={path!r}: must be an absolute path (R3)")
    else:
        # Written inside "..." in keepalived.conf: spaces separate the command's arguments there.
        reason = _control_error(path) or _word_error(path.replace(" ", "_"))
        if reason:
            errors.append(f"{where}.script={path!r}: {reason} (R3)")
    for key in ("timeout", "fall", "rise", "weight"):
        if key in script and script[key] is None:
            errors.append(f"{where}.{key}=None: give a value or leave the key out (R3)")
    interval = script.get("interval")
    if not _int_in(interval, *SCRIPT_INTERVAL_RANGE):
        errors.append(f"{where}.interval={interval!r}: must be an integer 1-3600 seconds (R4h)")
    timeout = script.get("timeout")
    if timeout is not None and (not _num_in(timeout, 1, 3600) or (_int_in(interval, 1, 3600) and timeout > interval)):
        errors.append(
            f"{where}.timeout={timeout!r}: must be 1 s up to the interval ({interval}); a slow script must not "
            "put the node in FAULT (R4h)"
        )
    for key in ("fall", "rise"):
        value = script.get(key)
        if value is not None and not _int_in(value, 1, 255):
            errors.append(f"{where}.{key}={value!r}: must be an integer 1-255 (R3)")
    weight = script.get("weight")
    if weight is not None and not _int_in(weight, -253, 253):
        errors.append(f"{where}.weight={weight!r}: must be an integer -253..253 (R3)")


def vrrp_config_errors(
    instances, scripts, facts, foreign_vrids=None, *, global_extra=None, vrrp_version=2, settings=None
):
    """Every broken rule of R3/R4 in one host's resolved plan, as a list of messages (empty: fine).

    ``settings`` holds the role's other templated variables by name (keepalived_router_id, ...):
    each is checked so that no value can add a directive to keepalived.conf or a line to a script."""
    errors = []
    vrrp_version = _check_globals(global_extra, vrrp_version, errors)
    _check_settings(settings or {}, errors)
    scripts = scripts or []
    for script in scripts:
        _check_script(script, errors)
    names = [s.get("name") for s in scripts if isinstance(s, dict)]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"keepalived_vrrp_scripts: name {dup!r} is defined twice (R3)")
    if not instances:
        errors.append("keepalived_instances: at least one VRRP instance is needed (R3)")
    for inst in instances or []:
        _check_instance(inst, scripts, facts or {}, foreign_vrids or {}, errors, version=vrrp_version)
    vrids = [i.get("virtual_router_id") for i in instances or []]
    for dup in sorted({v for v in vrids if vrids.count(v) > 1 and v is not None}):
        errors.append(f"keepalived_instances: virtual_router_id {dup} is used twice on this node (R4d)")
    addresses = [str(vip).partition("/")[0] for i in instances or [] for vip in i.get("virtual_ipaddresses") or []]
    for dup in _duplicates(addresses):
        errors.append(f"keepalived_instances: virtual_ipaddresses: {dup} is listed twice on this node (R1, R4f)")
    inst_names = [i.get("name") for i in instances or []]
    for dup in sorted({n for n in inst_names if inst_names.count(n) > 1 and n}):
        errors.append(f"keepalived_instances: name {dup!r} is used twice (R3)")
    per_interface = {}
    for inst in instances or []:
        per_interface.setdefault(inst.get("interface"), []).extend(inst.get("virtual_ipaddresses") or [])
    for interface, vips in sorted(per_interface.items(), key=lambda kv: str(kv[0])):
        if len(vips) > MAX_VIPS_PER_INTERFACE:
            errors.append(
                "keepalived_instances: {} VIPs on interface {} ({}); at most {} HAVIPs per ENI (R4f)".format(
                    len(vips), interface, ", ".join(map(str, vips)), MAX_VIPS_PER_INTERFACE
                )
            )
    return errors


def _check_globals(global_extra, vrrp_version, errors):
    """The VRRP version and the extra global_defs lines (R4e, R4g); returns the version to check with."""
    for line in global_extra or []:
        reason = _extra_line_error(line)
        if reason:
            errors.append(f"keepalived_global_defs_extra: {line!r} {reason} (R3)")
            continue
        keyword = str(line).split()[:1]
        if keyword == ["vrrp_strict"]:
            errors.append("keepalived_global_defs_extra: 'vrrp_strict' is refused; it breaks unicast VRRP (R4e)")
        elif keyword == ["vrrp_version"]:
            errors.append(
                f"keepalived_global_defs_extra: {str(line)!r} is refused; set keepalived_vrrp_version, which the "
                "advert_int and auth_pass checks follow (R4g)"
            )
    if vrrp_version not in VRRP_VERSIONS or isinstance(vrrp_version, bool):
        errors.append(
            f"keepalived_vrrp_version={vrrp_version!r}: must be 2 (RFC 3768, the guide's PASS authentication) "
            "or 3 (RFC 5798, sub-second advert_int, no authentication) (R3, R4g)"
        )
        return 2
    return vrrp_version


def _extra_line_error(line):
    """Why ``line`` cannot be one raw global_defs line (one directive, no block), or None."""
    if not isinstance(line, str):
        return "must be a string"
    reason = _control_error(line)
    if reason:
        return reason
    if not KEYWORD_RE.match(line.split(" ")[0]):
        return "must start with a keyword (letters, digits, '_')"
    if set(line) & set("{}"):
        return "holds a brace; a line may not open or close a block"
    if line.count('"') % 2:
        return "holds an unbalanced '\"'"
    return None


# The role's other variables written into keepalived.conf, notify_action.sh, logrotate and the units:
# variable -> (check, the rule in words). Each check returns None when the value is fine.
def _path_error(value, *, word):
    if not isinstance(value, str) or not value.startswith("/"):
        return "must be an absolute path"
    reason = _control_error(value)
    if reason or not word:
        return reason
    return _word_error(value)


def _plain_path_error(value):
    """Log and state paths: quoted in notify_action.sh, so only what no quoting makes safe, and
    what the files that name them unquoted cannot hold (logrotate.j2, the agent's unit:
    whitespace-separated lists; '%' is a systemd specifier)."""
    reason = _path_error(value, word=False)
    if reason:
        return reason
    bad = "".join(sorted({ch for ch in value if ch.isspace() or ch in '"%'}))
    if bad:
        return f"holds {bad!r}; logrotate and the agent's systemd unit name it unquoted"
    return None


def _email_error(value):
    return _word_error(value) or (None if "@" in value.strip("@") else "is not an e-mail address (user@domain)")


def _smtp_error(value):
    if value == "":
        return None
    words = value.split(" ") if isinstance(value, str) else [None]
    if not 1 <= len(words) <= 2 or _word_error(words[0]) or (len(words) == 2 and not _port(words[1])):
        return "must be a host name or address, optionally followed by a port (smtp_server HOST [PORT])"
    return None


def _port(text):
    return text.isdigit() and text.isascii() and 1 <= int(text) <= 65535


def _user_error(value):
    words = value.split(" ") if isinstance(value, str) else []
    if not 1 <= len(words) <= 2 or not all(USER_RE.match(w) and w.isascii() for w in words):
        return "must be a user name, optionally followed by a group name (script_user USER [GROUP])"
    return None


SETTING_RULES = {
    "keepalived_router_id": (_word_error, "R3 router_id"),
    "keepalived_notification_email_from": (_email_error, "R3 notification_email_from"),
    "keepalived_smtp_server": (_smtp_error, "R3 smtp_server"),
    "keepalived_smtp_connect_timeout": (
        lambda v: None if _int_in(v, 1, 3600) else "must be an integer 1-3600 seconds", "R3 smtp_connect_timeout"),
    "keepalived_script_user": (_user_error, "R3 script security"),
    "keepalived_vrrp_skip_check_adv_addr": (
        lambda v: None if isinstance(v, bool) else "must be a boolean", "R3 vrrp_skip_check_adv_addr"),
    # The agent reads 0-1 s; 0 is not written (Keepalived 2.2.7 rejects it, see the template).
    "keepalived_vrrp_garp_interval": (
        lambda v: None if _num_in(v, 0, 1) else "must be a number of seconds 0-1 (0: not written)", "R3"),
    "keepalived_vrrp_gna_interval": (
        lambda v: None if _num_in(v, 0, 1) else "must be a number of seconds 0-1 (0: not written)", "R3"),
    "keepalived_vrrp_garp_master_repeat": (
        lambda v: None if _int_in(v, 0, 255) else "must be an integer 0-255 (0: automatic)", "R4f"),
    "keepalived_config_dir": (lambda v: _path_error(v, word=True), "R3, R7: in the notify commands"),
    "keepalived_notify_log": (_plain_path_error, "R7"),
    "keepalived_state_dir": (_plain_path_error, "R7"),
}


def _check_settings(settings, errors):
    for name, (check, rule) in SETTING_RULES.items():
        if name in settings:
            reason = check(settings[name])
            if reason:
                errors.append(f"{name}={settings[name]!r}: {reason} ({rule})")
    emails = settings.get("keepalived_notification_emails", [])
    if not isinstance(emails, list):
        errors.append(f"keepalived_notification_emails={emails!r}: must be a list of e-mail addresses (R3)")
        emails = []
    for index, email in enumerate(emails):
        reason = _email_error(email)
        if reason:
            errors.append(f"keepalived_notification_emails[{index}]={email!r}: {reason} (R3 notification_email)")


def vrrp_garp_master_repeat(instances, configured=None):
    """R4f: with several VIPs, vrrp_garp_master_repeat 1 unless the user chose a value."""
    if configured:
        return configured
    if any(len(i.get("virtual_ipaddresses") or []) > 1 for i in instances or []):
        return 1
    return None


# Keepalived's config test quotes the words it does not understand, with their line: "(FILE: Line 14)
# Unknown keyword 'Xy'". A broken auth_pass line would put pieces of the secret in validate's stderr,
# which Ansible prints: the lines about an auth_pass line are dropped. The last argument is the file;
# '%%' because the template module fills the command's %s with Python's % operator.
_REDACT_SCRIPT = (
    'for f; do :; done; out=$("$@" 2>&1); rc=$?; '
    'hide=$(grep -n -e auth_pass -- "$f" | cut -d: -f1 | sed "s/.*/ Line &)/"); '
    'printf "%%s\\n" "$out" | grep -v -F -e "${hide:- Line 0)}" >&2; '
    '[ -z "$hide" ] || [ "$rc" = 0 ] || echo "(messages about the auth_pass line are not shown)" >&2; '
    'exit $rc'
)


def vrrp_validate_redacted(command):
    """``command`` (a validate command with %s for the file) run so that no message about an
    auth_pass line reaches its output (R3; the secret is never shown)."""
    if not isinstance(command, str) or command.count("%s") != 1:
        raise AnsibleFilterError(f"vrrp_validate_redacted: {command!r} must hold %s once (the file to check)")
    return f"/bin/sh -c {shlex.quote(_REDACT_SCRIPT)} vrrp-validate {command}"


class FilterModule:
    """VRRP planning filters shared by the keepalived and vrrp_agent roles."""

    def filters(self):
        return {
            "vrrp_instances": vrrp_instances,
            "vrrp_foreign_vrids": vrrp_foreign_vrids,
            "vrrp_tagged_vrids": vrrp_tagged_vrids,
            "vrrp_config_errors": vrrp_config_errors,
            "vrrp_vrid_errors": vrrp_vrid_errors,
            "vrrp_cluster_errors": vrrp_cluster_errors,
            "havip_cloud_errors": havip_cloud_errors,
            "vrrp_validate_redacted": vrrp_validate_redacted,
            "vrrp_garp_master_repeat": vrrp_garp_master_repeat,
        }
