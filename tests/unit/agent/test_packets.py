"""Wire codecs of the VRRP agent (R3, R4a): golden bytes written by hand from the RFC layouts,
adverts captured from a real Keepalived 2.2.7, and property tests that malformed input only ever
raises DropError."""

import struct

import pytest
from havip_vrrp import packets
from havip_vrrp.packets import ArpFrame, DropError, IPv4Header, VrrpV2Advert, VrrpV3Advert
from hypothesis import given, settings
from hypothesis import strategies as st

# RFC 3768 section 5.1, VRID 51, priority 100, one address 172.16.16.12, auth PASS "1111",
# advert_int 5. Checksum by hand: 0x2133 + 0x6401 + 0x0105 + 0xac10 + 0x100c + 0x3131 + 0x3131
# = 0xa4b8 (folded), one's complement 0x5b47.
GOLDEN_V2 = bytes(
    [
        0x21,  # version 2 | type 1 (ADVERTISEMENT)
        51,  # VRID
        100,  # priority
        1,  # count IP addrs
        1,  # auth type 1 (simple text password)
        5,  # adver int (seconds)
        0x5B,
        0x47,  # checksum
        172, 16, 16, 12,  # IP address 1
        ord("1"), ord("1"), ord("1"), ord("1"), 0, 0, 0, 0,  # authentication data, NUL padded
    ]
)  # fmt: skip

# RFC 5798 section 5.1 (IPv4), VRID 51, priority 100, 172.16.16.12, max advert int 500 cs, sent
# 172.16.16.5 -> 172.16.16.6. Checksum with the pseudo-header (5.2.8):
# 0xac10+0x1005+0xac10+0x1006+0x0070+0x000c + 0x3133+0x6401+0x01f4+0xac10+0x100c = 0xcbed (folded),
# one's complement 0x3412.
GOLDEN_V3 = bytes(
    [
        0x31, 51, 100, 1,  # version 3 | type 1, VRID, priority, count
        0x01, 0xF4,  # rsvd (4 bits) | max adver int 500 centiseconds
        0x34, 0x12,  # checksum
        172, 16, 16, 12,
    ]
)  # fmt: skip


def test_v2_pack_matches_hand_built_bytes():
    advert = VrrpV2Advert.with_password(51, 100, ("172.16.16.12",), 5, "1111")
    assert advert.pack() == GOLDEN_V2


def test_v2_unpack_hand_built_bytes():
    advert = VrrpV2Advert.unpack(GOLDEN_V2)
    assert advert == VrrpV2Advert(51, 100, ("172.16.16.12",), 5, 1, b"1111\x00\x00\x00\x00")
    assert advert.interval == 5.0


def test_v2_auth_none_keeps_eight_zero_bytes():
    raw = VrrpV2Advert(7, 255, ("10.0.0.1", "10.0.0.2"), 1).pack()
    assert len(raw) == 8 + 8 + 8
    assert raw[-8:] == b"\x00" * 8
    assert packets.inet_checksum(raw) == 0


def test_pass_field_truncates_and_pads_like_keepalived():
    assert packets.pass_field("123456789") == b"12345678"
    assert packets.pass_field("ab") == b"ab\x00\x00\x00\x00\x00\x00"


def test_v3_pack_and_unpack_hand_built_bytes():
    advert = VrrpV3Advert(51, 100, ("172.16.16.12",), 500)
    assert advert.pack("172.16.16.5", "172.16.16.6") == GOLDEN_V3
    assert VrrpV3Advert.unpack(GOLDEN_V3, "172.16.16.5", "172.16.16.6") == advert
    assert advert.interval == 5.0


def test_v3_checksum_depends_on_pseudo_header():
    with pytest.raises(DropError) as err:
        VrrpV3Advert.unpack(GOLDEN_V3, "172.16.16.5", "224.0.0.18")
    assert err.value.reason == "bad_checksum"


def test_v3_reserved_bits_ignored():
    # RFC 5798 5.2.6: rsvd MUST be set to zero on transmission and ignored on reception.
    raw = bytearray(GOLDEN_V3)
    raw[4] |= 0xF0
    raw[6:8] = b"\x00\x00"
    pseudo = packets.pseudo_header("172.16.16.5", "172.16.16.6", len(raw))
    raw[6:8] = struct.pack("!H", packets.inet_checksum(pseudo + bytes(raw)))
    assert VrrpV3Advert.unpack(bytes(raw), "172.16.16.5", "172.16.16.6").max_advert_int == 500


def ip_header(payload, ttl=255, proto=112, src="172.16.16.5", dst="172.16.16.6"):
    """An IPv4 header (RFC 791 3.1) built by hand; the header checksum is left 0 (the kernel
    verifies it before a raw socket sees the packet)."""
    return (
        bytes([0x45, 0xC0])
        + struct.pack("!H", 20 + len(payload))
        + b"\x00\x00\x00\x00"
        + bytes([ttl, proto])
        + b"\x00\x00"
        + bytes(int(x) for x in src.split("."))
        + bytes(int(x) for x in dst.split("."))
        + payload
    )


