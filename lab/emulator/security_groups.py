"""Security groups: their listing and their rules (policies), as Tencent's VPC API 2017-03-12 documents them.

- A group's rules are two ordered lists, Ingress and Egress; ``PolicyIndex`` is a rule's position and
  changes whenever a rule before it is added or removed.
- ``SecurityGroupPolicySet.Version`` (a string of digits) grows by one with every change. A request
  that carries a Version other than the current one is refused (``UnsupportedOperation.VersionMismatch``);
  without Version, conflicts are not checked (documented for Create and Delete).
- Protocol: TCP, UDP, ICMP, ICMPv6, GRE or ALL (any case in requests; listed upper case, ICMPv6 as the
  SDK spells it); ``Port`` only with TCP and UDP (a single port, a range "8000-8010", a list "80,443" or
  ALL). No IP protocol number (VRRP is 112): a rule for VRRP is Protocol ALL limited to the peer.
- Action ACCEPT or DROP; ``PolicyDescription`` at most 100 characters.
- One direction per request. Create appends (or inserts at ``PolicyIndex``; every rule of the request
  then carries the same index). Delete matches by ``PolicyIndex`` or by content (Protocol, Port,
  CidrBlock, Action), one way per request.
- The lab models rules with ``CidrBlock`` / ``Ipv6CidrBlock`` only: references to other security groups
  and address/service templates are refused with InvalidParameter.

Where the docs are silent the harsher reading is taken (each says so below).
"""

from __future__ import annotations

import ipaddress

from .params import (
    FILTER_CODES,
    ApiError,
    _check_id,
    _filters,
    _ids_xor_filters,
    _matches,
    _page,
    _string,
    _string_list,
)

SG_MUTATING = frozenset({"CreateSecurityGroupPolicies", "DeleteSecurityGroupPolicies"})
PROTOCOLS = {"TCP": "TCP", "UDP": "UDP", "ICMP": "ICMP", "ICMPV6": "ICMPv6", "GRE": "GRE", "ALL": "ALL"}
PORT_PROTOCOLS = frozenset({"TCP", "UDP"})
ACTIONS = frozenset({"ACCEPT", "DROP"})
MAX_POLICY_DESCRIPTION = 100
MAX_GROUP_IDS = 100  # DescribeSecurityGroups: "每次请求的实例的上限为100"
DIRECTIONS = ("Ingress", "Egress")
GROUP_FILTERS = frozenset({"security-group-id", "security-group-name", "project-id", "tag-key"})
POLICY_FILTERS = frozenset({"ip", "protocol", "port", "poly", "direction", "description"})
UNMODELLED = ("SecurityGroupId", "AddressTemplate", "ServiceTemplate")


# --- one rule -------------------------------------------------------------------------------------
def _protocol(value) -> str:
    if not isinstance(value, str) or value.upper() not in PROTOCOLS:
        raise ApiError("InvalidParameterValue.Range",
                       f"`Protocol` must be one of {', '.join(PROTOCOLS.values())}, not `{value}`.")
    return PROTOCOLS[value.upper()]


def _port(value, protocol: str) -> str:
    """The rule's Port as listed: given only with TCP/UDP (documented); ALL when absent."""
    if value is None or value == "":
        return "ALL"
    if protocol not in PORT_PROTOCOLS:
        # "Port ... only when Protocol is TCP or UDP" (also refused as "ALL": the harsher reading).
        raise ApiError("InvalidParameter.Coexist", f"`Port` is only allowed with TCP or UDP, not with {protocol}.")
    if not isinstance(value, str):
        raise ApiError("InvalidParameterValue.Malformed", "`Port` must be a string.")
    if value.upper() == "ALL":
        return "ALL"
    parts = value.split(",") if "," in value else [value]
    for part in parts:
        bounds = part.split("-")
        if len(bounds) > 2 or not all(b.isdigit() and 1 <= int(b) <= 65535 for b in bounds) or (
                len(bounds) == 2 and int(bounds[0]) > int(bounds[1])):
            raise ApiError("InvalidParameterValue.Malformed", f"`Port` `{value}` is not a port, range or list.")
    return value


