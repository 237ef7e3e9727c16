"""Which addresses a TCP port listens on, read from ``/proc/net/tcp`` and ``/proc/net/tcp6`` (Linux)."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

_LISTEN = "0A"


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(struct.pack("<I", struct.unpack(">I", raw)[0])))
    words = struct.unpack(">4I", raw)  # four host-order 32-bit words
    packed = b"".join(struct.pack("<I", w) for w in words)
    address = ipaddress.IPv6Address(packed)
    return str(address.ipv4_mapped or address)


def listening_addresses(port: int) -> set[str]:
    """Every local address with a socket in LISTEN on ``port`` (``0.0.0.0`` / ``::``: all of them)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            hex_address, hex_port = local.split(":")
            if state == _LISTEN and int(hex_port, 16) == port:
                found.add(_address(hex_address))
    return found


def is_loopback_only(addresses: set[str]) -> bool:
    """True when there is at least one address and every one is a loopback address."""
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)
