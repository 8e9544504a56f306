"""The client IP behind trusted proxies and its rate-limit bucket: pure tables."""

from __future__ import annotations

import pytest

from ccrlist.web.security import ProxyNetwork, client_ip, proxy_networks, rate_bucket

LOCAL = proxy_networks(["127.0.0.1"])


@pytest.mark.parametrize(("remote", "forwarded", "trusted", "expected"), [
    # No proxy configured: the header is the client's to write, so it is ignored.
    ("203.0.113.9", ["198.51.100.1"], (), "203.0.113.9"),
    ("203.0.113.9", ["198.51.100.1"], LOCAL, "203.0.113.9"),
    # Behind our proxy: its hop, the rightmost one, names the client.
    ("127.0.0.1", ["198.51.100.1"], LOCAL, "198.51.100.1"),
    ("127.0.0.1", ["1.1.1.1, 198.51.100.1"], LOCAL, "198.51.100.1"),
    # HAProxy `option forwardedfor` adds a line of its own after the client's forged one.
    ("127.0.0.1", ["1.1.1.1", "198.51.100.1"], LOCAL, "198.51.100.1"),
    ("127.0.0.1", ["1.1.1.1, 2.2.2.2", "198.51.100.1"], LOCAL, "198.51.100.1"),
    # Two trusted proxies in a row (CIDR entry): walk past both.
    ("10.0.0.2", ["198.51.100.1, 10.0.0.7"], proxy_networks(["10.0.0.0/8"]), "198.51.100.1"),
    ("10.0.0.2", ["1.1.1.1, 198.51.100.1, 10.0.0.7"], proxy_networks(["10.0.0.0/8"]),
     "198.51.100.1"),
    # Every hop trusted: the leftmost is the best we know.
    ("10.0.0.2", ["10.0.0.9"], proxy_networks(["10.0.0.0/8"]), "10.0.0.9"),
    # An IPv4-mapped peer (dual-stack socket) matches the IPv4 entry, and the reverse.
    ("::ffff:127.0.0.1", ["198.51.100.1"], LOCAL, "198.51.100.1"),
    ("127.0.0.1", ["198.51.100.1"], proxy_networks(["::ffff:127.0.0.1"]), "198.51.100.1"),
    ("127.0.0.1", ["::ffff:198.51.100.1"], LOCAL, "198.51.100.1"),
    # Hops with ports (Azure, some CDNs), and IPv6.
    ("127.0.0.1", ["198.51.100.1:4711"], LOCAL, "198.51.100.1"),
    ("127.0.0.1", ["[2001:db8::5]:443"], LOCAL, "2001:db8::5"),
    ("::1", ["2001:db8::5"], proxy_networks(["::1"]), "2001:db8::5"),
    # A trusted proxy that forwards nonsense: count the proxy, never the nonsense.
    ("127.0.0.1", ["unknown"], LOCAL, "127.0.0.1"),
    ("127.0.0.1", ["1.1.1.1", "garbage"], LOCAL, "127.0.0.1"),
    ("127.0.0.1", [], LOCAL, "127.0.0.1"),
    (None, ["198.51.100.1"], LOCAL, "unknown"),
])
def test_client_ip(remote: str | None, forwarded: list[str], trusted: tuple[ProxyNetwork, ...],
                   expected: str) -> None:
    assert client_ip(remote, forwarded, trusted) == expected


@pytest.mark.parametrize(("ip", "bucket"), [
    ("198.51.100.1", "198.51.100.1"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("unknown", "unknown"),
])
def test_rate_bucket(ip: str, bucket: str) -> None:
    assert rate_bucket(ip) == bucket