def _cidr(value, field: str, version: int) -> str:
    """A network or a single address; "0.0.0.0/n" becomes 0.0.0.0/0 (documented)."""
    if not isinstance(value, str):
        raise ApiError("InvalidParameterValue.Malformed", f"`{field}` must be a string.")
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ApiError("InvalidParameterValue.Malformed", f"`{field}` `{value}` is not a CIDR block.") from None
    if net.version != version:
        raise ApiError("InvalidParameterValue.Malformed", f"`{field}` `{value}` is not an IPv{version} CIDR block.")
    if version == 4 and int(net.network_address) == 0:
        return "0.0.0.0/0"
    # Listed as given when it is a single address (no /32), as the console shows it.
    return value if "/" not in value else str(net)


def _description(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError("InvalidParameterValue.Malformed", "`PolicyDescription` must be a string.")
    if len(value) > MAX_POLICY_DESCRIPTION:
        raise ApiError("InvalidParameterValue.TooLong",
                       f"`PolicyDescription` is longer than {MAX_POLICY_DESCRIPTION} characters.")
    return value


def parse_policy(item, content_only: bool = False) -> dict:
    """A rule of a request, checked and normalised (``content_only``: the fields a delete by content
    matches on). Raises ApiError with the action's documented code."""
    if not isinstance(item, dict):
        raise ApiError("InvalidParameter", "Each rule must be an object.")
    for field in UNMODELLED:
        if item.get(field) not in (None, "", {}):
            raise ApiError("InvalidParameter", f"`{field}` rules are not modelled by the lab's emulator.")
    if item.get("Protocol") in (None, ""):
        raise ApiError("MissingParameter", "The rule is missing `Protocol`.")
    protocol = _protocol(item["Protocol"])
    port = _port(item.get("Port"), protocol)
    cidr, cidr6 = item.get("CidrBlock") or "", item.get("Ipv6CidrBlock") or ""
    if cidr and cidr6:
        raise ApiError("InvalidParameter.Coexist", "`CidrBlock` and `Ipv6CidrBlock` cannot be given together.")
    if not cidr and not cidr6:
        raise ApiError("MissingParameter", "The rule needs `CidrBlock` or `Ipv6CidrBlock`.")
    cidr = _cidr(cidr, "CidrBlock", 4) if cidr else ""
    cidr6 = _cidr(cidr6, "Ipv6CidrBlock", 6) if cidr6 else ""
    if cidr6 and protocol == "ICMP":
        raise ApiError("InvalidParameter.Coexist", "`Ipv6CidrBlock` and ICMP are exclusive: use ICMPv6.")
    action = item.get("Action")
    if action in (None, ""):
        raise ApiError("MissingParameter", "The rule is missing `Action`.")
    if not isinstance(action, str) or action.upper() not in ACTIONS:
        raise ApiError("InvalidParameterValue.Range", f"`Action` must be ACCEPT or DROP, not `{action}`.")
    policy = {"Protocol": protocol, "Port": port, "CidrBlock": cidr, "Ipv6CidrBlock": cidr6,
              "Action": action.upper()}
    if not content_only:
        # SecurityGroupId of a listed rule names a source group (exclusive with CidrBlock): "" here.
        policy.update(SecurityGroupId="", PolicyDescription=_description(item.get("PolicyDescription")))
    return policy


def content(policy: dict) -> tuple:
    """What a delete by content matches, and what makes two rules duplicates."""
    return (policy["Protocol"], policy["Port"], policy["CidrBlock"], policy["Ipv6CidrBlock"], policy["Action"])


def world_policies(items: list, modified: str) -> list[dict]:
    """A world file's rules (plain ValueError: the world is wrong, not a request)."""
    try:
        return [dict(parse_policy(item), ModifyTime=modified) for item in items]
    except ApiError as exc:
        raise ValueError(exc.message) from None


def _index(value, name: str) -> int:
    """A PolicyIndex: an integer (the SDK's type) or a string of digits (the docs' examples)."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError("InvalidParameterValue.Malformed", f"`{name}` must be a non-negative integer.")
    return value


class SecurityGroupActions:
    """The security-group actions of the emulated VPC (mixed into actions.Vpc: ``self.store``,
    ``self.timestamp()``, ``self.quota()``; the quota ``policies_per_direction``: rules per direction)."""

    # --- reading ------------------------------------------------------------------------------
    def _group_row(self, sg_id: str) -> dict:
        row = self.store.row("SELECT * FROM security_groups WHERE sg_id = ?", (sg_id,))
        if row is None:
            raise ApiError("ResourceNotFound", f"The security group `{sg_id}` (SecurityGroupId) does not exist.")
        return row

    def _group_view(self, row: dict) -> dict:
        return {"SecurityGroupId": row["sg_id"], "SecurityGroupName": row["name"],
                "SecurityGroupDesc": row["description"], "ProjectId": row["project_id"], "IsDefault": False,
                "CreatedTime": row["created"], "UpdateTime": row["updated"], "TagSet": []}

    def _policy_set(self, row: dict) -> dict:
        ingress, egress = self.store.loads(row["ingress"]), self.store.loads(row["egress"])

        def listed(policies):
            return [dict(p, PolicyIndex=i, ServiceTemplate={"ServiceId": "", "ServiceGroupId": ""},
                         AddressTemplate={"AddressId": "", "AddressGroupId": ""}) for i, p in enumerate(policies)]

        return {"Version": str(row["version"]), "Ingress": listed(ingress), "Egress": listed(egress),
                "PolicyStatistics": {"IngressPolicyTotalCount": len(ingress), "EgressPolicyTotalCount": len(egress),
                                     "TotalCount": len(ingress) + len(egress)}}

    def action_DescribeSecurityGroups(self, p: dict) -> dict:
        ids = _string_list(p, "SecurityGroupIds")
        if ids is not None and len(ids) > MAX_GROUP_IDS:
            raise ApiError("InvalidParameterValue.LimitExceeded", f"At most {MAX_GROUP_IDS} `SecurityGroupIds`.")
        for index, sg_id in enumerate(ids or []):
            _check_id(f"SecurityGroupIds.{index}", sg_id, "sg")
        _ids_xor_filters(p, "SecurityGroupIds")
        filters = _filters(p, set(GROUP_FILTERS), FILTER_CODES["vpc"])
        rows = self.store.rows("SELECT * FROM security_groups ORDER BY seq")
        if ids:
            missing = sorted(set(ids) - {r["sg_id"] for r in rows})
            if missing:  # the docs are silent on unknown ids: the harsher reading, as DescribeHaVips does
                raise ApiError("ResourceNotFound", f"The security group `{missing[0]}` does not exist.")
            rows = [r for r in rows if r["sg_id"] in ids]
        views = [v for v in (self._group_view(r) for r in rows) if _matches(filters, {
            "security-group-id": v["SecurityGroupId"], "security-group-name": v["SecurityGroupName"],
            "project-id": v["ProjectId"], "tag-key": []})]
        # Offset and Limit are strings in this action's SDK model ("type: str"); integers are accepted too.
        page = {k: _number(p, k) for k in ("Offset", "Limit") if p.get(k) is not None}
        total, listed = _page(page, views)
        return {"TotalCount": total, "SecurityGroupSet": listed}

    def action_DescribeSecurityGroupPolicies(self, p: dict) -> dict:
        sg_id = _string(p, "SecurityGroupId", required=True)
        _check_id("SecurityGroupId", sg_id, "sg")
        filters = _filters(p, set(POLICY_FILTERS), FILTER_CODES["vpc"])
        row = self._group_row(sg_id)
        policy_set = self._policy_set(row)
        if filters:
            wanted = dict(filters)
            for direction in DIRECTIONS:
                if "direction" in wanted and direction.upper() not in [v.upper() for v in wanted["direction"]]:
                    policy_set[direction] = []
                    continue
                policy_set[direction] = [q for q in policy_set[direction] if _matches(
                    [(n, v) for n, v in filters if n != "direction"],
                    {"ip": q["CidrBlock"] or q["Ipv6CidrBlock"], "protocol": q["Protocol"], "port": q["Port"],
                     "poly": q["Action"], "description": q["PolicyDescription"]})]
        return {"SecurityGroupPolicySet": policy_set}

    # --- changing -----------------------------------------------------------------------------
    def _policy_request(self, p: dict) -> tuple[dict, str, list]:
        """The group, the one direction and its rules of a Create/Delete request; the Version checked."""
        sg_id = _string(p, "SecurityGroupId", required=True)
        _check_id("SecurityGroupId", sg_id, "sg")
        policy_set = p.get("SecurityGroupPolicySet")
        if policy_set is None:
            raise ApiError("MissingParameter", "The request is missing a required parameter `SecurityGroupPolicySet`.")
        if not isinstance(policy_set, dict):
            raise ApiError("InvalidParameterValue.Malformed", "`SecurityGroupPolicySet` must be an object.")
        given = [d for d in DIRECTIONS if policy_set.get(d)]
        if len(given) > 1:
            raise ApiError("InvalidParameter.Coexist", "One request changes rules of one direction only.")
        if not given:
            raise ApiError("InvalidParameterValue.Empty", "`SecurityGroupPolicySet` holds no Ingress or Egress rule.")
        rules = policy_set[given[0]]
        if not isinstance(rules, list):
            raise ApiError("InvalidParameterValue.Malformed", f"`{given[0]}` must be a list of rules.")
        row = self._group_row(sg_id)
        version = policy_set.get("Version")
        if version not in (None, ""):
            if not isinstance(version, (str, int)) or isinstance(version, bool) or not str(version).isdigit():
                raise ApiError("InvalidParameterValue.Malformed", "`Version` must be a string of digits.")
            if int(version) != row["version"]:
                raise ApiError("UnsupportedOperation.VersionMismatch",
                               f"`Version` {version} is not the security group's current version {row['version']}.")
        return row, given[0], rules

    def _save(self, row: dict, direction: str, policies: list[dict]) -> None:
        self.store.execute(f"UPDATE security_groups SET {direction.lower()} = ?, version = version + 1, "  # noqa: S608
                           "updated = ? WHERE sg_id = ?",
                           (self.store.dumps(policies), self.timestamp(), row["sg_id"]))

    def action_CreateSecurityGroupPolicies(self, p: dict) -> dict:
        row, direction, rules = self._policy_request(p)
        current = self.store.loads(row[direction.lower()])
        indexes = {_index(r["PolicyIndex"], f"{direction}.PolicyIndex") for r in rules
                   if isinstance(r, dict) and r.get("PolicyIndex") not in (None, "")}
        if len(indexes) > 1:
            raise ApiError("InvalidParameter", "Every rule of one request must carry the same `PolicyIndex`.")
        position = indexes.pop() if indexes else len(current)
        if position > len(current):
            raise ApiError("InvalidParameterValue.Range",
                           f"`PolicyIndex` {position} is beyond the {len(current)} {direction} rules.")
        new = [dict(parse_policy(r), ModifyTime=self.timestamp()) for r in rules]
        seen = {content(q) for q in current}
        for policy in new:
            # Documented code; whether Tencent refuses an identical rule is not said: the harsher reading.
            if content(policy) in seen:
                raise ApiError("UnsupportedOperation.DuplicatePolicy",
                               f"A {direction} rule {policy['Protocol']} {policy['Port']} "
                               f"{policy['CidrBlock'] or policy['Ipv6CidrBlock']} {policy['Action']} exists already.")
            seen.add(content(policy))
        quota = self.quota("policies_per_direction")
        if len(current) + len(new) > quota:
            raise ApiError("LimitExceeded.SecurityGroupPolicySet",
                           f"A security group holds at most {quota} {direction} rules.")
        self._save(row, direction, current[:position] + new + current[position:])
        return {}

    def action_DeleteSecurityGroupPolicies(self, p: dict) -> dict:
        row, direction, rules = self._policy_request(p)
        current = self.store.loads(row[direction.lower()])
        by_index = [isinstance(r, dict) and r.get("PolicyIndex") not in (None, "") for r in rules]
        if any(by_index) and not all(by_index):
            raise ApiError("InvalidParameter.Coexist", "Delete by `PolicyIndex` or by rule, not both in one request.")
        if all(by_index):
            doomed = {_index(r["PolicyIndex"], f"{direction}.PolicyIndex") for r in rules}
            if max(doomed) >= len(current):
                raise ApiError("InvalidParameterValue.Range",
                               f"`PolicyIndex` {max(doomed)} is beyond the {len(current)} {direction} rules.")
        else:
            wanted = [content(parse_policy(r, content_only=True)) for r in rules]
            doomed = set()
            for key in wanted:
                found = [i for i, q in enumerate(current) if content(q) == key]
                if not found:  # the docs are silent on a rule that does not exist: the harsher reading
                    raise ApiError("ResourceNotFound", f"No {direction} rule {' '.join(k for k in key if k)} exists.")
                doomed.update(found)
        self._save(row, direction, [q for i, q in enumerate(current) if i not in doomed])
        return {}


def _number(p: dict, name: str) -> int:
    value = p[name]
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("InvalidParameterValue.Malformed", f"`{name}` must be a number.")
    return value
