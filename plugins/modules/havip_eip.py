#!/usr/bin/python
# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: havip_eip
short_description: Bind or unbind an EIP to a Tencent Cloud HAVIP
version_added: 0.1.0
description:
  - Binds an elastic public IP (EIP) to a HAVIP, or unbinds it (guide step R6). The EIP then follows the
    HAVIP from node to node on failover (R8).
  - C(HaVipAssociateAddressIp) and C(HaVipDisassociateAddressIp) are asynchronous; with O(wait) the module
    polls C(DescribeVpcTaskResult) and C(DescribeHaVips) until the change is done.
  - Refuses to take an EIP that is bound elsewhere, or to replace the EIP a HAVIP already carries, unless
    O(allow_reassociation=true); then it unbinds first.
author:
  - havip.tencentcloud maintainers (@havip-tencentcloud)
extends_documentation_fragment:
  - havip.tencentcloud.tencentcloud
attributes:
  check_mode:
    support: full
    description: Stops right before each bind or unbind.
  diff_mode:
    support: full
    description: Returns the HAVIP's EIP before and after.
options:
  state:
    description:
      - V(present) binds the EIP; V(absent) unbinds it (or whatever EIP the HAVIP carries, when neither
        O(address_ip) nor O(eip_id) is given).
    type: str
    choices: [present, absent]
    default: present
  havip_id:
    description:
      - The HAVIP (C(havip-xxxxxxxx)).
    type: str
    required: true
  address_ip:
    description:
      - The EIP, by address. One of O(address_ip) or O(eip_id) is required with O(state=present).
    type: str
  eip_id:
    description:
      - The EIP, by id (C(eip-xxxxxxxx)).
    type: str
  allow_reassociation:
    description:
      - Unbind the EIP from the HAVIP it is bound to, and the HAVIP's current EIP, before binding.
      - An EIP bound to something else than a HAVIP (a CVM, a NAT gateway...) is never taken.
    type: bool
    default: false
  wait:
    description:
      - Wait until the asynchronous bind or unbind is done.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait, in seconds.
    type: int
    default: 300
"""

EXAMPLES = r"""
- name: Expose the HAVIP through an EIP (R6)
  havip.tencentcloud.havip_eip:
    havip_id: "{{ havip.havip.id }}"
    address_ip: "{{ eip.eip.address_ip }}"
    region: ap-guangzhou

- name: Unbind whatever EIP the HAVIP carries
  havip.tencentcloud.havip_eip:
    havip_id: "{{ havip.havip.id }}"
    state: absent
    region: ap-guangzhou
"""

RETURN = r"""
havip:
  description: The HAVIP after the task, as returned by M(havip.tencentcloud.havip).
  returned: always
  type: dict
  sample:
    id: havip-9o233uri
    vip: 172.16.16.12
    address_ip: 198.51.100.10
    state: AVAILABLE
eip:
  description: The EIP after the task, as returned by M(havip.tencentcloud.eip); empty if none was involved.
  returned: always
  type: dict
  sample:
    id: eip-11112222
    address_ip: 198.51.100.10
    status: BIND
    instance_id: havip-9o233uri
    instance_type: HAVIP
task_ids:
  description: The asynchronous tasks started (their C(RequestId)s), in order.
  returned: always
  type: list
  elements: str
  sample: [8d6a5f5e-1111-2222-3333-444455556666]
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import (  # noqa: E402 - after the docs, as Ansible requires
    NOT_FOUND_CODES,
    TencentCloudModule,
    TencentCloudSDKException,
    address_to_dict,
    havip_to_dict,
)

IN_FLIGHT = ("BINDING", "UNBINDING")


