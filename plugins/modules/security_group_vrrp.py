#!/usr/bin/python
# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: security_group_vrrp
short_description: Let VRRP in from a cluster's peers in a Tencent Cloud security group
version_added: 0.1.0
description:
  - Ensures the inbound rules of a security group that let the cluster's peers send VRRP (IP protocol 112)
    to the nodes. Without them both nodes become MASTER and both announce the HAVIP (split brain, R4g).
  - The security group API has no value for protocol 112 (C(Protocol) is C(TCP), C(UDP), C(ICMP), C(ICMPv6),
    C(GRE) or C(ALL)), so each peer gets one rule C(Protocol=ALL), C(Action=ACCEPT), C(CidrBlock=PEER/32).
  - The module owns the rules whose C(PolicyDescription) is O(description) and only those; every other rule
    of the group is left as it is, and its position too.
  - Changes are safe against concurrent edits. Each request carries the policy set's C(Version) read just
    before, so a group changed meanwhile is re-read and the plan made again. Rules are deleted by content
    (protocol, address, action), never by C(PolicyIndex), which shifts as rules come and go. New rules are
    added before stale ones are removed, so a peer change never leaves a moment without VRRP.
author:
  - havip.tencentcloud maintainers (@havip-tencentcloud)
extends_documentation_fragment:
  - havip.tencentcloud.tencentcloud
attributes:
  check_mode:
    support: full
    description: Reads the group and reports the rules it would add and remove.
  diff_mode:
    support: full
    description: Returns the module's own rules before and after.
options:
  state:
    description:
      - V(present) makes the module's rules exactly one per peer in O(peers) (adding the missing ones, then
        removing the others). V(absent) removes the module's rules of the peers in O(peers), or all of
        them when O(peers) is not given.
    type: str
    choices: [present, absent]
    default: present
  security_group_id:
    description:
      - The security group of the cluster's nodes (C(sg-xxxxxxxx)).
    type: str
    required: true
  peers:
    description:
      - The nodes' private IPv4 addresses (C(172.16.16.5) or C(172.16.16.5/32)); required with
        O(state=present). A node may be listed among its own peers (a shared group lets every node in
        from every other).
    type: list
    elements: str
  description:
    description:
      - The C(PolicyDescription) that marks the module's rules (1 to 100 characters). Give each cluster
        sharing a group its own description.
    type: str
    default: havip-vrrp
  position:
    description:
      - Where new rules go. V(first) puts them before every other inbound rule (C(PolicyIndex) 0), so that
        a C(DROP) rule of the group does not shadow them; V(last) appends them.
      - Rules that exist already are never moved.
    type: str
    choices: [first, last]
    default: first
  max_rounds:
    description:
      - How many times to re-read the group and plan again when another client changed it meanwhile
        (C(UnsupportedOperation.VersionMismatch)), 1 - 20.
    type: int
    default: 5
"""

EXAMPLES = r"""
- name: Let VRRP in between the two nodes (they share the group)
  havip.tencentcloud.security_group_vrrp:
    security_group_id: sg-33ocnj9n
    peers: [172.16.16.5, 172.16.16.6]
    region: ap-guangzhou

- name: Remove this cluster's VRRP rules
  havip.tencentcloud.security_group_vrrp:
    security_group_id: sg-33ocnj9n
    description: havip-vrrp
    state: absent
    region: ap-guangzhou
"""

RETURN = r"""
security_group_id:
  description: The security group.
  returned: always
  type: str
  sample: sg-33ocnj9n
version:
  description: The group's policy set C(Version) after the task (the one read, in check mode).
  returned: always
  type: str
  sample: "12"
rules:
  description: The module's own inbound rules after the task (planned ones in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    policy_index:
      description: The rule's position (changes as rules come and go); null for a planned rule.
      type: int
    protocol:
      description: Always C(ALL).
      type: str
    port:
      description: C(ALL).
      type: str
    cidr_block:
      description: The peer, C(a.b.c.d/32).
      type: str
    action:
      description: Always C(ACCEPT).
      type: str
    description:
      description: O(description).
      type: str
  sample:
    - {policy_index: 0, protocol: ALL, port: ALL, cidr_block: 172.16.16.6/32, action: ACCEPT, description: havip-vrrp}
