"""Web security pieces: the secret file, CSRF tokens, security headers and the client IP."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

CSRF_COOKIE = "ccr_csrf"
CSRF_FIELD = "csrf"

# No script, no framing, forms only to ourselves; no inline style either.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": ("default-src 'none'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Tokens are in our URLs; never leak them to another site. Not "no-referrer": with it,
    # browsers send "Origin: null" on our own form POSTs and the Origin check cannot work.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "interest-cohort=()",
}


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def csrf_token(secret: bytes, nonce: str, path: str) -> str:
    """The form field that goes with the `ccr_csrf` cookie `nonce`, for a form at `path`."""
    mac = hmac.new(secret, f"csrf|{nonce}|{path}".encode(), hashlib.sha256)
    return mac.hexdigest()


def csrf_ok(secret: bytes, nonce: str | None, field: str | None, path: str) -> bool:
    if not nonce or not field:
        return False
    return hmac.compare_digest(csrf_token(secret, nonce, path), field)


def origin_ok(origin: str | None, base_url: str, request_origin: str) -> bool:
    """A browser-sent Origin must be ours; a missing one (old browsers, curl) is allowed."""
    if origin is None:
        return True
    parts = urlsplit(base_url)
    allowed = {f"{parts.scheme}://{parts.netloc}".lower(), request_origin.lower()}
    return origin.lower() in allowed


ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Clients share an IPv6 /64 (one home or one host); counting per /128 lets one client
# rotate through billions of addresses.
IPV6_BUCKET_BITS = 64


def proxy_networks(entries: Iterable[str]) -> tuple[ProxyNetwork, ...]:
    """`[web] trusted_proxies` (IPs or CIDRs, already validated by the settings) as networks.

    An IPv4-mapped entry (`::ffff:10.0.0.1`) becomes the IPv4 network it names, since
    peers and hops are compared in their IPv4 form.
    """
    networks: list[ProxyNetwork] = []
    for entry in entries:
        network = ipaddress.ip_network(entry, strict=False)
        mapped = (network.network_address.ipv4_mapped
                  if isinstance(network, ipaddress.IPv6Network) else None)
        if mapped is not None and network.prefixlen >= 96:
            network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}", strict=False)
        networks.append(network)
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP from a peer or a forwarded hop: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80` or `::1`."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def client_ip(remote: str | None, forwarded_for: Sequence[str],
              trusted: Sequence[ProxyNetwork]) -> str:
    """The client's IP: walk X-Forwarded-For from the right past our trusted proxies.

    `forwarded_for` is every X-Forwarded-For line, in order; a proxy may add a line of
    its own instead of extending the client's. Hops left of the first untrusted one
    were written by the client and are ignored.
    """
    current = _address(remote or "")
    if current is None:
        return remote or "unknown"
    hops = [hop for line in forwarded_for for hop in line.split(",")]
    while hops and any(current in network for network in trusted):
        hop = _address(hops.pop())
        if hop is None:
            break  # a trusted proxy forwarded nonsense: the proxy is all we know
        current = hop
    return str(current)


def rate_bucket(ip: str) -> str:
    """The key a client's requests are counted under: its IPv4 address or its IPv6 /64."""
    try:
        found = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(found, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{found}/{IPV6_BUCKET_BITS}", strict=False))
    return str(found)