class Binder:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.changed = False
        self.task_ids = []

    def havip(self, havip_id=None):
        havip_id = havip_id or self.params["havip_id"]
        found = self.module.describe_all("DescribeHaVips", {"HaVipIds": [havip_id]}, "HaVipSet",
                                         empty_on=NOT_FOUND_CODES)
        return found[0] if found else None

    def eip(self):
        p = self.params
        if p["eip_id"]:
            query = {"AddressIds": [p["eip_id"]]}
        elif p["address_ip"]:
            query = {"Filters": [{"Name": "address-ip", "Values": [p["address_ip"]]}]}
        else:
            return None
        found = self.module.describe_all("DescribeAddresses", query, "AddressSet", empty_on=NOT_FOUND_CODES)
        return found[0] if found else None

    def eip_by_ip(self, ip):
        found = self.module.describe_all("DescribeAddresses", {"Filters": [{"Name": "address-ip", "Values": [ip]}]},
                                         "AddressSet")
        return found[0] if found else None

    def wait_settled(self, havip_id):
        """Wait until no EIP is being bound to or unbound from ``havip_id``."""
        def settled():
            pending = self.module.describe_all(
                "DescribeAddresses", {"Filters": [{"Name": "address-status", "Values": list(IN_FLIGHT)}]},
                "AddressSet")
            return not [a for a in pending if a.get("InstanceId") == havip_id]
        self.module.wait_until(settled, self.params["wait_timeout"], f"the EIP of {havip_id} to settle")

    def unbind(self, havip_id, address_ip):
        self.changed = True
        if self.module.check_mode:
            return
        try:
            task = self.module.call("HaVipDisassociateAddressIp", {"HaVipId": havip_id})["RequestId"]
        except TencentCloudSDKException as exc:
            self.module.fail_sdk(exc, "HaVipDisassociateAddressIp", msg=f"cannot unbind {address_ip} from {havip_id}")
        self.task_ids.append(task)
        # Binding next needs the unbind finished, whatever the wait option says.
        self.module.wait_for_task(task, self.params["wait_timeout"], "HaVipDisassociateAddressIp")

    def bind(self, havip_id, address_ip):
        self.changed = True
        if self.module.check_mode:
            return
        try:
            task = self.module.call("HaVipAssociateAddressIp", {"HaVipId": havip_id, "AddressIp": address_ip})
        except TencentCloudSDKException as exc:
            self.module.fail_sdk(exc, "HaVipAssociateAddressIp", msg=f"cannot bind {address_ip} to {havip_id}")
        self.task_ids.append(task["RequestId"])
        if self.params["wait"]:
            self.module.wait_for_task(task["RequestId"], self.params["wait_timeout"], "HaVipAssociateAddressIp")
            self.module.wait_until(lambda: (self.havip() or {}).get("AddressIp") == address_ip,
                                   self.params["wait_timeout"], f"{havip_id} to carry {address_ip}")

    def present(self, havip):
        p = self.params
        eip = self.eip()
        if eip is None:
            self.module.fail_json(msg="EIP %s does not exist" % (p["eip_id"] or p["address_ip"]))
        ip, havip_id = eip["AddressIp"], havip["HaVipId"]
        if havip.get("AddressIp") == ip:
            return eip
        holder = eip.get("InstanceId") or ""
        if eip.get("AddressStatus") in IN_FLIGHT and holder != havip_id and holder.startswith("havip-"):
            # Being bound to or unbound from another HAVIP: see where it lands before deciding.
            self.wait_settled(holder)
            eip = self.eip()
        if eip.get("AddressStatus") in IN_FLIGHT and eip.get("InstanceId") == havip_id:
            if p["wait"] and not self.module.check_mode:
                self.wait_settled(havip_id)
            return self.eip()
        current = havip.get("AddressIp")
        if current and not p["allow_reassociation"]:
            self.module.fail_json(msg=f"HAVIP {havip_id} already carries the EIP {current}; "
                                      f"set allow_reassociation=true to replace it with {ip}")
        if eip.get("AddressStatus") != "UNBIND":
            holder = eip.get("InstanceId") or "?"
            if not p["allow_reassociation"]:
                self.module.fail_json(msg=f"EIP {ip} is {eip.get('AddressStatus')} to {holder}; "
                                          f"set allow_reassociation=true to move it to {havip_id}")
            if eip.get("InstanceType") != "HAVIP" or not holder.startswith("havip-"):
                self.module.fail_json(msg=f"EIP {ip} is bound to {holder} ({eip.get('InstanceType') or 'unknown'}), "
                                          "not to a HAVIP: unbind it there first")
            self.unbind(holder, ip)
        if current:
            self.unbind(havip_id, current)
        self.bind(havip_id, ip)
        return self.eip() if not self.module.check_mode else dict(eip, AddressStatus="BIND", InstanceId=havip_id)

    def absent(self, havip):
        p = self.params
        current = havip.get("AddressIp")
        if not current:
            return None
        if p["eip_id"] or p["address_ip"]:
            eip = self.eip()
            if eip is None or eip["AddressIp"] != current:
                return eip  # that EIP is not on this HAVIP: nothing to do
        self.changed = True
        if self.module.check_mode:
            return self.eip_by_ip(current)
        try:
            task = self.module.call("HaVipDisassociateAddressIp", {"HaVipId": havip["HaVipId"]})["RequestId"]
        except TencentCloudSDKException as exc:
            self.module.fail_sdk(exc, "HaVipDisassociateAddressIp")
        self.task_ids.append(task)
        if p["wait"]:
            self.module.wait_for_task(task, p["wait_timeout"], "HaVipDisassociateAddressIp")
        return self.eip_by_ip(current)


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        havip_id=dict(type="str", required=True),
        address_ip=dict(type="str"),
        eip_id=dict(type="str"),
        allow_reassociation=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    module = TencentCloudModule(argument_spec=argument_spec, supports_check_mode=True,
                                mutually_exclusive=[("address_ip", "eip_id")],
                                required_if=[("state", "present", ("address_ip", "eip_id"), True)])
    binder = Binder(module)
    before = binder.havip()
    if before is None:
        module.fail_json(msg="HAVIP {} does not exist".format(module.params["havip_id"]))
    eip = binder.present(before) if module.params["state"] == "present" else binder.absent(before)
    after = binder.havip() if binder.changed and not module.check_mode else dict(before)
    if module.check_mode and binder.changed:
        after["AddressIp"] = eip["AddressIp"] if module.params["state"] == "present" else ""
    module.exit_json(changed=binder.changed, havip=havip_to_dict(after), eip=address_to_dict(eip),
                     task_ids=binder.task_ids,
                     diff={"before": {"address_ip": before.get("AddressIp") or ""},
                           "after": {"address_ip": after.get("AddressIp") or ""}})


if __name__ == "__main__":
    main()
