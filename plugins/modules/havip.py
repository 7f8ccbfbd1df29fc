#!/usr/bin/python
# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: havip
short_description: Create, rename, scope and delete a Tencent Cloud HAVIP
version_added: 0.1.0
description:
  - Ensures a high-availability virtual IP (HAVIP) of a Tencent Cloud VPC exists, or not (guide step R1).
  - The HAVIP is found by O(id), else by O(name) within O(vpc_id); the module fails when several HAVIPs
    of the VPC carry that name.
  - A new HAVIP is created with a C(ClientToken) of this invocation, reused only by the retries of that
    call, so a lost answer never makes two HAVIPs; a re-run finds the HAVIP by name.
  - Two runs of the same task at once may both find nothing and both create. With O(address) given,
    the second create meets C(ResourceInUse); when the HAVIP holding the address has this name, VPC and
    subnet, that run adopts it (not changed) instead of failing. Without O(address) nothing prevents
    two HAVIPs of the same name, so do not run such a create in parallel (the next run then fails
    naming both).
  - C(DeleteHaVip) is asynchronous; the module polls C(DescribeVpcTaskResult) and waits until the HAVIP
    is gone.
  - In check mode a HAVIP to be created gets the placeholder id C(planned-havip-NAME) (and, without
    O(address), the address C(planned-vip-NAME)), which M(havip.tencentcloud.havip_eip) in check mode
    accepts as planned.
  - A given O(address) is checked against the subnet's CIDR before anything is created (R1).
  - Which node holds the HAVIP is not set here; the VPC learns it from the gratuitous ARP of the VRRP
    master (R4c, R5). O(associated_instances) only limits where it may float.
author:
  - havip.tencentcloud maintainers (@havip-tencentcloud)
extends_documentation_fragment:
  - havip.tencentcloud.tencentcloud
attributes:
  check_mode:
    support: full
    description: Stops right before each call that would change something and reports what it would do.
  diff_mode:
    support: full
    description: Returns the HAVIP before and after.
options:
  state:
    description:
      - V(present) ensures the HAVIP exists with the given name and drift range; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  id:
    description:
      - The HAVIP id (C(havip-xxxxxxxx)). When given, the HAVIP is found by id and O(name) renames it.
    type: str
  name:
    description:
      - The HAVIP name (C(HaVipName), at most 60 characters). Required to create a HAVIP, and to find
        one without O(id).
    type: str
  vpc_id:
    description:
      - The VPC of the HAVIP. Required to create a HAVIP, and to find one by O(name).
    type: str
  subnet_id:
    description:
      - The subnet of the HAVIP (a HAVIP is subnet-scoped, R1). Required to create a HAVIP unless
        O(network_interface_id) is given.
    type: str
  network_interface_id:
    description:
      - Create the HAVIP in the subnet of this ENI (instead of O(subnet_id)).
    type: str
  address:
    description:
      - The virtual IP address. When omitted the VPC assigns a free one.
      - Must lie inside the subnet's CIDR and not be reserved (the network, gateway and broadcast
        addresses; for C(10.0.0.0/24) only C(10.0.0.2) - C(10.0.0.254) are allowed, R1).
      - An existing HAVIP with another address is an error (an address cannot be changed).
    type: str
  check_associate:
    description:
      - Whether the VPC checks the drift range when the HAVIP moves (C(CheckAssociate)). Set on creation;
        a different value on an existing HAVIP is an error (the API cannot change it).
    type: bool
  associated_instances:
    description:
      - The drift range, the CVM instances (C(ins-...)) or ENIs (C(eni-...)) the HAVIP may float to
        (at most 10). The module associates and disassociates instances to reach exactly this set.
      - Every instance must exist and have a network interface in the HAVIP's subnet (R1); this is
        checked before any change. New instances are added before old ones are removed, so a failure
        never leaves a node out of the range.
      - When omitted, the drift range is left as it is.
    type: list
    elements: str
  tags:
    description:
      - Tags set when the HAVIP is created. Tags of an existing HAVIP are not changed (Tencent Cloud
        manages them through its tag service); a difference is an error naming this option.
    type: dict
  wait_timeout:
    description:
      - How long to wait for each asynchronous task and end state, in seconds (1 - 3600).
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: The HAVIP of the guide's example (R1)
  havip.tencentcloud.havip:
    name: havip-guide
    vpc_id: vpc-6v2ht8q5
    subnet_id: subnet-qq51iwr4
    address: 172.16.16.12
    associated_instances: [ins-1234abcd, ins-5678efgh]
    region: ap-guangzhou
  register: havip

