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
    and allocated with a C(ClientToken) derived from the region and name only when none is found.
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
      - The EIP name (C(AddressName)). Required to allocate an EIP.
    type: str
  internet_max_bandwidth_out:
    description:
      - Bandwidth cap in Mbps, on allocation.
    type: int
  internet_charge_type:
    description:
      - Billing of the EIP's traffic, on allocation, for example C(TRAFFIC_POSTPAID_BY_HOUR).
    type: str
  tags:
    description:
      - Tags set on allocation.
    type: dict
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
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import (  # noqa: E402 - after the docs, as Ansible requires
    NOT_FOUND_CODES,
    TencentCloudModule,
    TencentCloudSDKException,
    address_to_dict,
    api_tags,
    client_token,
)

MAX_TOKEN_GENERATIONS = 3


def describe_ids(module, ids):
    return module.describe_all("DescribeAddresses", {"AddressIds": ids}, "AddressSet", empty_on=NOT_FOUND_CODES)


def find(module):
    p = module.params
    if p["id"]:
        found = describe_ids(module, [p["id"]])
    elif p["address_ip"]:
        by_ip = [{"Name": "address-ip", "Values": [p["address_ip"]]}]
        found = module.describe_all("DescribeAddresses", {"Filters": by_ip}, "AddressSet")
    else:
        found = [a for a in module.describe_all(
            "DescribeAddresses", {"Filters": [{"Name": "address-name", "Values": [p["name"]]}]}, "AddressSet")
            if a.get("AddressName") == p["name"]]
        if len(found) > 1:
            ids = [a["AddressId"] for a in found]
            module.fail_json(msg=f"name {p['name']!r} matches {len(ids)} EIPs ({', '.join(ids)}): "
                                 "give id or address_ip to pick one", eip_ids=ids)
    return found[0] if found else None


def allocate(module):
    p = module.params
    request = {"AddressCount": 1, "AddressName": p["name"]}
    if p["internet_max_bandwidth_out"] is not None:
        request["InternetMaxBandwidthOut"] = p["internet_max_bandwidth_out"]
    if p["internet_charge_type"]:
        request["InternetChargeType"] = p["internet_charge_type"]
    if p["tags"]:
        request["Tags"] = api_tags(p["tags"])
    if module.check_mode:
        return {"AddressName": p["name"], "AddressStatus": "UNBIND", "AddressIp": "(assigned on allocation)",
                "TagSet": request.get("Tags", [])}
    for generation in range(MAX_TOKEN_GENERATIONS):
        request["ClientToken"] = client_token("AllocateAddresses", p["region"], p["name"], generation)
        try:
            ids = module.call("AllocateAddresses", request).get("AddressSet") or []
        except TencentCloudSDKException as exc:
            module.fail_sdk(exc, "AllocateAddresses", msg="cannot allocate EIP {!r}".format(p["name"]))
        found = describe_ids(module, ids) if ids else []
        if found:
            return found[0]
        # The token replayed an allocation whose EIP was released since: next generation.
    module.fail_json(msg="AllocateAddresses kept answering with released EIPs for {!r}".format(p["name"]))


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        id=dict(type="str"),
        address_ip=dict(type="str"),
        name=dict(type="str"),
        internet_max_bandwidth_out=dict(type="int"),
        internet_charge_type=dict(type="str"),
        tags=dict(type="dict"),
    )
    module = TencentCloudModule(argument_spec=argument_spec, supports_check_mode=True,
                                required_one_of=[("id", "address_ip", "name")],
                                mutually_exclusive=[("id", "address_ip")])
    p = module.params
    before = find(module)
    after, changed = before, False
    if p["state"] == "present" and before is None:
        if p["id"] or p["address_ip"]:
            module.fail_json(msg=f"EIP {p['id'] or p['address_ip']} does not exist; to allocate one, give name only")
        after, changed = allocate(module), True
    elif p["state"] == "absent" and before is not None:
        if before.get("AddressStatus") != "UNBIND":
            module.fail_json(msg=f"EIP {before['AddressId']} ({before['AddressIp']}) is {before.get('AddressStatus')} "
                                 f"to {before.get('InstanceId') or '?'}: unbind it first (havip_eip state=absent)")
        after, changed = None, True
        if not module.check_mode:
            try:
                module.call("ReleaseAddresses", {"AddressIds": [before["AddressId"]]})
            except TencentCloudSDKException as exc:
                module.fail_sdk(exc, "ReleaseAddresses")
    module.exit_json(changed=changed, eip=address_to_dict(after if p["state"] == "present" else before),
                     diff={"before": address_to_dict(before), "after": address_to_dict(after)})


if __name__ == "__main__":
    main()