def test_decode_ip_packet():
    header, advert = packets.decode_ip_packet(ip_header(GOLDEN_V2))
    assert (header.src, header.dst, header.ttl) == ("172.16.16.5", "172.16.16.6", 255)
    assert advert.priority == 100
    header, advert = packets.decode_ip_packet(ip_header(GOLDEN_V3))
    assert advert == VrrpV3Advert(51, 100, ("172.16.16.12",), 500)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        # The TTL 255 rule depends on the instance (multicast only, as Keepalived): test_protocol.py.
        (ip_header(GOLDEN_V2, proto=17), "bad_protocol"),
        (ip_header(GOLDEN_V2)[:10], "truncated"),
        (b"\x65" + ip_header(GOLDEN_V2)[1:], "bad_ip_header"),
        (b"\x44" + ip_header(GOLDEN_V2)[1:], "bad_ip_header"),
    ],
)
def test_ip_header_drops(raw, reason):
    with pytest.raises(DropError) as err:
        IPv4Header.unpack(raw)
    assert err.value.reason == reason


def mutate(raw, index, value, fix_checksum=True):
    data = bytearray(raw)
    data[index] = value
    if fix_checksum:
        data[6:8] = b"\x00\x00"
        data[6:8] = struct.pack("!H", packets.inet_checksum(bytes(data)))
    return bytes(data)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (GOLDEN_V2[:7], "truncated"),
        (GOLDEN_V2[:-1], "truncated"),
        (GOLDEN_V2 + b"\x00\x00", "bad_length"),
        (mutate(GOLDEN_V2, 0, 0x31), "bad_version"),
        (mutate(GOLDEN_V2, 0, 0x22), "bad_type"),
        (mutate(GOLDEN_V2, 1, 0), "bad_vrid"),
        (mutate(GOLDEN_V2, 2, 99, fix_checksum=False), "bad_checksum"),
        (mutate(GOLDEN_V2, 4, 2), "bad_auth"),
        (mutate(GOLDEN_V2, 5, 0), "bad_interval"),
        (mutate(GOLDEN_V2, 3, 0), "bad_address_count"),
        (mutate(GOLDEN_V2, 3, 2), "truncated"),
    ],
)
def test_v2_drops(raw, reason):
    with pytest.raises(DropError) as err:
        VrrpV2Advert.unpack(raw)
    assert err.value.reason == reason


def test_v3_drops():
    for raw, reason in [
        (GOLDEN_V3[:5], "truncated"),
        (GOLDEN_V3 + b"\x00", "bad_length"),
        (bytes([0x32]) + GOLDEN_V3[1:], "bad_type"),
        (GOLDEN_V3[:3] + b"\x00" + GOLDEN_V3[4:8], "bad_address_count"),
    ]:
        with pytest.raises(DropError) as err:
            VrrpV3Advert.unpack(raw, "172.16.16.5", "172.16.16.6")
        assert err.value.reason == reason


def test_check_advert_against_local_config():
    advert = VrrpV2Advert.unpack(GOLDEN_V2)
    ok = {"vrid": 51, "version": 2, "advert_int": 5, "auth_pass": "1111", "addresses": ("172.16.16.12",)}
    packets.check_advert(advert, **ok)
    for change, reason in [
        ({"vrid": 52}, "bad_vrid"),
        ({"version": 3}, "bad_version"),
        ({"advert_int": 1}, "bad_interval"),
        ({"auth_pass": "2222"}, "bad_auth"),
        ({"auth_pass": None}, "bad_auth"),
        ({"addresses": ("172.16.16.13",)}, "bad_addresses"),
        ({"addresses": ("172.16.16.12", "172.16.16.13")}, "bad_address_count"),
    ]:
        with pytest.raises(DropError) as err:
            packets.check_advert(advert, **{**ok, **change})
        assert err.value.reason == reason
    packets.check_advert(advert, **{**ok, "addresses": None})  # vrrp_skip_check_adv_addr


def test_gratuitous_arp_frame_layout():
    frame = ArpFrame.gratuitous("02:00:00:00:00:05", "172.16.16.12").pack()
    mac = bytes([2, 0, 0, 0, 0, 5])
    vip = bytes([172, 16, 16, 12])
    expected = (
        b"\xff" * 6 + mac + b"\x08\x06"  # Ethernet: broadcast, our MAC, ethertype ARP
        + b"\x00\x01" + b"\x08\x00" + b"\x06" + b"\x04"  # htype Ethernet, ptype IPv4, hlen, plen
        + b"\x00\x01"  # op request
        + mac + vip  # sender MAC / IP
        + b"\x00" * 6 + vip  # target MAC (ignored) / IP == sender IP (RFC 5227 3)
    )  # fmt: skip
    assert frame == expected
    assert ArpFrame.unpack(frame).sender_ip == "172.16.16.12"
    reply = ArpFrame.gratuitous(mac, "172.16.16.12", op=packets.ARP_REPLY).pack()
    assert reply[20:22] == b"\x00\x02"
    assert reply[32:38] == b"\xff" * 6