- name: Rename it, found by id
  havip.tencentcloud.havip:
    id: "{{ havip.havip.id }}"
    name: havip-web
    region: ap-guangzhou

- name: Delete it
  havip.tencentcloud.havip:
    name: havip-web
    vpc_id: vpc-6v2ht8q5
    state: absent
    region: ap-guangzhou
"""

RETURN = r"""
havip:
  description: The HAVIP after the task (before it, for O(state=absent)); empty when there is none.
  returned: always
  type: dict
  contains:
    id:
      description: The HAVIP id.
      type: str
      sample: havip-9o233uri
    name:
      description: The HAVIP name.
      type: str
      sample: havip-guide
    vip:
      description: The virtual IP address.
      type: str
      sample: 172.16.16.12
    vpc_id:
      description: The VPC.
      type: str
      sample: vpc-6v2ht8q5
    subnet_id:
      description: The subnet.
      type: str
      sample: subnet-qq51iwr4
    state:
      description: C(AVAILABLE) when bound to an instance, C(UNBIND) otherwise.
      type: str
      sample: AVAILABLE
    instance_id:
      description: The CVM that holds the HAVIP now (learnt from its gratuitous ARP), or empty.
      type: str
      sample: ins-1234abcd
    network_interface_id:
      description: The ENI that holds the HAVIP now, or empty.
      type: str
      sample: eni-ph0075l1
    address_ip:
      description: The EIP bound to the HAVIP, or empty.
      type: str
      sample: 198.51.100.10
    created_time:
      description: Creation time.
      type: str
      sample: "2026-01-01 10:00:00"
    flushed_time:
      description: When the HAVIP last moved (C(0000-00-00 00:00:00) if never).
      type: str
      sample: "2026-01-01 10:05:00"
    check_associate:
      description: Whether the drift range is checked.
      type: bool
      sample: false
    associated_instances:
      description: The drift range.
      type: list
      elements: str
      sample: [ins-1234abcd, ins-5678efgh]
    tags:
      description: Tags.
      type: dict
      sample: {app: web}
