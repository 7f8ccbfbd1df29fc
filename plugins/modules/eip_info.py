#!/usr/bin/python
# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: eip_info
short_description: Describe Tencent Cloud EIPs
version_added: 0.1.0
description:
  - Lists elastic public IPs (EIPs) by id or by filters, through every page of C(DescribeAddresses).
  - Nothing found is an empty list, never a failure.
author:
  - havip.tencentcloud maintainers (@havip-tencentcloud)
extends_documentation_fragment:
  - havip.tencentcloud.tencentcloud
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
options:
  ids:
    description:
      - EIP ids (C(eip-xxxxxxxx)). Cannot be combined with O(filters).
    type: list
    elements: str
  filters:
    description:
      - Filters of C(DescribeAddresses), a dict of filter name to a value or a list of values, for
        example C(address-id), C(address-name), C(address-ip), C(address-status), C(instance-id).
    type: dict
"""

EXAMPLES = r"""
- name: Free EIPs
  havip.tencentcloud.eip_info:
    filters:
      address-status: UNBIND
    region: ap-guangzhou
  register: free
"""

RETURN = r"""
eips:
  description: The EIPs found, as returned by M(havip.tencentcloud.eip).
  returned: always
  type: list
  elements: dict
  sample:
    - id: eip-11112222
      name: web
      address_ip: 198.51.100.10
      status: UNBIND
      instance_id: ""
      instance_type: ""
      network_interface_id: ""
      private_address_ip: ""
      bandwidth: 1
      internet_charge_type: TRAFFIC_POSTPAID_BY_HOUR
      created_time: "2026-01-01 10:00:00"
      tags: {}
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.eip import address_to_dict  # noqa: E402 - after the docs, as Ansible requires
from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import TencentCloudModule  # noqa: E402


def main():
    argument_spec = dict(
        ids=dict(type="list", elements="str"),
        filters=dict(type="dict"),
    )
    module = TencentCloudModule(argument_spec=argument_spec, supports_check_mode=True,
                                mutually_exclusive=[("ids", "filters")])
    found = module.find("DescribeAddresses", "AddressIds", "AddressSet")
    module.exit_json(changed=False, eips=[address_to_dict(a) for a in found])


if __name__ == "__main__":
    main()
