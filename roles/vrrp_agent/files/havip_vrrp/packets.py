"""Wire codecs: VRRPv2 (RFC 3768), VRRPv3 for IPv4 (RFC 5798), the IPv4 header of raw-socket
reads (RFC 791) and gratuitous ARP frames (RFC 826, RFC 5227).

Every codec is a frozen dataclass with ``pack()`` and a ``unpack()`` classmethod. Every malformed
input raises :class:`DropError` and nothing else; its ``reason`` is a short label counted in the
``adverts_dropped_total{reason}`` metric.
"""

from __future__ import annotations

import socket
import struct

from .records import dataclass

IPPROTO_VRRP = 112  # RFC 3768 section 5.2.4, RFC 5798 section 5.1.1.4
VRRP_MCAST_V4 = "224.0.0.18"  # RFC 3768 section 5.2.2
VRRP_TTL = 255  # RFC 3768 section 5.2.3: sent with TTL 255, checked on receipt (section 7.1, protocol.py)
TYPE_ADVERTISEMENT = 1  # RFC 3768 section 5.3.2, RFC 5798 section 5.2.2
AUTH_NONE = 0  # RFC 3768 section 5.3.6
AUTH_PASS = 1  # RFC 3768 section 5.3.6 ("Simple Text Password"), Keepalived's auth_type PASS
AUTH_DATA_LEN = 8  # RFC 3768 section 5.3.10: 8 octets, Keepalived truncates auth_pass to 8
PRIORITY_STOP = 0  # RFC 3768 section 5.3.4: master stops participating
PRIORITY_OWNER = 255  # RFC 3768 section 5.3.4: address owner

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARP_REQUEST = 1
ARP_REPLY = 2
BROADCAST_MAC = b"\xff" * 6

_V2_HEADER = struct.Struct("!BBBBBBH")  # ver|type, vrid, prio, count, auth type, adver int, csum
_V3_HEADER = struct.Struct("!BBBBHH")  # ver|type, vrid, prio, count, rsvd|max adver int, csum
_IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
_ETH_HEADER = struct.Struct("!6s6sH")
_ARP_BODY = struct.Struct("!HHBBH6s4s6s4s")

DROP_REASONS = (
    "truncated",
    "bad_version",
    "bad_type",
    "bad_checksum",
    "bad_ttl",
    "bad_protocol",
    "bad_ip_header",
    "bad_vrid",
    "bad_auth",
    "bad_length",
    "bad_address_count",
    "bad_addresses",
    "bad_interval",
    "bad_priority",
    "bad_arp",
    "unknown_peer",
)