def test_arp_drops():
    frame = ArpFrame.gratuitous("02:00:00:00:00:05", "172.16.16.12").pack()
    for raw, reason in [(frame[:20], "truncated"), (frame[:12] + b"\x08\x00" + frame[14:], "bad_arp")]:
        with pytest.raises(DropError) as err:
            ArpFrame.unpack(raw)
        assert err.value.reason == reason


# --- property tests: nothing but DropError, whatever arrives ------------------------------------


def decode_everything(data):
    for decode in (
        VrrpV2Advert.unpack,
        lambda d: VrrpV3Advert.unpack(d, "10.0.0.1", "10.0.0.2"),
        IPv4Header.unpack,
        packets.decode_ip_packet,
        ArpFrame.unpack,
    ):
        try:
            decode(data)
        except DropError as err:
            assert err.reason in packets.DROP_REASONS


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_only_raise_drop_error(data):
    decode_everything(data)


VALID = [GOLDEN_V2, GOLDEN_V3, ip_header(GOLDEN_V2), ip_header(GOLDEN_V3)]


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
    st.integers(0, 60),
    st.binary(max_size=8),
)
def test_mutated_valid_packets_only_raise_drop_error(base, flips, cut, extra):
    data = bytearray(base)
    for index, value in flips:
        if data:
            data[index % len(data)] = value
    data = bytes(data[: max(0, len(data) - cut)]) + extra if cut % 3 == 0 else bytes(data) + extra
    decode_everything(data)


# --- adverts captured from a real Keepalived 2.2.7 ------------------------------------------------
# Captured with a raw IPPROTO_VRRP socket in network namespace hvtest-b while `keepalived -n -P`
# ran in hvtest-a (veth pair, unicast_src_ip 172.16.16.5, unicast_peer 172.16.16.6, VRID 51,
# VIP 172.16.16.12). Whole IPv4 packets, as a raw socket returns them.
KEEPALIVED_V2_PASS = bytes.fromhex(  # priority 100, advert_int 1, auth_pass 1111
    "45c0002800010000ff704279ac101005ac1010062133640101015b4bac10100c3131313100000000"
)
KEEPALIVED_V2_LONG_PASS = bytes.fromhex(  # priority 150, advert_int 5, auth_pass 123456789
    "45c0002800010000ff704279ac101005ac101006213396010105bad4ac10100c3132333435363738"
)
KEEPALIVED_V2_STOP = bytes.fromhex(  # the same instance on SIGTERM: priority 0
    "45c0002800040000ff704276ac101005ac10100621330001010550d5ac10100c3132333435363738"
)
KEEPALIVED_V3 = bytes.fromhex(  # vrrp_version 3, priority 100, advert_int 1 (100 cs)
    "45c0002000010000ff704281ac101005ac10100631336401006435a2ac10100c"
)


def test_keepalived_v2_pass_advert():
    header, advert = packets.decode_ip_packet(KEEPALIVED_V2_PASS)
    assert (header.src, header.dst, header.ttl, header.protocol) == ("172.16.16.5", "172.16.16.6", 255, 112)
    assert advert == VrrpV2Advert.with_password(51, 100, ("172.16.16.12",), 1, "1111")
    assert advert.pack() == KEEPALIVED_V2_PASS[20:]
    packets.check_advert(advert, vrid=51, version=2, advert_int=1, auth_pass="1111", addresses=("172.16.16.12",))


def test_keepalived_truncates_auth_pass_to_eight():
    _unused, advert = packets.decode_ip_packet(KEEPALIVED_V2_LONG_PASS)
    assert advert.auth_data == b"12345678"
    assert (advert.priority, advert.advert_int) == (150, 5)
    assert VrrpV2Advert.with_password(51, 150, ("172.16.16.12",), 5, "123456789").pack() == KEEPALIVED_V2_LONG_PASS[20:]
    packets.check_advert(advert, vrid=51, version=2, advert_int=5, auth_pass="123456789")


def test_keepalived_priority_zero_on_stop():
    _unused, advert = packets.decode_ip_packet(KEEPALIVED_V2_STOP)
    assert advert.priority == packets.PRIORITY_STOP
    assert VrrpV2Advert.with_password(51, 0, ("172.16.16.12",), 5, "12345678").pack() == KEEPALIVED_V2_STOP[20:]


def test_keepalived_v3_advert_and_pseudo_header_checksum():
    header, advert = packets.decode_ip_packet(KEEPALIVED_V3)
    assert advert == VrrpV3Advert(51, 100, ("172.16.16.12",), 100)
    assert advert.pack(header.src, header.dst) == KEEPALIVED_V3[20:]
