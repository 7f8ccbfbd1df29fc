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
  - In check mode, a placeholder from a check-mode M(havip.tencentcloud.havip) or M(havip.tencentcloud.eip)
    (C(planned-...)) is accepted as a planned resource and not looked up; outside check mode it is an error.
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
        When the bind then fails, both EIPs are bound back where they were before the task fails,
        so the HAVIP is never left without its EIP; every call is reported in RV(calls).
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
      - How long to wait, in seconds (1 - 3600).
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
planned:
  description: True when a check-mode placeholder was given (nothing was looked up).
  returned: in check mode with a placeholder
  type: bool
  sample: true
calls:
  description: Every change sent (the unbinds and binds, including any restore), as in
    RV(havip.tencentcloud.havip#module:calls).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.eip import (  # noqa: E402 - after the docs, as Ansible requires
    IN_FLIGHT,
    address_to_dict,
    describe_address,
    find_address_by_ip,
    in_flight,
    wait_not_in_flight,
)
from ansible_collections.havip.tencentcloud.plugins.module_utils.havip import (  # noqa: E402
    describe_havip,
    havip_to_dict,
    wait_havip_eip,
)
from ansible_collections.havip.tencentcloud.plugins.module_utils.tasks import wait_vpc_task  # noqa: E402
from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import (  # noqa: E402
    TencentCloudModule,
    is_planned,
)