calls:
  description: Every change the module sent, in order, with its outcome (V(OK), V(goal already reached) when
    a lost answer's change was found applied, or the error code).
  returned: always
  type: list
  elements: dict
  sample: [{action: DeleteHaVip, havip_id: havip-9o233uri, outcome: OK, request_id: 8d6a5f5e-1111-2222-3333}]
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.havip import (  # noqa: E402 - after the docs, as Ansible requires
    MAX_DRIFT_RANGE,
    association_type,
    check_address_in_subnet,
    describe_havip,
    drift_range,
    find_havip_by_name,
    havip_to_dict,
    instance_subnets,
    wait_havip_gone,
)
from ansible_collections.havip.tencentcloud.plugins.module_utils.tasks import wait_vpc_task  # noqa: E402
from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import (  # noqa: E402
    PLANNED,
    TencentCloudModule,
    api_tags,
    is_planned,
    new_client_token,
    snake_tags,
    wanted_tags,
)


class HavipManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.changed = False

    def find(self):
        p = self.params
        if p["id"]:
            if is_planned(p["id"]):
                self.module.fail_json(msg=f"id {p['id']!r} is a placeholder of a check-mode run, not a HAVIP")
            return describe_havip(self.module, p["id"])
        if not p["name"] or not p["vpc_id"]:
            self.module.fail_json(msg="give id, or name together with vpc_id, to find the HAVIP")
        return find_havip_by_name(self.module, p["name"], p["vpc_id"])

    # --- validating -------------------------------------------------------------------------------
    def subnet_of_create(self):
        p = self.params
        if p["subnet_id"]:
            subnets = self.module.call_or_fail("DescribeSubnets", {"SubnetIds": [p["subnet_id"]]}).get("SubnetSet")
            if not subnets or subnets[0].get("VpcId") != p["vpc_id"]:
                self.module.fail_json(msg=f"subnet_id {p['subnet_id']} is not a subnet of vpc_id {p['vpc_id']}")
            return subnets[0]
        eni_id = p["network_interface_id"]
        enis = self.module.call_or_fail("DescribeNetworkInterfaces",
                                        {"NetworkInterfaceIds": [eni_id]}).get("NetworkInterfaceSet")
        if not enis or enis[0].get("VpcId") != p["vpc_id"]:
            self.module.fail_json(msg=f"network_interface_id {eni_id} is not an ENI of vpc_id {p['vpc_id']}")
        subnets = self.module.call_or_fail("DescribeSubnets", {"SubnetIds": [enis[0]["SubnetId"]]}).get("SubnetSet")
        return subnets[0]

    def validate_create(self):
        """Everything a create needs, checked before any change (R1: the address against the subnet)."""
        p = self.params
        missing = [n for n in ("name", "vpc_id") if not p[n]]
        if not p["subnet_id"] and not p["network_interface_id"]:
            missing.append("subnet_id (or network_interface_id)")
        if missing:
            self.module.fail_json(msg=f"to create a HAVIP, give {', '.join(missing)}")
        subnet = self.subnet_of_create()
        problem = check_address_in_subnet(p["address"], subnet["CidrBlock"]) if p["address"] else None
        if problem:
            self.module.fail_json(msg=f"address {p['address']} cannot be used in subnet {subnet['SubnetId']}: "
                                      f"{problem}")
        if p["associated_instances"]:
            self.validate_drift_range(subnet["SubnetId"])
        return subnet

    def validate_drift_range(self, subnet_id, current=()):
        """R1: every instance of associated_instances exists and has an ENI in the HAVIP's subnet,
        checked before any change (those already in the drift range passed this check when added:
        an unchanged range costs no call)."""
        wanted = list(dict.fromkeys(self.params["associated_instances"]))
        for instance_id in wanted:
            if association_type(instance_id) is None:
                self.module.fail_json(msg=f"associated_instances: {instance_id!r} is neither a CVM (ins-...) "
                                          "nor an ENI (eni-...)")
        if len(wanted) > MAX_DRIFT_RANGE:
            self.module.fail_json(msg=f"associated_instances: {len(wanted)} instances, a drift range holds at most "
                                      f"{MAX_DRIFT_RANGE}")
        new = [i for i in wanted if i not in current]
        if not new:
            return wanted
        subnets = instance_subnets(self.module, new)
        unknown = [i for i in new if i not in subnets]
        if unknown:
            self.module.fail_json(msg=f"associated_instances: {', '.join(unknown)} not found (no network interface "
                                      "in this region); nothing was changed (R1)")
        elsewhere = [i for i in new if subnet_id not in subnets[i]]
        if elsewhere:
            self.module.fail_json(msg="associated_instances: {} not in the HAVIP's subnet {} (in {}); a HAVIP "
                                      "floats only within its subnet, nothing was changed (R1)".format(
                                          ", ".join(elsewhere), subnet_id,
                                          ", ".join(sorted(s for i in elsewhere for s in subnets[i]))))
        return wanted

    # --- creating -------------------------------------------------------------------------------
    def create(self):
        p = self.params
        subnet = self.validate_create()
        request = {"VpcId": p["vpc_id"], "HaVipName": p["name"], "SubnetId": subnet["SubnetId"]}
        if p["network_interface_id"]:
            request["NetworkInterfaceId"] = p["network_interface_id"]
        if p["address"]:
            request["Vip"] = p["address"]
        if p["check_associate"] is not None:
            request["CheckAssociate"] = p["check_associate"]
        if p["tags"]:
            request["Tags"] = api_tags(p["tags"])
        if p["associated_instances"]:
            request["HaVipAssociationSet"] = [{"InstanceId": i, "InstanceType": association_type(i)}
                                              for i in dict.fromkeys(p["associated_instances"])]
        self.changed = True
        if self.module.check_mode:
            # Placeholders the next module accepts as planned in check mode (never looked up).
            return {
                "HaVipId": PLANNED + "havip-" + p["name"], "HaVipName": p["name"],
                "Vip": p["address"] or PLANNED + "vip-" + p["name"],
                "VpcId": p["vpc_id"], "SubnetId": subnet["SubnetId"], "State": "UNBIND",
                "CheckAssociate": bool(p["check_associate"]), "TagSet": request.get("Tags", []),
                "HaVipAssociationSet": [{"InstanceId": i} for i in p["associated_instances"] or []],
            }
        # One token for this invocation, reused only by the retries of this call: a lost answer
        # never makes two HAVIPs, and the next run finds the HAVIP by name.
        request["ClientToken"] = new_client_token()
        answer, exc = self.module.try_mutate("CreateHaVip", request, report={"name": p["name"]})
        if exc is not None:
            meanwhile = self.created_meanwhile(exc, subnet["SubnetId"])
            if meanwhile is None:
                self.module.fail_sdk(exc, "CreateHaVip",
                                     msg=f"cannot create HAVIP {p['name']!r} in {subnet['SubnetId']}")
            self.changed = False
            self.module.calls[-1].update(outcome="created meanwhile by another run", havip_id=meanwhile["HaVipId"])
            return self.update(meanwhile)
        created = answer["HaVip"]
        self.module.calls[-1]["havip_id"] = created["HaVipId"]
        return self.module.wait_until(lambda: describe_havip(self.module, created["HaVipId"]),
                                      p["wait_timeout"], f"HAVIP {created['HaVipId']} to be listed")

    def created_meanwhile(self, exc, subnet_id):
        """The HAVIP asked for, made by another run between our look-up and our create (two
        invocations of the same task at once): the address is taken (ResourceInUse) by a HAVIP of
        this name, VPC, subnet and address. Anything else is a real refusal."""
        p = self.params
        if getattr(exc, "code", None) != "ResourceInUse" or not p["address"]:
            return None
        found = find_havip_by_name(self.module, p["name"], p["vpc_id"])
        if found and found.get("SubnetId") == subnet_id and found.get("Vip") == p["address"]:
            return found
        return None

    # --- updating -------------------------------------------------------------------------------
    def refuse_unchangeable(self, havip):
        """What the VPC API cannot change on an existing HAVIP, refused before any change."""
        p = self.params
        for option, key in (("vpc_id", "VpcId"), ("subnet_id", "SubnetId"), ("address", "Vip")):
            if p[option] and p[option] != havip.get(key):
                self.module.fail_json(msg=f"{option}: HAVIP {havip['HaVipId']} has {havip.get(key)}, not {p[option]}; "
                                          "it cannot be changed (delete and re-create the HAVIP)")
        if p["check_associate"] is not None and p["check_associate"] != bool(havip.get("CheckAssociate")):
            self.module.fail_json(msg=f"check_associate: HAVIP {havip['HaVipId']} has "
                                      f"{bool(havip.get('CheckAssociate'))}, not {p['check_associate']}; "
                                      "ModifyHaVipAttribute cannot change it (delete and re-create the HAVIP)")
        if p["tags"] is not None and wanted_tags(p["tags"]) != snake_tags(havip.get("TagSet")):
            self.module.fail_json(msg="tags: HAVIP {} has {}, not {}; this module sets tags on creation only "
                                      "(changing them goes through Tencent Cloud's tag service)".format(
                                          havip["HaVipId"], snake_tags(havip.get("TagSet")), wanted_tags(p["tags"])))

    def update(self, havip):
        p = self.params
        havip_id = havip["HaVipId"]
        self.refuse_unchangeable(havip)
        wanted = (self.validate_drift_range(havip["SubnetId"], drift_range(havip))
                  if p["associated_instances"] is not None else None)
        if p["name"] and p["name"] != havip["HaVipName"]:
            self.changed = True
            if not self.module.check_mode:
                self.module.mutate("ModifyHaVipAttribute", {"HaVipId": havip_id, "HaVipName": p["name"]},
                                   reached=lambda: (describe_havip(self.module, havip_id) or {}).get(
                                       "HaVipName") == p["name"],
                                   report={"havip_id": havip_id, "name": p["name"]},
                                   busy_codes=("UnsupportedOperation",))
            havip = dict(havip, HaVipName=p["name"])
        if wanted is not None:
            havip = self.update_drift_range(havip, wanted)
        return havip

    def update_drift_range(self, havip, wanted):
        """Add before remove, so that a failure never leaves a node out of the range (unless the
        range would exceed its limit in between: then remove first)."""
        havip_id = havip["HaVipId"]
        current = drift_range(havip)
        to_add = [i for i in wanted if i not in current]
        to_remove = [i for i in current if i not in wanted]
        steps = [("AssociateHaVipInstance", to_add), ("DisassociateHaVipInstance", to_remove)]
        if len(current) + len(to_add) > MAX_DRIFT_RANGE:
            steps.reverse()
        for action, ids in steps:
            if not ids:
                continue
            self.changed = True
            if self.module.check_mode:
                continue
            adding = action == "AssociateHaVipInstance"

            def reached(ids=ids, adding=adding):
                now = drift_range(describe_havip(self.module, havip_id))
                return all((i in now) == adding for i in ids)

            items = [{"HaVipId": havip_id, "InstanceId": i, "InstanceType": association_type(i)} for i in ids]
            self.module.mutate(action, {"HaVipAssociationSet": items}, reached=reached,
                               report={"havip_id": havip_id, "instances": ids})
        kept = [a for a in havip.get("HaVipAssociationSet") or [] if a["InstanceId"] in wanted]
        return dict(havip, HaVipAssociationSet=kept + [{"InstanceId": i} for i in to_add])

    # --- states ------------------------------------------------------------------------------------
    def present(self):
        before = self.find()
        if before is None and self.params["id"]:
            self.module.fail_json(msg="HAVIP {} does not exist; to create one, give name, vpc_id and subnet_id "
                                      "without id".format(self.params["id"]))
        after = self.create() if before is None else self.update(before)
        if self.changed and not self.module.check_mode and before is not None:
            after = describe_havip(self.module, after["HaVipId"]) or after
        return before, after

    def absent(self):
        before = self.find()
        if before is None:
            return None, None
        havip_id = before["HaVipId"]
        if before.get("AddressIp"):
            self.module.fail_json(msg=f"HAVIP {havip_id} carries the EIP {before['AddressIp']}: "
                                      "unbind it first (havip_eip state=absent, R6)")
        self.changed = True
        if not self.module.check_mode:
            # Asynchronous: the HAVIP stays listed until the task (polled by RequestId) ends.
            answer = self.module.mutate("DeleteHaVip", {"HaVipId": havip_id},
                                        reached=lambda: describe_havip(self.module, havip_id) is None,
                                        report={"havip_id": havip_id}, busy_codes=("UnsupportedOperation",))
            wait_vpc_task(self.module, answer, self.params["wait_timeout"], "DeleteHaVip")
            wait_havip_gone(self.module, havip_id, self.params["wait_timeout"])
        return before, None


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        id=dict(type="str"),
        name=dict(type="str"),
        vpc_id=dict(type="str"),
        subnet_id=dict(type="str"),
        network_interface_id=dict(type="str"),
        address=dict(type="str"),
        check_associate=dict(type="bool"),
        associated_instances=dict(type="list", elements="str"),
        tags=dict(type="dict"),
        wait_timeout=dict(type="int", default=300),
    )
    module = TencentCloudModule(argument_spec=argument_spec, supports_check_mode=True,
                                required_one_of=[("id", "name")])
    module.check_bounds({"wait_timeout": (1, 3600)})
    manager = HavipManager(module)
    if module.params["state"] == "present":
        before, after = manager.present()
        result = havip_to_dict(after)
    else:
        before, after = manager.absent()
        result = havip_to_dict(before)
    module.exit_json(changed=manager.changed, havip=result,
                     diff={"before": havip_to_dict(before), "after": havip_to_dict(after)})


if __name__ == "__main__":
    main()
