# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAVIPs: reading, finding, waiting, and the rules a HAVIP and its drift range follow (R1)."""

import ipaddress

from ansible.module_utils.common.text.converters import to_text
from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import (
    NOT_FOUND_CODES,
    snake_tags,
)

NEVER_FLUSHED = "0000-00-00 00:00:00"
MAX_DRIFT_RANGE = 10  # instances in a HAVIP's drift range (HaVipAssociationSet)
FILTER_VALUES = 5  # values per filter Tencent accepts in one Describe call


def check_address_in_subnet(address, cidr):
    """R1: a given HAVIP address must lie inside the subnet's CIDR and must not be reserved
    (network, gateway = first host, broadcast: for 10.0.0.0/24 only 10.0.0.2 - 10.0.0.254).
    Returns an error text, or None when the address may be used."""
    try:
        ip = ipaddress.ip_address(to_text(address))
    except ValueError:
        return f"{address} is not an IP address"
    net = ipaddress.ip_network(to_text(cidr), strict=False)
    if ip.version != 4 or ip not in net:
        return f"{address} is not inside the subnet's CIDR {net} (R1)"
    if ip in (net.network_address, net.network_address + 1, net.broadcast_address):
        gateway = net.network_address + 1
        return (f"{address} is reserved in {net}: the network address, the gateway ({gateway}) "
                "and the broadcast address cannot be used (R1)")
    return None


def havip_to_dict(h):
    """A HaVip as the modules return it (snake_case)."""
    if not h:
        return {}
    return {
        "id": h.get("HaVipId"),
        "name": h.get("HaVipName"),
        "vip": h.get("Vip"),
        "vpc_id": h.get("VpcId"),
        "subnet_id": h.get("SubnetId"),
        "state": h.get("State"),
        "instance_id": h.get("InstanceId") or "",
        "network_interface_id": h.get("NetworkInterfaceId") or "",
        "address_ip": h.get("AddressIp") or "",
        "created_time": h.get("CreatedTime"),
        "flushed_time": h.get("FlushedTime") or NEVER_FLUSHED,
        "check_associate": bool(h.get("CheckAssociate")),
        "associated_instances": drift_range(h),
        "tags": snake_tags(h.get("TagSet")),
    }


def drift_range(h):
    return [a.get("InstanceId") for a in (h or {}).get("HaVipAssociationSet") or []]


def describe_havip(module, havip_id):
    """The HAVIP with that id, or None."""
    found = module.describe_all("DescribeHaVips", {"HaVipIds": [havip_id]}, "HaVipSet", empty_on=NOT_FOUND_CODES)
    return found[0] if found else None


def find_havip_by_name(module, name, vpc_id):
    """The one HAVIP of the VPC with that name, None, or a failure naming every match."""
    filters = [{"Name": "havip-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    found = [h for h in module.describe_all("DescribeHaVips", {"Filters": filters}, "HaVipSet")
             if h.get("HaVipName") == name and h.get("VpcId") == vpc_id]
    return module.the_one_named(found, name, id_key="HaVipId", what=f"HAVIPs in {vpc_id}",
                                hint="give id to pick one", result_key="havip_ids")


def wait_havip_gone(module, havip_id, timeout):
    module.wait_until(lambda: describe_havip(module, havip_id) is None, timeout, f"HAVIP {havip_id} to be deleted")


def wait_havip_eip(module, havip_id, address_ip, timeout):
    """Wait until the HAVIP carries ``address_ip`` ("" for none)."""
    def carries():
        current = describe_havip(module, havip_id)
        return current is not None and (current.get("AddressIp") or "") == address_ip
    module.wait_until(carries, timeout, f"{havip_id} to carry {address_ip or 'no EIP'}")


def association_type(instance_id):
    if instance_id.startswith("ins-"):
        return "CVM"
    if instance_id.startswith("eni-"):
        return "ENI"
    return None


def instance_subnets(module, instance_ids):
    """{instance id: set of subnet ids} of the given CVMs (ins-...) and ENIs (eni-...), read from
    DescribeNetworkInterfaces (a CVM's subnets are those of its ENIs). Ids that do not exist are
    absent from the answer."""
    subnets = {}
    cvms = [i for i in instance_ids if association_type(i) == "CVM"]
    enis = [i for i in instance_ids if association_type(i) == "ENI"]
    for start in range(0, len(cvms), FILTER_VALUES):
        chunk = cvms[start:start + FILTER_VALUES]
        query = {"Filters": [{"Name": "attachment.instance-id", "Values": chunk}]}
        for eni in module.describe_all("DescribeNetworkInterfaces", query, "NetworkInterfaceSet"):
            holder = (eni.get("Attachment") or {}).get("InstanceId")
            if holder in chunk:
                subnets.setdefault(holder, set()).add(eni.get("SubnetId"))
    if enis:
        for eni in module.describe_all("DescribeNetworkInterfaces", {"NetworkInterfaceIds": enis},
                                       "NetworkInterfaceSet", empty_on=NOT_FOUND_CODES):
            subnets.setdefault(eni.get("NetworkInterfaceId"), set()).add(eni.get("SubnetId"))
    return subnets