class Binder:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.changed = False
        self.task_ids = []

    def havip(self):
        return describe_havip(self.module, self.params["havip_id"])

    def eip(self):
        p = self.params
        if p["eip_id"]:
            return describe_address(self.module, p["eip_id"])
        if p["address_ip"]:
            return find_address_by_ip(self.module, p["address_ip"])
        return None

    def carries(self, havip_id, address_ip):
        """The goal of a bind or unbind, reached only once settled: while a bind runs, the HAVIP
        shows no EIP yet, which is not the goal of an unbind."""
        def reached():
            now = (describe_havip(self.module, havip_id) or {}).get("AddressIp") or ""
            return now == address_ip and not in_flight(self.module, havip_id)
        return reached

    # --- the two asynchronous calls --------------------------------------------------------------
    def unbind(self, havip_id, address_ip, wait=True):
        """Unbind and (with wait) wait for the task; fails the task on error."""
        self.changed = True
        answer = self.module.mutate("HaVipDisassociateAddressIp", {"HaVipId": havip_id},
                                    msg=f"cannot unbind {address_ip} from {havip_id}",
                                    reached=self.carries(havip_id, ""),
                                    report={"havip_id": havip_id, "address_ip": address_ip})
        if answer.get("RequestId"):
            self.task_ids.append(answer["RequestId"])
        if wait:
            wait_vpc_task(self.module, answer, self.params["wait_timeout"], "HaVipDisassociateAddressIp")
            wait_havip_eip(self.module, havip_id, "", self.params["wait_timeout"])

    def bind(self, havip_id, address_ip, wait=True):
        """Bind; returns None when done (or started, without wait), else the reason it failed."""
        self.changed = True
        answer, exc = self.module.try_mutate("HaVipAssociateAddressIp", {"HaVipId": havip_id, "AddressIp": address_ip},
                                             reached=self.carries(havip_id, address_ip),
                                             report={"havip_id": havip_id, "address_ip": address_ip})
        if exc is not None:
            return f"HaVipAssociateAddressIp failed: {exc.code}: {self.module._scrub(str(exc.message))}"
        if answer.get("RequestId"):
            self.task_ids.append(answer["RequestId"])
        if not wait:
            return None
        state = wait_vpc_task(self.module, answer, self.params["wait_timeout"], "HaVipAssociateAddressIp", fail=False)
        if state.get("status") == "FAILED":
            self.module.calls[-1]["outcome"] = "task FAILED"
            return "HaVipAssociateAddressIp task {} failed: {}".format(answer["RequestId"], state.get("output"))
        wait_havip_eip(self.module, havip_id, address_ip, self.params["wait_timeout"])
        return None

    # --- states --------------------------------------------------------------------------------
    def settle_elsewhere(self, eip, havip_id):
        """An EIP being bound to or unbound from another HAVIP: see where it lands before deciding."""
        holder = eip.get("InstanceId") or ""
        if eip.get("AddressStatus") in IN_FLIGHT and holder != havip_id and holder.startswith("havip-"):
            wait_not_in_flight(self.module, holder, self.params["wait_timeout"])
            return self.eip()
        return eip

    def present(self, havip):
        p = self.params
        eip = self.eip()
        if eip is None:
            self.module.fail_json(msg="EIP %s does not exist" % (p["eip_id"] or p["address_ip"]))
        ip, havip_id = eip["AddressIp"], havip["HaVipId"]
        if havip.get("AddressIp") == ip:
            return eip
        eip = self.settle_elsewhere(eip, havip_id)
        if eip.get("AddressStatus") in IN_FLIGHT and eip.get("InstanceId") == havip_id:
            if p["wait"] and not self.module.check_mode:
                wait_not_in_flight(self.module, havip_id, p["wait_timeout"])
            return self.eip()
        current = havip.get("AddressIp") or ""
        if current and not p["allow_reassociation"]:
            self.module.fail_json(msg=f"HAVIP {havip_id} already carries the EIP {current}; "
                                      f"set allow_reassociation=true to replace it with {ip}")
        previous_holder = None
        if eip.get("AddressStatus") != "UNBIND":
            holder = eip.get("InstanceId") or "?"
            if not p["allow_reassociation"]:
                self.module.fail_json(msg=f"EIP {ip} is {eip.get('AddressStatus')} to {holder}; "
                                          f"set allow_reassociation=true to move it to {havip_id}")
            if eip.get("InstanceType") != "HAVIP" or not holder.startswith("havip-"):
                self.module.fail_json(msg=f"EIP {ip} is bound to {holder} ({eip.get('InstanceType') or 'unknown'}), "
                                          "not to a HAVIP: unbind it there first")
            previous_holder = holder
        if self.module.check_mode:
            self.changed = True
            return dict(eip, AddressStatus="BIND", InstanceId=havip_id, InstanceType="HAVIP")
        if previous_holder:
            self.unbind(previous_holder, ip)
        if current:
            self.unbind(havip_id, current)
        failure = self.bind(havip_id, ip, wait=p["wait"] or bool(previous_holder or current))
        if failure:
            self.restore(havip_id, current, previous_holder, ip, failure)
        return self.eip()

    def restore(self, havip_id, current, previous_holder, ip, failure):
        """The bind failed after unbinds: put every EIP back where it was, then fail with all calls."""
        problems = []
        for holder, address in ((havip_id, current), (previous_holder, ip)):
            if holder and address:
                problem = self.bind(holder, address)
                if problem:
                    problems.append(f"restoring {address} on {holder}: {problem}")
        restored = "; NOT restored: " + "; ".join(problems) if problems else "; the previous bindings were restored"
        self.module.fail_json(msg=f"cannot bind {ip} to {havip_id}: {failure}{restored}", task_ids=self.task_ids)

    def absent(self, havip):
        p = self.params
        current = havip.get("AddressIp")
        if not current and in_flight(self.module, havip["HaVipId"]):
            # A bind still running shows no EIP on the HAVIP yet: see where it lands first.
            wait_not_in_flight(self.module, havip["HaVipId"], p["wait_timeout"])
            havip = self.havip()
            current = havip.get("AddressIp")
        if not current:
            return None
        if p["eip_id"] or p["address_ip"]:
            eip = self.eip()
            if eip is None or eip["AddressIp"] != current:
                return eip  # that EIP is not on this HAVIP: nothing to do
        self.changed = True
        if not self.module.check_mode:
            self.unbind(havip["HaVipId"], current, wait=p["wait"])
        return find_address_by_ip(self.module, current)


def planned(module):
    """Check mode with a placeholder from an earlier check-mode task (a HAVIP or EIP that would be
    created): the change is planned, nothing is looked up. Outside check mode a placeholder is an error."""
    p = module.params
    names = [n for n in ("havip_id", "address_ip", "eip_id") if is_planned(p[n])]
    if names and not module.check_mode:
        module.fail_json(msg=f"{names[0]} {p[names[0]]!r} is a placeholder of a check-mode run, not a real resource")
    if not names:
        return False
    address = p["address_ip"] or p["eip_id"] or ""
    after = address if p["state"] == "present" else ""
    module.exit_json(changed=True, planned=True, task_ids=[],
                     havip={"id": p["havip_id"], "address_ip": after},
                     eip={"id": p["eip_id"] or "", "address_ip": address} if address else {},
                     diff={"before": {"address_ip": ""}, "after": {"address_ip": after}})
    return True


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
    module.check_bounds({"wait_timeout": (1, 3600)})
    if planned(module):
        return
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
