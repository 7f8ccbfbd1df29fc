# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security groups: reading a group and its rules, and the VRRP rule the collection owns in it.

VRRP is IP protocol 112, which the API cannot name (Protocol is TCP, UDP, ICMP, ICMPv6, GRE or ALL),
so the rule that lets a peer's VRRP in is Protocol ALL, Action ACCEPT, CidrBlock the peer's /32.
The collection owns a rule by its PolicyDescription and never touches another.
"""

import ipaddress
import re

from ansible.module_utils.common.text.converters import to_text
from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import (
    NOT_FOUND_CODES,
    TencentCloudSDKException,
)

SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-z]{8}$")
MAX_POLICY_DESCRIPTION = 100  # PolicyDescription's documented limit
VRRP_PROTOCOL = "ALL"  # no value for IP protocol 112: ALL, limited to the peer's address
VRRP_ACTION = "ACCEPT"


def describe_security_group(module, sg_id):
    """The security group with that id, or None."""
    found = module.describe_all("DescribeSecurityGroups", {"SecurityGroupIds": [sg_id]}, "SecurityGroupSet",
                                empty_on=NOT_FOUND_CODES)
    return found[0] if found else None


def describe_policies(module, sg_id):
    """The group's SecurityGroupPolicySet (Version, Ingress, Egress), or None if the group is gone."""
    try:
        answer = module.call("DescribeSecurityGroupPolicies", {"SecurityGroupId": sg_id})
    except TencentCloudSDKException as exc:
        if exc.code in NOT_FOUND_CODES:
            return None
        module.fail_sdk(exc, "DescribeSecurityGroupPolicies")
    return answer.get("SecurityGroupPolicySet") or {}


def peer_cidr(value):
    """A peer as the rule's CidrBlock (a.b.c.d/32), from an IPv4 address or a /32; None if it is neither."""
    try:
        net = ipaddress.ip_network(to_text(value).strip(), strict=True)
    except ValueError:
        return None
    if net.version != 4 or net.prefixlen != 32:
        return None
    return str(net)


def listed_cidr(rule):
    """A listed rule's CidrBlock as a /32 when it names one address (the API may list it without /32)."""
    cidr = rule.get("CidrBlock") or ""
    try:
        return str(ipaddress.ip_network(cidr, strict=False))
    except ValueError:
        return cidr


def is_vrrp_rule(rule, cidr):
    """Whether a listed rule lets everything in from ``cidr``: the content of the VRRP rule."""
    return ((rule.get("Protocol") or "").upper() == VRRP_PROTOCOL and (rule.get("Action") or "").upper() == VRRP_ACTION
            and listed_cidr(rule) == cidr and not rule.get("Ipv6CidrBlock"))


def owned_rules(policy_set, description, direction="Ingress"):
    """The rules of one direction that carry ``description``: the only ones the module may change."""
    return [r for r in (policy_set or {}).get(direction) or [] if (r.get("PolicyDescription") or "") == description]


def vrrp_policy(cidr, description):
    """The rule to create for one peer."""
    return {"Protocol": VRRP_PROTOCOL, "CidrBlock": cidr, "Action": VRRP_ACTION, "PolicyDescription": description}


def content_match(rule):
    """A listed rule as a delete by content names it (Protocol, Port, CidrBlock, Action; Port only for
    TCP/UDP, as the API accepts it)."""
    match = {"Protocol": rule.get("Protocol"), "Action": rule.get("Action")}
    if rule.get("Ipv6CidrBlock"):
        match["Ipv6CidrBlock"] = rule["Ipv6CidrBlock"]
    else:
        match["CidrBlock"] = rule.get("CidrBlock")
    if (rule.get("Protocol") or "").upper() in ("TCP", "UDP"):
        match["Port"] = rule.get("Port")
    return match


def rule_to_dict(rule):
    """A listed rule as the modules return it (snake_case)."""
    return {
        "policy_index": rule.get("PolicyIndex"),
        "protocol": rule.get("Protocol"),
        "port": rule.get("Port") or "",
        "cidr_block": rule.get("CidrBlock") or rule.get("Ipv6CidrBlock") or "",
        "action": rule.get("Action"),
        "description": rule.get("PolicyDescription") or "",
    }