added:
  description: The peers whose rule was added (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [172.16.16.6/32]
removed:
  description: The peers whose rule was removed (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: []
calls:
  description: Every change sent, in order, each with C(action), C(outcome) and C(request_id), as in
    RV(havip.tencentcloud.havip#module:calls). A C(UnsupportedOperation.VersionMismatch) outcome is a
    change by someone else, followed by a new plan.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.security_group import (  # noqa: E402 - after the docs, as Ansible requires
    MAX_POLICY_DESCRIPTION,
    SECURITY_GROUP_ID,
    content_match,
    describe_policies,
    describe_security_group,
    is_vrrp_rule,
    listed_cidr,
    owned_rules,
    peer_cidr,
    rule_to_dict,
    vrrp_policy,
)
from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import TencentCloudModule  # noqa: E402

VERSION_MISMATCH = "UnsupportedOperation.VersionMismatch"


def validate(module):
    """Every parameter checked before anything is read or changed; each message names the parameter."""
    p = module.params
    if not SECURITY_GROUP_ID.match(p["security_group_id"] or ""):
        module.fail_json(msg="security_group_id must look like sg-xxxxxxxx (8 of a-z, 0-9), "
                             f"got {p['security_group_id']!r}")
    if not p["description"] or len(p["description"]) > MAX_POLICY_DESCRIPTION:
        module.fail_json(msg=f"description must be 1 to {MAX_POLICY_DESCRIPTION} characters (the API's limit for "
                             f"PolicyDescription), got {len(p['description'] or '')}")
    if p["state"] == "present" and not p["peers"]:
        module.fail_json(msg="peers must list at least one node address with state=present (R4g: VRRP between "
                             "the cluster's nodes)")
    peers = []
    for index, value in enumerate(p["peers"] or []):
        cidr = peer_cidr(value)
        if cidr is None:
            module.fail_json(msg=f"peers[{index}] must be an IPv4 address or an IPv4 /32, got {value!r}")
        if cidr not in peers:
            peers.append(cidr)
    return peers


class Planner:
    """Reads the group and makes its own rules match the wanted peers, re-planning on a Version change."""

    def __init__(self, module, peers):
        self.module = module
        self.params = module.params
        self.sg_id = module.params["security_group_id"]
        self.description = module.params["description"]
        self.peers = peers
        self.added, self.removed = [], []

    def read(self):
        policy_set = describe_policies(self.module, self.sg_id)
        if policy_set is None:
            self.module.fail_json(msg=f"security_group_id {self.sg_id} does not exist")
        return policy_set

    def own(self, policy_set):
        return owned_rules(policy_set, self.description)

    def plan(self, policy_set):
        """(peers to add, own rules to remove)."""
        own = self.own(policy_set)
        if self.params["state"] == "present":
            keep = {}
            for rule in own:
                cidr = listed_cidr(rule)
                if cidr in self.peers and is_vrrp_rule(rule, cidr) and cidr not in keep:
                    keep[cidr] = rule
            add = [cidr for cidr in self.peers if cidr not in keep]
            remove = [rule for rule in own if all(rule is not kept for kept in keep.values())]
            return add, remove
        doomed = [rule for rule in own if not self.peers or listed_cidr(rule) in self.peers]
        return [], doomed

    def refuse_foreign_duplicates(self, policy_set, add):
        """A rule of the same content that the module does not own would make the create fail
        (UnsupportedOperation.DuplicatePolicy): say which, before changing anything."""
        for rule in (policy_set.get("Ingress") or []):
            if (rule.get("PolicyDescription") or "") == self.description:
                continue
            for cidr in add:
                if is_vrrp_rule(rule, cidr):
                    self.module.fail_json(
                        msg=f"peers: {cidr} is already let in by inbound rule {rule.get('PolicyIndex')} "
                            f"({rule.get('PolicyDescription') or 'no description'!s}) of {self.sg_id}, which this "
                            f"module does not own (description {self.description!r}): remove that rule, or give "
                            "its description")

    def create(self, policy_set, add):
        rules = [vrrp_policy(cidr, self.description) for cidr in add]
        if self.params["position"] == "first":
            for rule in rules:
                rule["PolicyIndex"] = 0
        request = {"SecurityGroupId": self.sg_id,
                   "SecurityGroupPolicySet": {"Version": policy_set.get("Version"), "Ingress": rules}}

        def reached():  # after a lost answer: every rule is there
            now = self.read()
            return all(any(is_vrrp_rule(r, cidr) for r in self.own(now)) for cidr in add)

        return self.send("CreateSecurityGroupPolicies", request, reached, {"added": add})

    def delete(self, policy_set, remove):
        cidrs = [listed_cidr(rule) for rule in remove]
        request = {"SecurityGroupId": self.sg_id,
                   "SecurityGroupPolicySet": {"Version": policy_set.get("Version"),
                                              "Ingress": [content_match(rule) for rule in remove]}}
        keys = [(rule.get("Protocol"), listed_cidr(rule), rule.get("Action")) for rule in remove]

        def reached():  # after a lost answer: none of those rules is left
            now = self.own(self.read())
            return not any((r.get("Protocol"), listed_cidr(r), r.get("Action")) in keys for r in now)

        return self.send("DeleteSecurityGroupPolicies", request, reached, {"removed": cidrs})

    def send(self, action, request, reached, report):
        """True when done; False when the group changed since it was read (plan again)."""
        _answer, exc = self.module.try_mutate(action, request, reached=reached,
                                              report=dict(report, security_group_id=self.sg_id))
        if exc is None:
            return True
        if exc.code == VERSION_MISMATCH:
            return False
        self.module.fail_sdk(exc, action, msg=f"cannot change the VRRP rules of {self.sg_id}")
        return False

    def run(self):
        """Returns (rules before, rules after, version after)."""
        policy_set = self.read()
        before = self.own(policy_set)
        add, remove = self.plan(policy_set)
        if add:
            self.refuse_foreign_duplicates(policy_set, add)
        if self.module.check_mode:
            self.added, self.removed = add, [listed_cidr(r) for r in remove]
            kept = [r for r in before if all(r is not gone for gone in remove)]
            planned = [dict(vrrp_policy(cidr, self.description), Port="ALL") for cidr in add]
            return before, (planned + kept if self.params["position"] == "first" else kept + planned), \
                policy_set.get("Version")
        conflicts = 0
        while add or remove:
            if add:
                self.refuse_foreign_duplicates(policy_set, add)
                done = self.create(policy_set, add)
                self.added.extend(add if done else [])
            else:
                done = self.delete(policy_set, remove)
                self.removed.extend(listed_cidr(r) for r in (remove if done else []))
            if not done:
                conflicts += 1
                if conflicts >= self.params["max_rounds"]:
                    self.module.fail_json(
                        msg=f"the rules of {self.sg_id} kept changing under this task (Version moved "
                            f"{conflicts} times): gave up after max_rounds={self.params['max_rounds']}",
                        added=self.added, removed=self.removed)
            # Added first, removed after (a peer change never drops VRRP); each step on a fresh read.
            policy_set = self.read()
            add, remove = self.plan(policy_set)
        return before, self.own(policy_set), policy_set.get("Version")


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        security_group_id=dict(type="str", required=True),
        peers=dict(type="list", elements="str"),
        description=dict(type="str", default="havip-vrrp"),
        position=dict(type="str", default="first", choices=["first", "last"]),
        max_rounds=dict(type="int", default=5),
    )
    module = TencentCloudModule(argument_spec=argument_spec, supports_check_mode=True)
    module.check_bounds({"max_rounds": (1, 20)})
    peers = validate(module)
    sg_id = module.params["security_group_id"]
    if describe_security_group(module, sg_id) is None:
        module.fail_json(msg=f"security_group_id {sg_id} does not exist")
    planner = Planner(module, peers)
    before, after, version = planner.run()
    changed = bool(planner.added or planner.removed)
    module.exit_json(changed=changed, security_group_id=sg_id, version=str(version or ""),
                     rules=[rule_to_dict(r) for r in after], added=planner.added, removed=planner.removed,
                     diff={"before": {"rules": [rule_to_dict(r) for r in before]},
                           "after": {"rules": [rule_to_dict(r) for r in after]}})


if __name__ == "__main__":
    main()
