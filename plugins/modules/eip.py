#!/usr/bin/python
# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eip
short_description: Allocate and release a Tencent Cloud EIP
version_added: 0.1.0
description:
  - Ensures an elastic public IP (EIP) exists, or not (guide step R6, "if none is free, allocate one").
  - Idempotent by O(name); the EIP is found by O(id), else O(address_ip), else O(name) (C(AddressName)),
    and allocated only when none is found, with a C(ClientToken) of this invocation reused only by the
    retries of that call (a lost answer never allocates a second, billed, EIP).
  - C(AllocateAddresses), C(ReleaseAddresses) and C(ModifyAddressesBandwidth) are asynchronous; the module
    polls C(DescribeTaskResult), then waits until a new EIP left C(CREATING) or a released one is gone
    (C(OFFLINING)).
  - On an existing EIP, O(name) (when found by O(id) or O(address_ip)) and O(internet_max_bandwidth_out)
    are applied; different O(tags) or O(internet_charge_type) are an error naming the option.
  - In check mode an EIP to be allocated gets the placeholder id and address C(planned-eip-NAME), which
    M(havip.tencentcloud.havip_eip) in check mode accepts as planned.
  - Binding the EIP to a HAVIP is done by M(havip.tencentcloud.havip_eip).
author:
  - havip.tencentcloud maintainers (@havip-tencentcloud)
extends_documentation_fragment:
  - havip.tencentcloud.tencentcloud
attributes:
  check_mode:
    support: full
    description: Stops right before the allocation or the release.
  diff_mode:
    support: full
    description: Returns the EIP before and after.
