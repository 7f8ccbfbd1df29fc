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
  - A new HAVIP is created with a C(ClientToken) derived from the region, VPC, name, subnet and address,
    so a create that is retried (by the module, or by re-running the task) never makes two HAVIPs.
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
      - Whether the VPC checks the drift range when the HAVIP moves (C(CheckAssociate)). Only set on creation.
    type: bool
  associated_instances:
    description:
      - The drift range, the CVM instances (C(ins-...)) or ENIs (C(eni-...)) the HAVIP may float to
        (at most 10). The module associates and disassociates instances to reach exactly this set.
      - When omitted, the drift range is left as it is.
    type: list
    elements: str
  tags:
    description:
      - Tags set when the HAVIP is created. Tags of an existing HAVIP are not changed (Tencent Cloud
        manages them through its tag service); a difference is reported as a warning.
    type: dict
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
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import (  # noqa: E402 - after the docs, as Ansible requires
    NOT_FOUND_CODES,
    TencentCloudModule,
    TencentCloudSDKException,
    api_tags,
    check_address_in_subnet,
    client_token,
    havip_to_dict,
    snake_tags,
)

MAX_TOKEN_GENERATIONS = 3


class HavipManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.changed = False

    # --- finding ------------------------------------------------------------------------------
    def describe(self, havip_id):
        found = self.module.describe_all("DescribeHaVips", {"HaVipIds": [havip_id]}, "HaVipSet",
                                         empty_on=NOT_FOUND_CODES)
        return found[0] if found else None

    def find(self):
        p = self.params
        if p["id"]:
            return self.describe(p["id"])
        if not p["name"] or not p["vpc_id"]:
            self.module.fail_json(msg="give id, or name together with vpc_id, to find the HAVIP")
        filters = [{"Name": "havip-name", "Values": [p["name"]]}, {"Name": "vpc-id", "Values": [p["vpc_id"]]}]
        found = [h for h in self.module.describe_all("DescribeHaVips", {"Filters": filters}, "HaVipSet")
                 if h.get("HaVipName") == p["name"] and h.get("VpcId") == p["vpc_id"]]
        if len(found) > 1:
            ids = [h["HaVipId"] for h in found]
            self.module.fail_json(msg=f"name {p['name']!r} matches {len(ids)} HAVIPs in {p['vpc_id']} "
                                      f"({', '.join(ids)}): give id to pick one", havip_ids=ids)
        return found[0] if found else None

    # --- creating -------------------------------------------------------------------------------
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
        return subnet

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
            request["HaVipAssociationSet"] = [self.association(i) for i in p["associated_instances"]]
        self.changed = True
        if self.module.check_mode:
            return {
                "HaVipId": "", "HaVipName": p["name"], "Vip": p["address"] or "(assigned on creation)",
                "VpcId": p["vpc_id"], "SubnetId": subnet["SubnetId"], "State": "UNBIND",
                "CheckAssociate": bool(p["check_associate"]), "TagSet": request.get("Tags", []),
                "HaVipAssociationSet": [{"InstanceId": i} for i in p["associated_instances"] or []],
            }
        for generation in range(MAX_TOKEN_GENERATIONS):
            request["ClientToken"] = client_token("CreateHaVip", p["region"], p["vpc_id"], p["name"],
                                                  subnet["SubnetId"], p["address"] or "", generation)
            try:
                created = self.module.call("CreateHaVip", request)["HaVip"]
            except TencentCloudSDKException as exc:
                self.module.fail_sdk(exc, "CreateHaVip",
                                     msg=f"cannot create HAVIP {p['name']!r} in {subnet['SubnetId']}")
            current = self.describe(created["HaVipId"])
            if current is not None:
                return current
            # The token answered with a HAVIP that was deleted since (same name re-created): next one.
        self.module.fail_json(msg="CreateHaVip kept answering with deleted HAVIPs for {!r}".format(p["name"]))

    @staticmethod
    def association_type(instance_id):
        if instance_id.startswith("ins-"):
            return "CVM"
        if instance_id.startswith("eni-"):
            return "ENI"
        return None

    def association(self, instance_id, havip_id=None):
        kind = self.association_type(instance_id)
        if kind is None:
            self.module.fail_json(msg=f"associated_instances: {instance_id!r} is neither a CVM (ins-...) "
                                      "nor an ENI (eni-...)")
        item = {"InstanceId": instance_id, "InstanceType": kind}
        if havip_id:
            item["HaVipId"] = havip_id
        return item

    # --- updating -------------------------------------------------------------------------------
    def check_immutable(self, havip):
        p = self.params
        for option, key in (("vpc_id", "VpcId"), ("subnet_id", "SubnetId"), ("address", "Vip")):
            if p[option] and p[option] != havip.get(key):
                self.module.fail_json(msg=f"HAVIP {havip['HaVipId']} has {option} {havip.get(key)}, not {p[option]}: "
                                          "it cannot be changed (delete and re-create it)")

    def update(self, havip):
        p = self.params
        self.check_immutable(havip)
        if p["name"] and p["name"] != havip["HaVipName"]:
            self.mutate("ModifyHaVipAttribute", {"HaVipId": havip["HaVipId"], "HaVipName": p["name"]})
            havip = dict(havip, HaVipName=p["name"])
        if p["associated_instances"] is not None:
            havip = self.update_drift_range(havip)
        if p["tags"] is not None and snake_tags(havip.get("TagSet")) != p["tags"]:
            self.module.warn("tags of the existing HAVIP {} differ from the tags option; this module sets "
                             "tags on creation only".format(havip["HaVipId"]))
        return havip

    def update_drift_range(self, havip):
        wanted = list(dict.fromkeys(self.params["associated_instances"]))
        for instance_id in wanted:
            self.association(instance_id)  # validates the id's kind before anything changes
        current = [a["InstanceId"] for a in havip.get("HaVipAssociationSet") or []]
        to_add = [i for i in wanted if i not in current]
        to_remove = [i for i in current if i not in wanted]
        if to_remove:
            self.mutate("DisassociateHaVipInstance",
                        {"HaVipAssociationSet": [self.association(i, havip["HaVipId"]) for i in to_remove]})
        if to_add:
            self.mutate("AssociateHaVipInstance",
                        {"HaVipAssociationSet": [self.association(i, havip["HaVipId"]) for i in to_add]})
        kept = [a for a in havip.get("HaVipAssociationSet") or [] if a["InstanceId"] in wanted]
        return dict(havip, HaVipAssociationSet=kept + [{"InstanceId": i} for i in to_add])

    def mutate(self, action, request, msg=None):
        """Every change goes through here: check mode stops right before the call."""
        self.changed = True
        if self.module.check_mode:
            return {}
        try:
            return self.module.call(action, request)
        except TencentCloudSDKException as exc:
            self.module.fail_sdk(exc, action, msg=msg)

    # --- states ------------------------------------------------------------------------------------
    def present(self):
        before = self.find()
        if before is None and self.params["id"]:
            self.module.fail_json(msg="HAVIP {} does not exist; to create one, give name, vpc_id and subnet_id "
                                      "without id".format(self.params["id"]))
        after = self.create() if before is None else self.update(before)
        if self.changed and not self.module.check_mode and after.get("HaVipId"):
            after = self.describe(after["HaVipId"]) or after
        return before, after

    def absent(self):
        before = self.find()
        if before is None:
            return None, None
        if before.get("AddressIp"):
            self.module.fail_json(msg=f"HAVIP {before['HaVipId']} carries the EIP {before['AddressIp']}: "
                                      "unbind it first (havip_eip state=absent, R6)")
        self.mutate("DeleteHaVip", {"HaVipId": before["HaVipId"]})
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
    )
    module = TencentCloudModule(argument_spec=argument_spec, supports_check_mode=True,
                                required_one_of=[("id", "name")])
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