class DropError(ValueError):
    """A packet that must be dropped; ``reason`` is one of :data:`DROP_REASONS`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in DROP_REASONS:
            raise AssertionError(f"unknown drop reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def inet_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): 16-bit one's complement of the one's complement sum."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_bytes(address: str) -> bytes:
    """The 4 octets of a dotted-quad IPv4 address, strictly (no shorthand, no leading zeros, as
    the ipaddress module; without its import cost in the agent's memory). ValueError otherwise."""
    try:
        return socket.inet_pton(socket.AF_INET, address)
    except (OSError, TypeError):
        raise ValueError(f"{address!r} is not an IPv4 address") from None


_addr_bytes = ipv4_bytes


def _addr_str(raw: bytes) -> str:
    return socket.inet_ntoa(raw)


def _check_common(data: bytes, version: int, min_len: int) -> None:
    if len(data) < min_len:
        raise DropError("truncated", f"{len(data)} bytes")
    if data[0] >> 4 != version:
        raise DropError("bad_version", f"version {data[0] >> 4}, expected {version}")
    if data[0] & 0x0F != TYPE_ADVERTISEMENT:
        # RFC 3768 5.3.2 / RFC 5798 5.2.2: a packet with unknown type MUST be discarded.
        raise DropError("bad_type", f"type {data[0] & 0x0F}")
    if data[1] == 0:
        raise DropError("bad_vrid", "VRID 0")  # RFC 3768 5.3.3: VRID is 1-255


@dataclass(frozen=True)
class VrrpV2Advert:
    """A VRRPv2 ADVERTISEMENT (RFC 3768 section 5.1).

    ``auth_data`` is the raw 8-octet Authentication Data field. With auth type 1 (PASS) it holds
    the password NUL padded, exactly as Keepalived sends it.
    """

    vrid: int
    priority: int
    addresses: tuple[str, ...]
    advert_int: int = 1
    auth_type: int = AUTH_NONE
    auth_data: bytes = b"\x00" * AUTH_DATA_LEN

    version = 2

    @classmethod
    def with_password(
        cls, vrid: int, priority: int, addresses: tuple[str, ...], advert_int: int, password: str
    ) -> VrrpV2Advert:
        return cls(vrid, priority, tuple(addresses), advert_int, AUTH_PASS, pass_field(password))

    @property
    def interval(self) -> float:
        """Advertisement interval in seconds."""
        return float(self.advert_int)

    def pack(self) -> bytes:
        if not 1 <= self.vrid <= 255 or not 0 <= self.priority <= 255:
            raise ValueError("vrid must be 1-255 and priority 0-255")
        if not 1 <= self.advert_int <= 255:
            raise ValueError("VRRPv2 advert_int is 1-255 whole seconds (RFC 3768 5.3.7)")
        if len(self.auth_data) != AUTH_DATA_LEN:
            raise ValueError("auth_data must be 8 bytes")
        body = b"".join(_addr_bytes(a) for a in self.addresses)
        header = _V2_HEADER.pack(
            (2 << 4) | TYPE_ADVERTISEMENT,
            self.vrid,
            self.priority,
            len(self.addresses),
            self.auth_type,
            self.advert_int,
            0,
        )
        message = header + body + self.auth_data
        # RFC 3768 5.3.8: checksum over the entire VRRP message, checksum field set to 0.
        csum = inet_checksum(message)
        return message[:6] + struct.pack("!H", csum) + message[8:]

    @classmethod
    def unpack(cls, data: bytes) -> VrrpV2Advert:
        data = bytes(data)
        _check_common(data, 2, _V2_HEADER.size + AUTH_DATA_LEN)
        _unused, vrid, priority, count, auth_type, advert_int, _unused = _V2_HEADER.unpack_from(data)
        if count == 0:
            raise DropError("bad_address_count", "no address")  # RFC 3768 5.3.5: at least one
        expected = _V2_HEADER.size + 4 * count + AUTH_DATA_LEN
        if len(data) < expected:
            raise DropError("truncated", f"{len(data)} bytes for {count} addresses")
        if len(data) != expected:
            raise DropError("bad_length", f"{len(data)} bytes, expected {expected}")
        if inet_checksum(data) != 0:
            raise DropError("bad_checksum")  # RFC 3768 7.1: MUST verify the checksum
        if auth_type not in (AUTH_NONE, AUTH_PASS):
            # RFC 3768 5.3.6: type 2 (IP AH) was removed; Keepalived no longer speaks it.
            raise DropError("bad_auth", f"auth type {auth_type}")
        if advert_int == 0:
            raise DropError("bad_interval", "advert_int 0")
        addresses = tuple(_addr_str(data[8 + 4 * i : 12 + 4 * i]) for i in range(count))
        return cls(vrid, priority, addresses, advert_int, auth_type, data[expected - AUTH_DATA_LEN : expected])


def pass_field(password: str) -> bytes:
    """The 8-octet PASS Authentication Data: truncated to 8 bytes and NUL padded (Keepalived)."""
    raw = password.encode()[:AUTH_DATA_LEN]
    return raw + b"\x00" * (AUTH_DATA_LEN - len(raw))


def pseudo_header(src: str, dst: str, length: int) -> bytes:
    """The IPv4 pseudo-header of RFC 5798 section 5.2.8 (as for UDP, RFC 768)."""
    return _addr_bytes(src) + _addr_bytes(dst) + struct.pack("!BBH", 0, IPPROTO_VRRP, length)


@dataclass(frozen=True)
class VrrpV3Advert:
    """A VRRPv3 ADVERTISEMENT for IPv4 (RFC 5798 section 5.1).

    ``max_advert_int`` is in centiseconds (12 bits, RFC 5798 section 5.2.7). The checksum covers an
    IPv4 pseudo-header (section 5.2.8), so pack and unpack need the source and destination.
    """

    vrid: int
    priority: int
    addresses: tuple[str, ...]
    max_advert_int: int = 100

    version = 3

    @property
    def interval(self) -> float:
        """Advertisement interval in seconds."""
        return self.max_advert_int / 100.0

    def pack(self, src: str, dst: str) -> bytes:
        if not 1 <= self.vrid <= 255 or not 0 <= self.priority <= 255:
            raise ValueError("vrid must be 1-255 and priority 0-255")
        if not 1 <= self.max_advert_int <= 0x0FFF:
            raise ValueError("max_advert_int is 1-4095 centiseconds (RFC 5798 5.2.7)")
        body = b"".join(_addr_bytes(a) for a in self.addresses)
        header = _V3_HEADER.pack(
            (3 << 4) | TYPE_ADVERTISEMENT, self.vrid, self.priority, len(self.addresses), self.max_advert_int, 0
        )
        message = header + body
        csum = inet_checksum(pseudo_header(src, dst, len(message)) + message)
        return message[:6] + struct.pack("!H", csum) + message[8:]

    @classmethod
    def unpack(cls, data: bytes, src: str, dst: str) -> VrrpV3Advert:
        data = bytes(data)
        _check_common(data, 3, _V3_HEADER.size)
        _unused, vrid, priority, count, rsvd_int, _unused = _V3_HEADER.unpack_from(data)
        if count == 0:
            raise DropError("bad_address_count", "no address")  # RFC 5798 5.2.5: at least one
        expected = _V3_HEADER.size + 4 * count
        if len(data) < expected:
            raise DropError("truncated", f"{len(data)} bytes for {count} addresses")
        if len(data) != expected:
            raise DropError("bad_length", f"{len(data)} bytes, expected {expected}")
        if inet_checksum(pseudo_header(src, dst, len(data)) + data) != 0:
            raise DropError("bad_checksum")  # RFC 5798 7.1: MUST verify the checksum
        max_advert_int = rsvd_int & 0x0FFF  # RFC 5798 5.2.6: rsvd MUST be ignored on receipt
        if max_advert_int == 0:
            raise DropError("bad_interval", "max advert interval 0")
        addresses = tuple(_addr_str(data[8 + 4 * i : 12 + 4 * i]) for i in range(count))
        return cls(vrid, priority, addresses, max_advert_int)


@dataclass(frozen=True)
class IPv4Header:
    """The fields of an IPv4 header (RFC 791 section 3.1) a VRRP receiver checks."""

    src: str
    dst: str
    ttl: int
    protocol: int
    header_len: int
    total_len: int

    @classmethod
    def unpack(cls, data: bytes) -> IPv4Header:
        data = bytes(data)
        if len(data) < _IPV4_HEADER.size:
            raise DropError("truncated", f"{len(data)} bytes of IPv4 header")
        ver_ihl, _unused, total_len, _unused, _unused, ttl, protocol, _unused, src, dst = _IPV4_HEADER.unpack_from(data)
        if ver_ihl >> 4 != 4:
            raise DropError("bad_ip_header", f"IP version {ver_ihl >> 4}")
        header_len = (ver_ihl & 0x0F) * 4
        if header_len < _IPV4_HEADER.size:
            raise DropError("bad_ip_header", f"IHL {header_len}")
        if len(data) < header_len or total_len < header_len:
            raise DropError("truncated", "IPv4 options cut")
        if total_len > len(data):
            raise DropError("truncated", f"IP total length {total_len} > {len(data)}")
        if protocol != IPPROTO_VRRP:
            raise DropError("bad_protocol", f"protocol {protocol}")
        # The TTL 255 rule (RFC 3768 7.1) depends on the instance (multicast or unicast peers):
        # protocol.accept applies it.
        return cls(_addr_str(src), _addr_str(dst), ttl, protocol, header_len, total_len)

    @classmethod
    def split(cls, data: bytes) -> tuple[IPv4Header, bytes]:
        """Parse a raw-socket read: the IPv4 header and the VRRP message it carries."""
        header = cls.unpack(data)
        return header, bytes(data[header.header_len : header.total_len])


def decode_ip_packet(data: bytes) -> tuple[IPv4Header, VrrpV2Advert | VrrpV3Advert]:
    """Decode a whole IPv4 packet read from a raw protocol-112 socket."""
    header, payload = IPv4Header.split(data)
    return header, decode_vrrp(payload, header.src, header.dst)


def decode_vrrp(payload: bytes, src: str, dst: str) -> VrrpV2Advert | VrrpV3Advert:
    """Decode a VRRP message of either version (the version nibble picks the codec)."""
    if not payload:
        raise DropError("truncated", "empty VRRP message")
    version = payload[0] >> 4
    if version == 2:
        return VrrpV2Advert.unpack(payload)
    if version == 3:
        return VrrpV3Advert.unpack(payload, src, dst)
    raise DropError("bad_version", f"version {version}")


def check_advert(
    advert: VrrpV2Advert | VrrpV3Advert,
    *,
    vrid: int,
    version: int,
    advert_int: float,
    auth_pass: str | None = None,
    addresses: tuple[str, ...] | None = None,
) -> None:
    """The receiving checks of RFC 3768 section 7.1 / RFC 5798 section 7.1 against local config.

    ``addresses`` None skips the address check (Keepalived's ``vrrp_skip_check_adv_addr``).
    """
    if advert.vrid != vrid:
        raise DropError("bad_vrid", f"VRID {advert.vrid}, ours {vrid}")
    if advert.version != version:
        raise DropError("bad_version", f"version {advert.version}, ours {version}")
    if isinstance(advert, VrrpV2Advert):
        want_type = AUTH_PASS if auth_pass else AUTH_NONE
        if advert.auth_type != want_type:
            # RFC 3768 7.1: auth type must match the locally configured one.
            raise DropError("bad_auth", f"auth type {advert.auth_type}, ours {want_type}")
        if want_type == AUTH_PASS and advert.auth_data != pass_field(auth_pass or ""):
            raise DropError("bad_auth", "password mismatch")
        if advert.advert_int != int(advert_int):
            # RFC 3768 7.1: MUST verify the Adver Interval matches the local one.
            raise DropError("bad_interval", f"advert_int {advert.advert_int}, ours {int(advert_int)}")
    if addresses is not None and advert.priority != PRIORITY_OWNER:
        if len(advert.addresses) != len(addresses):
            raise DropError("bad_address_count", f"{len(advert.addresses)} addresses, ours {len(addresses)}")
        if sorted(advert.addresses) != sorted(addresses):
            raise DropError("bad_addresses", "address list differs")


def mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise ValueError("MAC must be 6 bytes")
        return mac
    parts = mac.split(":")
    if len(parts) != 6:
        raise ValueError(f"bad MAC {mac!r}")
    return bytes(int(p, 16) for p in parts)


@dataclass(frozen=True)
class ArpFrame:
    """An Ethernet frame carrying ARP for IPv4 over Ethernet (RFC 826).

    A gratuitous ARP (RFC 5227 section 3) announces ``sender_ip`` (the VIP) at ``sender_mac`` with
    ``target_ip == sender_ip``, broadcast.
    """

    op: int
    sender_mac: bytes
    sender_ip: str
    target_mac: bytes
    target_ip: str
    eth_dst: bytes = BROADCAST_MAC
    eth_src: bytes | None = None

    @classmethod
    def gratuitous(cls, mac: str | bytes, address: str, op: int = ARP_REQUEST) -> ArpFrame:
        sender = mac_bytes(mac)
        target = b"\x00" * 6 if op == ARP_REQUEST else BROADCAST_MAC
        return cls(op, sender, address, target, address, BROADCAST_MAC, sender)

    def pack(self) -> bytes:
        eth = _ETH_HEADER.pack(self.eth_dst, self.eth_src or self.sender_mac, ETH_P_ARP)
        arp = _ARP_BODY.pack(
            1,  # hardware type: Ethernet
            ETH_P_IP,
            6,
            4,
            self.op,
            self.sender_mac,
            _addr_bytes(self.sender_ip),
            self.target_mac,
            _addr_bytes(self.target_ip),
        )
        return eth + arp

    @classmethod
    def unpack(cls, data: bytes) -> ArpFrame:
        data = bytes(data)
        if len(data) < _ETH_HEADER.size + _ARP_BODY.size:
            raise DropError("truncated", f"{len(data)} bytes of ARP frame")
        dst, src, ethertype = _ETH_HEADER.unpack_from(data)
        if ethertype != ETH_P_ARP:
            raise DropError("bad_arp", f"ethertype {ethertype:#06x}")
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP_BODY.unpack_from(data, _ETH_HEADER.size)
        if (htype, ptype, hlen, plen) != (1, ETH_P_IP, 6, 4) or op not in (ARP_REQUEST, ARP_REPLY):
            raise DropError("bad_arp", "not IPv4 over Ethernet request/reply")
        return cls(op, sha, _addr_str(spa), tha, _addr_str(tpa), dst, src)
