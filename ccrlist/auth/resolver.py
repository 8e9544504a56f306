"""The one DNS resolver of `ccrlist serve`: dnspython's async resolver with a per-query timeout.

Every authentication lookup (DKIM keys, SPF, DMARC) goes through `Resolver`.
A name or record type that does not exist answers empty; a timeout, SERVFAIL
or any other failure raises `DnsTemporaryError`, which becomes 451 4.4.3.
"""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdata
import dns.resolver

from ccrlist.config.settings import nameserver_address


class DnsTemporaryError(Exception):
    """DNS temporarily failed (timeout, SERVFAIL, no server answered): try again later."""


class DnsConfigError(Exception):
    """No name servers: none configured and none in the system's configuration."""


CACHE_ENTRIES = 10_000


class Resolver:
    """Async lookups with answers cached for their TTL; `nameservers` empty means the system's."""

    def __init__(self, nameservers: tuple[str, ...], timeout: float) -> None:
        try:
            self._resolver = dns.asyncresolver.Resolver(configure=not nameservers)
        except dns.resolver.NoResolverConfiguration as exc:
            raise DnsConfigError(f"no system DNS configuration ({exc}); "
                                 "set [auth] nameservers") from None
        if nameservers:
            self._resolver.nameservers = [
                dns.nameserver.Do53Nameserver(*nameserver_address(server))
                for server in nameservers]
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        # Bounded: hostile mail can name any number of selectors and domains.
        self._resolver.cache = dns.resolver.LRUCache(CACHE_ENTRIES)
        self.timeout = timeout

    async def query(self, name: str | bytes, rdtype: str) -> list[dns.rdata.Rdata]:
        """The records of `rdtype` at `name`; empty for NXDOMAIN or no such record."""
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        try:
            answer = await self._resolver.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout:
            raise DnsTemporaryError(f"DNS temporarily failed: {rdtype} {name} timed out") \
                from None
        except dns.resolver.NoNameservers:
            raise DnsTemporaryError(f"DNS temporarily failed: {rdtype} {name}: "
                                    "no server answered (SERVFAIL)") from None
        except (dns.name.EmptyLabel, dns.name.LabelTooLong, dns.name.NameTooLong):
            return []  # not a name that can exist
        except dns.exception.DNSException as exc:
            raise DnsTemporaryError(f"DNS temporarily failed: {rdtype} {name}: {exc}") \
                from None
        return list(answer)

    async def txt(self, name: str | bytes) -> list[bytes]:
        """Each TXT record at `name`, its strings joined (RFC 7208 3.3, RFC 6376 3.6.2.2)."""
        return [b"".join(rdata.strings) for rdata in await self.query(name, "TXT")]  # type: ignore[attr-defined]
