#!/usr/bin/python
# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: havip_info
short_description: Describe Tencent Cloud HAVIPs
version_added: 0.1.0
description:
  - Lists HAVIPs by id or by filters, through every page of C(DescribeHaVips).
  - Nothing found is an empty list, never a failure.
  - Useful to wait until the VPC has bound the HAVIP to the node that announced it (R5), with C(until).
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
      - HAVIP ids (C(havip-xxxxxxxx)). Cannot be combined with O(filters).
    type: list
    elements: str
  filters:
    description:
      - Filters of C(DescribeHaVips), a dict of filter name to a value or a list of values, for example
        C(havip-id), C(havip-name), C(vpc-id), C(subnet-id), C(vip), C(address-ip),
        C(havip-association.instance-id). Values of one filter are alternatives; filters all apply.
    type: dict
"""

EXAMPLES = r"""
- name: Wait until the VPC has bound the HAVIP to a node (R5)
  havip.tencentcloud.havip_info:
    filters:
      vpc-id: vpc-6v2ht8q5
      vip: 172.16.16.12
    region: ap-guangzhou
  register: found
  until: found.havips | length == 1 and found.havips[0].state == 'AVAILABLE'
  retries: 30
  delay: 2
"""

RETURN = r"""
havips:
  description: The HAVIPs found, as returned by M(havip.tencentcloud.havip).
  returned: always
  type: list
  elements: dict
  sample:
    - id: havip-9o233uri
      name: havip-guide
      vip: 172.16.16.12
      vpc_id: vpc-6v2ht8q5
      subnet_id: subnet-qq51iwr4
      state: AVAILABLE
      instance_id: ins-1234abcd
      network_interface_id: eni-ph0075l1
      address_ip: ""
      created_time: "2026-01-01 10:00:00"
      flushed_time: "2026-01-01 10:05:00"
      check_associate: false
      associated_instances: []
      tags: {}
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.havip import havip_to_dict  # noqa: E402 - after the docs, as Ansible requires
from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import TencentCloudModule  # noqa: E402


def main():
    argument_spec = dict(
        ids=dict(type="list", elements="str"),
        filters=dict(type="dict"),
    )
    module = TencentCloudModule(argument_spec=argument_spec, supports_check_mode=True,
                                mutually_exclusive=[("ids", "filters")])
    found = module.find("DescribeHaVips", "HaVipIds", "HaVipSet")
    module.exit_json(changed=False, havips=[havip_to_dict(h) for h in found])


if __name__ == "__main__":
    main()