options:
  state:
    description:
      - V(present) allocates the EIP when none is found; V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  id:
    description:
      - The EIP id (C(eip-xxxxxxxx)) of an existing EIP.
    type: str
  address_ip:
    description:
      - The public address of an existing EIP.
    type: str
  name:
    description:
      - The EIP name (C(AddressName)). Required to allocate an EIP; renames an EIP found by O(id) or O(address_ip).
    type: str
  internet_max_bandwidth_out:
    description:
      - Bandwidth cap in Mbps; changed on an existing EIP with C(ModifyAddressesBandwidth).
    type: int
  internet_charge_type:
    description:
      - Billing of the EIP's traffic, on allocation, for example C(TRAFFIC_POSTPAID_BY_HOUR); a different
        value on an existing EIP is an error.
    type: str
  tags:
    description:
      - Tags set on allocation; different tags on an existing EIP are an error (they are managed by
        Tencent Cloud's tag service).
    type: dict
  wait_timeout:
    description:
      - How long to wait for each asynchronous task and end state, in seconds (1 - 3600).
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: An EIP for the HAVIP (R6)
  havip.tencentcloud.eip:
    name: havip-guide-eip
    region: ap-guangzhou
  register: eip

- name: Release it
  havip.tencentcloud.eip:
    name: havip-guide-eip
    state: absent
    region: ap-guangzhou
"""

RETURN = r"""
eip:
  description: The EIP after the task (before it, for O(state=absent)); empty when there is none.
  returned: always
  type: dict
  contains:
    id:
      description: The EIP id.
      type: str
      sample: eip-11112222
    name:
      description: The EIP name.
      type: str
      sample: havip-guide-eip
    address_ip:
      description: The public address.
      type: str
      sample: 198.51.100.10
    status:
      description: C(UNBIND), C(BINDING), C(BIND), C(UNBINDING), ...
      type: str
      sample: UNBIND
    instance_id:
      description: What the EIP is bound to (a HAVIP id for a HAVIP), or empty.
      type: str
      sample: havip-9o233uri
    instance_type:
      description: The kind of resource it is bound to, for example C(HAVIP) or C(CVM).
      type: str
      sample: HAVIP
    network_interface_id:
      description: The ENI it is bound to, or empty.
      type: str
      sample: ""
    private_address_ip:
      description: The private address it maps to, or empty.
      type: str
      sample: 172.16.16.12
    bandwidth:
      description: Bandwidth cap in Mbps.
      type: int
      sample: 1
    internet_charge_type:
      description: Billing of the traffic.
      type: str
      sample: TRAFFIC_POSTPAID_BY_HOUR
    created_time:
      description: Allocation time.
      type: str
      sample: "2026-01-01 10:00:00"
    tags:
      description: Tags.
      type: dict
      sample: {}
calls:
  description: Every change sent, in order, with its outcome, as in RV(havip.tencentcloud.havip#module:calls).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.eip import (  # noqa: E402 - after the docs, as Ansible requires
    address_to_dict,
    describe_address,
    find_address_by_ip,
    find_address_by_name,
    wait_address_gone,
    wait_address_settled,
)
from ansible_collections.havip.tencentcloud.plugins.module_utils.tasks import wait_task  # noqa: E402
from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import (  # noqa: E402
    PLANNED,
    TencentCloudModule,
    api_tags,
    is_planned,
    new_client_token,
    wanted_tags,
)


class EipManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.changed = False

    def find(self):
        p = self.params
        for option in ("id", "address_ip"):
            if is_planned(p[option]):
                self.module.fail_json(msg=f"{option} {p[option]!r} is a placeholder of a check-mode run, not an EIP")
        if p["id"]:
            return describe_address(self.module, p["id"])
        if p["address_ip"]:
            return find_address_by_ip(self.module, p["address_ip"])
        return find_address_by_name(self.module, p["name"])

    # --- allocating -----------------------------------------------------------------------------
    def allocate(self):
        p = self.params
        request = {"AddressCount": 1, "AddressName": p["name"]}
        if p["internet_max_bandwidth_out"] is not None:
            request["InternetMaxBandwidthOut"] = p["internet_max_bandwidth_out"]
        if p["internet_charge_type"]:
            request["InternetChargeType"] = p["internet_charge_type"]
        if p["tags"]:
            request["Tags"] = api_tags(p["tags"])
        self.changed = True
        if self.module.check_mode:
            # A placeholder the next module accepts as planned in check mode (never looked up).
            planned = PLANNED + "eip-" + p["name"]
            return {"AddressId": planned, "AddressName": p["name"], "AddressStatus": "UNBIND", "AddressIp": planned,
                    "Bandwidth": p["internet_max_bandwidth_out"], "InternetChargeType": p["internet_charge_type"],
                    "TagSet": request.get("Tags", [])}
        # One token for this invocation: the retries of this call reuse it, so a lost answer never
        # allocates a second (billed) EIP; the next run finds the EIP by name.
        request["ClientToken"] = new_client_token()
        answer = self.module.mutate("AllocateAddresses", request, msg="cannot allocate EIP {!r}".format(p["name"]),
                                    report={"name": p["name"]})
        ids = answer.get("AddressSet") or []
        if len(ids) != 1:
            self.module.fail_json(msg=f"AllocateAddresses answered {len(ids)} EIP ids for one address: {ids}")
        self.module.calls[-1]["eip_id"] = ids[0]
        wait_task(self.module, answer, p["wait_timeout"], "AllocateAddresses")
        # CREATING, or not listed yet: waited for, never allocated again.
        return wait_address_settled(self.module, ids[0], p["wait_timeout"])

    # --- updating an existing EIP ----------------------------------------------------------------
    def refuse_unchangeable(self, eip):
        """Parameters the VPC API cannot change on an existing EIP, refused before any change."""
        p = self.params
        if p["tags"] is not None and wanted_tags(p["tags"]) != snake_tags_of(eip):
            self.module.fail_json(msg="tags {} differ from those of the existing EIP {} ({}): this module sets tags "
                                      "on allocation only (changing them goes through Tencent Cloud's tag service)"
                                      .format(wanted_tags(p["tags"]), eip["AddressId"], snake_tags_of(eip)))
        charge = p["internet_charge_type"]
        if charge and eip.get("InternetChargeType") and charge != eip.get("InternetChargeType"):
            self.module.fail_json(msg=f"internet_charge_type {charge} differs from {eip.get('InternetChargeType')} "
                                      f"of the existing EIP {eip['AddressId']}: it is set on allocation only")

    def update(self, eip):
        p = self.params
        if eip.get("AddressStatus") in ("CREATING", "BINDING", "UNBINDING") and not self.module.check_mode:
            eip = wait_address_settled(self.module, eip["AddressId"], p["wait_timeout"])
        self.refuse_unchangeable(eip)
        address_id = eip["AddressId"]
        if p["name"] and p["name"] != eip.get("AddressName"):
            self.changed = True
            if not self.module.check_mode:
                self.module.mutate("ModifyAddressAttribute", {"AddressId": address_id, "AddressName": p["name"]},
                                   reached=lambda: (describe_address(self.module, address_id) or {}).get(
                                       "AddressName") == p["name"],
                                   report={"eip_id": address_id, "name": p["name"]})
            eip = dict(eip, AddressName=p["name"])
        bandwidth = p["internet_max_bandwidth_out"]
        if bandwidth is not None and bandwidth != eip.get("Bandwidth"):
            self.changed = True
            if not self.module.check_mode:
                answer = self.module.mutate(
                    "ModifyAddressesBandwidth", {"AddressIds": [address_id], "InternetMaxBandwidthOut": bandwidth},
                    reached=lambda: (describe_address(self.module, address_id) or {}).get("Bandwidth") == bandwidth,
                    report={"eip_id": address_id, "bandwidth": bandwidth})
                wait_task(self.module, answer, p["wait_timeout"], "ModifyAddressesBandwidth")
            eip = dict(eip, Bandwidth=bandwidth)
        if self.changed and not self.module.check_mode:
            eip = describe_address(self.module, address_id) or eip
        return eip

    # --- releasing ------------------------------------------------------------------------------
    def release(self, eip):
        p = self.params
        address_id = eip["AddressId"]
        if eip.get("AddressStatus") == "OFFLINING":  # released already, by an earlier run whose answer was lost
            if not self.module.check_mode:
                wait_address_gone(self.module, address_id, p["wait_timeout"])
            return
        if eip.get("AddressStatus") != "UNBIND":
            self.module.fail_json(msg=f"EIP {address_id} ({eip['AddressIp']}) is {eip.get('AddressStatus')} to "
                                      f"{eip.get('InstanceId') or '?'}: unbind it first (havip_eip state=absent)")
        self.changed = True
        if self.module.check_mode:
            return

        def released():
            current = describe_address(self.module, address_id)
            return current is None or current.get("AddressStatus") == "OFFLINING"

        answer = self.module.mutate("ReleaseAddresses", {"AddressIds": [address_id]}, reached=released,
                                    report={"eip_id": address_id, "address_ip": eip["AddressIp"]})
        wait_task(self.module, answer, p["wait_timeout"], "ReleaseAddresses")
        wait_address_gone(self.module, address_id, p["wait_timeout"])


def snake_tags_of(eip):
    return address_to_dict(eip)["tags"]


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        id=dict(type="str"),
        address_ip=dict(type="str"),
        name=dict(type="str"),
        internet_max_bandwidth_out=dict(type="int"),
        internet_charge_type=dict(type="str"),
        tags=dict(type="dict"),
        wait_timeout=dict(type="int", default=300),
    )
    module = TencentCloudModule(argument_spec=argument_spec, supports_check_mode=True,
                                required_one_of=[("id", "address_ip", "name")],
                                mutually_exclusive=[("id", "address_ip")])
    module.check_bounds({"wait_timeout": (1, 3600)})
    p = module.params
    manager = EipManager(module)
    before = manager.find()
    after = before
    if p["state"] == "present":
        if before is not None and before.get("AddressStatus") == "OFFLINING" and not module.check_mode:
            # Being released (by an earlier run): it will be gone; a new one is allocated.
            wait_address_gone(module, before["AddressId"], p["wait_timeout"])
            before = after = None
        if before is None:
            if p["id"] or p["address_ip"]:
                module.fail_json(msg=f"EIP {p['id'] or p['address_ip']} does not exist; "
                                     "to allocate one, give name only")
            after = manager.allocate()
        else:
            after = manager.update(before)
    elif before is not None:
        manager.release(before)
        after = None
    module.exit_json(changed=manager.changed, eip=address_to_dict(after if p["state"] == "present" else before),
                     diff={"before": address_to_dict(before), "after": address_to_dict(after)})


if __name__ == "__main__":
    main()
