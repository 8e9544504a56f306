"""The DNS resolver and SPF over it, against a stub DNS server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from dnsstub import StubDns

from ccrlist.auth.resolver import DnsTemporaryError, Resolver
from ccrlist.auth.spf import check_spf


@pytest.fixture
def dns() -> Iterator[StubDns]:
    stub = StubDns().start()
    stub.add("example.org", "TXT", "v=spf1 ip4:127.0.0.1 include:_spf.example.org -all",
             "k" * 600)
    stub.add("example.org", "A", "127.0.0.1")
    stub.add("_spf.example.org", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    stub.add("mx.example.net", "TXT", "v=spf1 mx -all")
    stub.add("mx.example.net", "MX", "10 mail.example.net.")
    stub.add("mail.example.net", "A", "198.51.100.7")
    stub.add("soft.example", "TXT", "v=spf1 ~all")
    stub.add("slow.example", "TXT", "v=spf1 include:silent.example -all")
    stub.silent.add("silent.example")
    stub.servfail.add("broken.example")
    yield stub
    stub.stop()


@pytest.fixture
def resolver(dns: StubDns) -> Resolver:
    return Resolver((dns.address,), timeout=0.3)


async def test_answers_empty_and_failures(resolver: Resolver, dns: StubDns) -> None:
    assert sorted(await resolver.txt("example.org")) == [
        b"k" * 600, b"v=spf1 ip4:127.0.0.1 include:_spf.example.org -all"]  # strings joined
    assert [r.to_text() for r in await resolver.query("example.org", "A")] == ["127.0.0.1"]
    assert await resolver.query("example.org", "MX") == []  # NODATA
    assert await resolver.txt("nowhere.example") == []  # NXDOMAIN
    assert await resolver.txt(b"example.org.") != []
    with pytest.raises(DnsTemporaryError, match=r"DNS temporarily failed.*timed out"):
        await resolver.txt("silent.example")
    with pytest.raises(DnsTemporaryError, match="SERVFAIL"):
        await resolver.txt("broken.example")


async def test_answers_are_cached(resolver: Resolver, dns: StubDns) -> None:
    await resolver.txt("example.org")
    await resolver.txt("example.org")
    assert dns.queries.count(("example.org", "TXT")) == 1


async def test_no_server_listening_is_a_temporary_failure(dns: StubDns) -> None:
    dns.stop()
    with pytest.raises(DnsTemporaryError):
        await Resolver((dns.address,), timeout=0.3).txt("example.org")


@pytest.mark.parametrize("ip, sender, expected", [
    ("127.0.0.1", "jo@example.org", ("example.org", "pass")),
    ("192.0.2.9", "jo@example.org", ("example.org", "pass")),  # through include:
    ("203.0.113.1", "jo@example.org", ("example.org", "fail")),
    ("198.51.100.7", "jo@mx.example.net", ("mx.example.net", "pass")),  # mx, then A
    ("203.0.113.1", "jo@soft.example", ("soft.example", "softfail")),
    ("203.0.113.1", "jo@nowhere.example", ("nowhere.example", "none")),
    ("203.0.113.1", "jo@slow.example", ("slow.example", "temperror")),
    ("203.0.113.1", "jo@broken.example", ("broken.example", "temperror")),
    ("127.0.0.1", "", ("example.org", "pass")),  # null sender: the HELO identity
])
async def test_spf_through_our_resolver(resolver: Resolver, ip: str, sender: str,
                                        expected: tuple[str, str]) -> None:
    with ThreadPoolExecutor(2) as threads:
        result = await check_spf(resolver, ip, sender, "example.org", threads, 5.0)
    assert (result.domain, result.result) == expected


async def test_spf_past_its_deadline_is_a_temporary_error_and_frees_the_caller(
        dns: StubDns) -> None:
    """A chain whose lookups go unanswered: the check gives up at its deadline rather than
    at the resolver's, and a busy SPF pool makes later checks wait for the deadline, not
    for the slow chains."""
    slow = Resolver((dns.address,), timeout=1.0)
    with ThreadPoolExecutor(1) as threads:
        first = asyncio.ensure_future(
            check_spf(slow, "127.0.0.1", "jo@slow.example", "x.example", threads, 0.2))
        # The slow check holds the pool's one thread once its first query reaches the server.
        deadline = asyncio.get_running_loop().time() + 10
        while not any(name == "slow.example" for name, _ in dns.queries):
            assert asyncio.get_running_loop().time() < deadline, "the slow check never asked"
            await asyncio.sleep(0.005)
        second = await check_spf(slow, "127.0.0.1", "jo@example.org", "x.example", threads,
                                 0.2)
        assert (await first).result == "temperror"
        assert second.result == "temperror"  # the one thread was still in the slow chain
