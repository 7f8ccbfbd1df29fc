"""Virtual addresses with the `ip` command (iproute2)."""

from __future__ import annotations

import subprocess

IP = "ip"


def _run(args: list, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([IP, *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise OSError(f"{IP} {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def addresses(interface: str) -> list:
    """IPv4 addresses on ``interface`` as (address, prefixlen), primary first."""
    out = _run(["-4", "-o", "addr", "show", "dev", interface]).stdout
    result = []
    for line in out.splitlines():
        words = line.split()
        if "inet" in words:
            address, _unused, prefix = words[words.index("inet") + 1].partition("/")
            result.append((address, int(prefix or 32)))
    return result


def primary_address(interface: str) -> str | None:
    found = addresses(interface)
    return found[0][0] if found else None


def has_address(interface: str, address: str) -> bool:
    return any(a == address for a, _unused in addresses(interface))


def add_vip(cidr: str, interface: str) -> None:
    # `replace` is idempotent: no error when the address is already there.
    _run(["-4", "addr", "replace", cidr, "dev", interface])


def remove_vip(cidr: str, interface: str) -> bool:
    """Remove the VIP if present (a stale VIP left by a killed run, see docs/lab.md); True if removed."""
    address = cidr.partition("/")[0]
    if not has_address(interface, address):
        return False
    _run(["-4", "addr", "del", cidr, "dev", interface])
    return True


def interface_up(interface: str) -> bool:
    try:
        with open(f"/sys/class/net/{interface}/operstate", encoding="ascii") as handle:
            state = handle.read().strip()
        with open(f"/sys/class/net/{interface}/flags", encoding="ascii") as handle:
            flags = int(handle.read().strip(), 16)
    except OSError:
        return False
    return bool(flags & 0x1) and state in ("up", "unknown")
