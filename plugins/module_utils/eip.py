# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EIPs (Addresses): reading, finding and waiting for the states Tencent documents.

AddressStatus: CREATING, BINDING, BIND, UNBINDING, UNBIND, OFFLINING, BIND_ENI, PRIVATE. A new EIP
is CREATING (or not listed yet) until its AllocateAddresses task ends; a released one is OFFLINING
until it disappears.
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import (
    NOT_FOUND_CODES,
    snake_tags,
)

IN_FLIGHT = ("BINDING", "UNBINDING")
TRANSIENT = ("CREATING", "BINDING", "UNBINDING", "OFFLINING")


def address_to_dict(a):
    """An EIP (Address) as the modules return it (snake_case)."""
    if not a:
        return {}
    return {
        "id": a.get("AddressId"),
        "name": a.get("AddressName") or "",
        "address_ip": a.get("AddressIp"),
        "status": a.get("AddressStatus"),
        "instance_id": a.get("InstanceId") or "",
        "instance_type": a.get("InstanceType") or "",
        "network_interface_id": a.get("NetworkInterfaceId") or "",
        "private_address_ip": a.get("PrivateAddressIp") or "",
        "bandwidth": a.get("Bandwidth"),
        "internet_charge_type": a.get("InternetChargeType") or "",
        "created_time": a.get("CreatedTime"),
        "tags": snake_tags(a.get("TagSet")),
    }


def describe_addresses(module, ids):
    return module.describe_all("DescribeAddresses", {"AddressIds": list(ids)}, "AddressSet", empty_on=NOT_FOUND_CODES)


def describe_address(module, address_id):
    found = describe_addresses(module, [address_id])
    return found[0] if found else None


def find_address_by_ip(module, address_ip):
    found = module.describe_all("DescribeAddresses", {"Filters": [{"Name": "address-ip", "Values": [address_ip]}]},
                                "AddressSet")
    found = [a for a in found if a.get("AddressIp") == address_ip]
    return found[0] if found else None


def find_address_by_name(module, name):
    """The one EIP with that name (AddressName), None, or a failure naming every match."""
    found = [a for a in module.describe_all(
        "DescribeAddresses", {"Filters": [{"Name": "address-name", "Values": [name]}]}, "AddressSet")
        if a.get("AddressName") == name]
    return module.the_one_named(found, name, id_key="AddressId", what="EIPs",
                                hint="give id or address_ip to pick one", result_key="eip_ids")


def wait_address_settled(module, address_id, timeout):
    """Wait until the EIP is listed and out of CREATING/BINDING/UNBINDING (a new EIP may not be
    listed at all until its task ends); returns it."""
    def settled():
        current = describe_address(module, address_id)
        return current if current and current.get("AddressStatus") not in TRANSIENT else None
    return module.wait_until(settled, timeout, f"EIP {address_id} to leave CREATING/BINDING/UNBINDING")


def wait_address_gone(module, address_id, timeout):
    """Wait until a released EIP is no longer listed (it passes through OFFLINING)."""
    module.wait_until(lambda: describe_address(module, address_id) is None, timeout,
                      f"EIP {address_id} to be released (OFFLINING to gone)")


def in_flight(module, holder_id):
    """The EIPs being bound to or unbound from ``holder_id`` (BINDING, UNBINDING)."""
    pending = module.describe_all(
        "DescribeAddresses", {"Filters": [{"Name": "address-status", "Values": list(IN_FLIGHT)}]}, "AddressSet")
    return [a for a in pending if a.get("InstanceId") == holder_id]


def wait_not_in_flight(module, holder_id, timeout):
    """Wait until no EIP is being bound to or unbound from ``holder_id``."""
    module.wait_until(lambda: not in_flight(module, holder_id), timeout, f"the EIP of {holder_id} to settle")
