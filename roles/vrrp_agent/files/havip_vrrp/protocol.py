"""The packet rules of the sans-IO core: which instance a received packet is for, whether it is
accepted, and how our own adverts are encoded. Pure functions of a MachineConfig: the daemon only
reads sockets and calls these, so that virtual-time tests reach every rule.

Receiving checks: RFC 3768 7.1 / RFC 5798 7.1 (packets.check_advert), with Keepalived's
treatment of unicast peers (vrrp.c, vrrp_in_chk: the TTL 255 check applies to multicast only).
"""

from __future__ import annotations

from .machine import MachineConfig
from .packets import AUTH_PASS, VRRP_TTL, DropError, IPv4Header, VrrpV2Advert, VrrpV3Advert, check_advert, pass_field


def match_instance(configs, interface: str, vrid: int) -> MachineConfig | None:
    """The instance a packet received on ``interface`` with ``vrid`` is for (RFC 3768 7.1: the
    VRID must be valid on the receiving interface), or None."""
    for config in configs:
        if config.interface == interface and config.vrid == vrid:
            return config
    return None


def accept(config: MachineConfig, header: IPv4Header, advert: VrrpV2Advert | VrrpV3Advert) -> bool:
    """True: hand the advert to the machine. False: our own advert (multicast loops it back; not a
    drop). Raises DropError(reason) for a packet to drop and count."""
    if header.src == config.primary_ip:
        return False
    if not config.unicast_peers and header.ttl != VRRP_TTL:
        # RFC 3768 7.1 / RFC 5798 7.1: MUST verify that the IP TTL is 255. Keepalived checks it
        # only without unicast peers (vrrp.c, vrrp_in_chk: `LIST_ISEMPTY(vrrp->unicast_peer) &&
        # ip->ttl != VRRP_IP_TTL`): a routed unicast path lowers the TTL, and a mixed cluster must
        # not split over it.
        raise DropError("bad_ttl", f"TTL {header.ttl}")
    if config.unicast_peers and header.src not in config.unicast_peers:
        # Stricter than Keepalived's default (vrrp_check_unicast_src off): only the configured
        # peers may take part (R4a).
        raise DropError("unknown_peer", header.src)
    check_advert(
        advert,
        vrid=config.vrid,
        version=config.version,
        advert_int=config.advert_int,
        auth_pass=config.auth_pass,
        addresses=config.vips if config.check_addresses else None,
    )
    return True


def encode_advert(config: MachineConfig, priority: int) -> VrrpV2Advert | VrrpV3Advert:
    """Our advert with ``priority``: VRRPv3 carries centiseconds (RFC 5798 5.2.7), VRRPv2 whole
    seconds and the PASS authentication data (RFC 3768 5.3.6-5.3.10)."""
    if config.version == 3:
        return VrrpV3Advert(config.vrid, priority, config.vips, round(config.advert_int * 100))
    seconds = int(config.advert_int)
    if config.auth_pass:
        return VrrpV2Advert(config.vrid, priority, config.vips, seconds, AUTH_PASS, pass_field(config.auth_pass))
    return VrrpV2Advert(config.vrid, priority, config.vips, seconds)
