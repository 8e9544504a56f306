"""Count open connections per client and in all, and say whether one more may come in (pure).

As Postfix's anvil does for `smtpd_client_connection_count_limit`: a client is its IPv4
address or its IPv6 /64 (one host or home holds a whole /64), and peers we trust (our own
Postfix, the TLS proxy) count only towards the total, as Postfix exempts `$mynetworks`.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Refusal = Literal["total", "per_ip"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_CLIENT_BITS = 64

# Files `serve` keeps open besides its clients' connections: SQLite (3 per connection), the
# relay sessions, DNS sockets, signing processes, Maildir files being written, and the
# connections accepted and not yet closed again in one burst. 22 when idle.
RESERVED_FILES = 64


def client_key(ip: str) -> str:
    """What a client's connections are counted under: its IPv4 address or its IPv6 /64."""
    try:
        found = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(found, ipaddress.IPv6Address):
        if found.ipv4_mapped is not None:
            return str(found.ipv4_mapped)
        return str(ipaddress.ip_network(f"{found}/{IPV6_CLIENT_BITS}", strict=False))
    return str(found)


def networks(entries: Sequence[str]) -> tuple[Network, ...]:
    """Settings' IPs and CIDRs (already checked) as networks."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(ip: str, trusted: Sequence[Network]) -> bool:
    try:
        found = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        found = found.ipv4_mapped
    return any(found in network for network in trusted)


@dataclass
class ConnectionCounter:
    """Open connections of one listener; `admit` counts one in, `release` counts it out."""

    total: int
    per_ip: int
    trusted: tuple[Network, ...] = ()

    def __post_init__(self) -> None:
        self._open = 0
        self._by_client: Counter[str] = Counter()

    @property
    def open(self) -> int:
        return self._open

    def admit(self, ip: str) -> tuple[str, Refusal | None]:
        """(the client's key, why it must wait or None); only an admitted one is counted."""
        key = client_key(ip)
        if self._open >= self.total:
            return key, "total"
        trusted = _trusted(ip, self.trusted)
        if not trusted and self._by_client[key] >= self.per_ip:
            return key, "per_ip"
        self._open += 1
        if not trusted:
            self._by_client[key] += 1
        return key if not trusted else "", None

    def release(self, key: str) -> None:
        """Count out a connection `admit` let in under `key` ("" for a trusted peer)."""
        self._open -= 1
        if key:
            self._by_client[key] -= 1
            if self._by_client[key] <= 0:
                del self._by_client[key]


def fit_to_open_files(open_files: int, wanted: Sequence[int]) -> list[int]:
    """Connection limits that fit under the process's open-files limit, each shrunk in the
    same proportion when together they do not (at least 1 each)."""
    room = max(len(wanted), open_files - RESERVED_FILES)
    if sum(wanted) <= room:
        return list(wanted)
    return [max(1, want * room // sum(wanted)) for want in wanted]
