"""The core's packet rules (protocol.py) with virtual time: which instance a packet is for, which
packets are accepted (own adverts, unicast peers, the TTL rule of Keepalived's vrrp.c), and how
our adverts are encoded (RFC 3768 / RFC 5798, R3, R4a)."""

import pytest
from havip_vrrp import protocol
from havip_vrrp.machine import MachineConfig, SendAdvert, State, VrrpInstance
from havip_vrrp.packets import DropError, VrrpV2Advert, VrrpV3Advert, decode_ip_packet

from .test_packets import ip_header

A, B, C, VIP = "172.16.16.5", "172.16.16.6", "172.16.16.7", "172.16.16.12"


def cfg(**kw):
    base = {"name": "VI_1", "vrid": 51, "priority": 100, "advert_int": 1.0, "primary_ip": A, "vips": (VIP,),
            "interface": "eth0", "auth_pass": "1111", "unicast_peers": (B,)}
    base.update(kw)
    return MachineConfig(**base)


def packet(config, priority=100, src=B, dst=A, ttl=255):
    """An advert as the peer ``src`` would send it for ``config``, read back from a raw socket."""
    advert = protocol.encode_advert(config, priority)
    payload = advert.pack() if isinstance(advert, VrrpV2Advert) else advert.pack(src, dst)
    return decode_ip_packet(ip_header(payload, ttl=ttl, src=src, dst=dst))


def test_match_instance_by_interface_and_vrid():
    one, two = cfg(), cfg(name="VI_2", vrid=52)
    other_if = cfg(name="VI_3", interface="eth1")
    assert protocol.match_instance([one, two, other_if], "eth0", 52) is two
    assert protocol.match_instance([one, two, other_if], "eth1", 51) is other_if
    assert protocol.match_instance([one, two], "eth1", 52) is None
    assert protocol.match_instance([one], "eth0", 99) is None


def test_own_advert_is_not_a_drop():
    header, advert = packet(cfg(), src=A, dst=B)
    assert protocol.accept(cfg(), header, advert) is False


def test_unicast_peer_accepted_with_any_ttl_like_keepalived():
    # Keepalived vrrp.c (vrrp_in_chk) checks TTL 255 only when the instance has no unicast peer:
    # a routed path that lowers the TTL must not split a mixed Keepalived/agent cluster.
    for ttl in (255, 64, 1):
        header, advert = packet(cfg(), ttl=ttl)
        assert protocol.accept(cfg(), header, advert) is True


def test_multicast_requires_ttl_255():
    mcast = cfg(unicast_peers=())
    header, advert = packet(mcast, dst="224.0.0.18")
    assert protocol.accept(mcast, header, advert) is True
    header, advert = packet(mcast, dst="224.0.0.18", ttl=254)
    with pytest.raises(DropError) as err:
        protocol.accept(mcast, header, advert)
    assert err.value.reason == "bad_ttl"  # RFC 3768 7.1


def test_unknown_unicast_peer_is_dropped():
    header, advert = packet(cfg(), src=C)
    with pytest.raises(DropError) as err:
        protocol.accept(cfg(), header, advert)
    assert err.value.reason == "unknown_peer"


@pytest.mark.parametrize(
    ("theirs", "reason"),
    [
        ({"auth_pass": "2222"}, "bad_auth"),
        ({"advert_int": 2.0}, "bad_interval"),
        ({"vips": ("172.16.16.99",)}, "bad_addresses"),
        ({"version": 3, "auth_pass": None}, "bad_version"),
    ],
)
def test_receiving_checks_of_rfc3768(theirs, reason):
    header, advert = packet(cfg(**theirs))
    with pytest.raises(DropError) as err:
        protocol.accept(cfg(), header, advert)
    assert err.value.reason == reason


def test_skip_check_adv_addr():
    header, advert = packet(cfg(vips=("172.16.16.99",)))
    assert protocol.accept(cfg(check_addresses=False), header, advert) is True


def test_encoding_follows_the_version():
    v2 = protocol.encode_advert(cfg(advert_int=5.0), 100)
    assert isinstance(v2, VrrpV2Advert)
    assert (v2.advert_int, v2.auth_type, v2.auth_data) == (5, 1, b"1111\x00\x00\x00\x00")
    assert protocol.encode_advert(cfg(auth_pass=None), 0).auth_type == 0
    v3 = protocol.encode_advert(cfg(version=3, advert_int=0.1, auth_pass=None), 100)
    assert v3 == VrrpV3Advert(51, 100, (VIP,), 10)  # RFC 5798 5.2.7: centiseconds
    assert v3.pack(A, B)  # packs: 10 cs is in range


def test_vrrpv3_advert_int_out_of_range_is_refused_by_the_core():
    # RFC 5798 5.2.7: 12 bits of centiseconds. advert_int 50 used to crash the first advert.
    with pytest.raises(ValueError, match=r"0\.01-40\.95"):
        cfg(version=3, advert_int=50.0, auth_pass=None)


def test_virtual_time_backup_follows_a_unicast_peer_over_a_routed_path():
    """Two packets a routed path delivered with TTL 63 keep our BACKUP from taking over, as with
    Keepalived; without the peer's adverts the master down timer fires."""
    mine = cfg()
    node = VrrpInstance(mine)
    node.start(0.0)
    now = 0.0
    for _unused in range(5):
        now += 1.0
        header, advert = packet(mine, priority=150, ttl=63)
        assert protocol.accept(mine, header, advert)
        node.advert_received(now, advert, header.src)
        node.tick(now)
    assert node.state == State.BACKUP
    actions = node.tick(now + node.master_down_interval + 0.01)
    assert node.state == State.MASTER
    assert SendAdvert(100) in actions
