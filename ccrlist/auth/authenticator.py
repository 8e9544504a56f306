"""Authenticate a post (DKIM, SPF, DMARC) for the SMTP handler: the DNS-facing edge.

`Authenticator.check` gathers the results concurrently through the one
`Resolver`, lets `ccrlist.dmarc` decide, and returns the outcome with our
Authentication-Results field. A peer in `[auth] trusted_relays` (Postfix with
OpenDKIM) is believed: its topmost Authentication-Results with our
authserv-id replaces our own DKIM and SPF checks. From anyone else such
fields are forgeries, and `inbound` strips them before anything reads them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dkim
import dkim.asyncsupport
import idna
from publicsuffixlist import PublicSuffixList

from ccrlist.auth import results as authresults
from ccrlist.auth.dmarc import (
    Discovery,
    DkimCheck,
    DmarcOutcome,
    SpfCheck,
    choose_record,
    evaluate,
)
from ccrlist.auth.resolver import DnsTemporaryError, Resolver
from ccrlist.auth.spf import check_spf
from ccrlist.config.settings import AuthSettings, Settings
from ccrlist.header_block import field_name, split_fields

log = logging.getLogger("ccrlist.authcheck")

# SPF checks in flight at once (pyspf is synchronous: one thread each), and how many
# DNS timeouts one check may last in all before it counts as a temporary error.
SPF_THREADS = 8
SPF_DEADLINE_QUERIES = 4

# Signatures verified per post: enough for author, mailing list and ESP, and a bound on
# the work a message stuffed with signatures can cause.
MAX_SIGNATURES = 5


@dataclass(frozen=True)
class AuthOutcome:
    dmarc: DmarcOutcome
    header: bytes  # our Authentication-Results field, to prepend to the stored post


def ascii_domain(domain: str) -> str:
    """The domain as DNS and DKIM `d=` spell it: an internationalised one in punycode."""
    domain = domain.lower().rstrip(".")
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain  # no DNS name: nothing will align or be found


class Authenticator:
    """DKIM, SPF and DMARC for posts to lists of `domain`."""

    def __init__(self, settings: AuthSettings, domain: str, resolver: Resolver | None,
                 psl: PublicSuffixList | None = None) -> None:
        self._settings = settings
        self.authserv_id = settings.authserv_id or domain
        self._resolver = resolver
        self._psl = psl or PublicSuffixList()
        self._trusted = [ipaddress.ip_network(r, strict=False)
                         for r in settings.trusted_relays]
        self._spf_threads = ThreadPoolExecutor(SPF_THREADS, thread_name_prefix="spf")

    def close(self) -> None:
        """Let the SPF threads go (those still in a lookup finish it first)."""
        self._spf_threads.shutdown(wait=False, cancel_futures=True)

    def org_domain(self, domain: str) -> str:
        """The organisational domain (RFC 7489 3.2), from the offline Public Suffix List."""
        domain = domain.lower().rstrip(".")
        return self._psl.privatesuffix(domain) or domain

    def trusts(self, peer_ip: str) -> bool:
        if not self._trusted:
            return False  # the usual case, without parsing the address for every post
        try:
            address = ipaddress.ip_address(peer_ip)
        except ValueError:
            return False
        return any(address in network for network in self._trusted)

    def inbound(self, raw: bytes, peer_ip: str) -> bytes:
        """Drop Authentication-Results claiming our authserv-id unless a trusted relay sent it."""
        return raw if self.trusts(peer_ip) else authresults.strip_ours(raw, self.authserv_id)

    async def check(self, raw: bytes, author: str, envelope_from: str, peer_ip: str,
                    helo: str) -> AuthOutcome:
        from_domain = ascii_domain(author.rpartition("@")[2])
        prior = authresults.topmost_ours(raw, self.authserv_id) if self.trusts(peer_ip) \
            else None
        if prior is not None:
            (dkim_checks, spf_check), found = prior, await self._discover(from_domain)
        elif self.trusts(peer_ip):
            # Relayed without results: the real client's IP is unknown, so no SPF.
            dkim_checks, found = await asyncio.gather(self._dkim(raw),
                                                      self._discover(from_domain))
            spf_check = SpfCheck("", "none")
        else:
            dkim_checks, spf_check, found = await asyncio.gather(
                self._dkim(raw), self._spf(peer_ip, envelope_from, helo),
                self._discover(from_domain))
        outcome = evaluate(from_domain, found, dkim_checks, spf_check, self.org_domain)
        return AuthOutcome(outcome, authresults.header(self.authserv_id, dkim_checks,
                                                       spf_check, outcome))

    async def _discover(self, from_domain: str) -> Discovery:
        """The DMARC record of the From domain, else of its organisational domain."""
        resolver = self._need_resolver()
        try:
            record = choose_record(await resolver.txt(f"_dmarc.{from_domain}"))
            if record is not None:
                return Discovery(record, from_domain)
            org = self.org_domain(from_domain)
            if org != from_domain:
                record = choose_record(await resolver.txt(f"_dmarc.{org}"))
                if record is not None:
                    return Discovery(record, org)
        except DnsTemporaryError as exc:
            log.warning("DMARC lookup for %s: %s", from_domain, exc)
            return Discovery(None, temperror=True)
        return Discovery(None)

    async def _spf(self, peer_ip: str, envelope_from: str, helo: str) -> SpfCheck:
        resolver = self._need_resolver()
        return await check_spf(resolver, peer_ip, envelope_from, helo, self._spf_threads,
                               SPF_DEADLINE_QUERIES * resolver.timeout)

    async def _dkim(self, raw: bytes) -> list[DkimCheck]:
        fields, _ = split_fields(raw)
        count = min(sum(field_name(f) == "dkim-signature" for f in fields), MAX_SIGNATURES)
        if not count:
            return []
        resolver = self._need_resolver()

        async def key(name: bytes, timeout: float = 5) -> bytes | None:
            answers = await resolver.txt(name)
            return answers[0] if answers else None

        try:
            verifier = dkim.asyncsupport.DKIM(raw, timeout=resolver.timeout)
        except dkim.DKIMException:
            return [DkimCheck("", "permerror")]
        checks: list[DkimCheck] = []
        for idx in range(count):
            verifier.signature_fields = {}
            try:
                ok = await verifier.verify(idx, dnsfunc=key)
                result = "pass" if ok else "fail"
            except DnsTemporaryError:
                result = "temperror"
            except dkim.ValidationError:  # a hash or signature that does not match
                result = "fail"
            except dkim.DKIMException:  # malformed signature or key
                result = "permerror"
            domain = verifier.signature_fields.get(b"d", b"").decode("ascii", "replace")
            checks.append(DkimCheck(domain.lower(), result))  # type: ignore[arg-type]
        return checks

    def _need_resolver(self) -> Resolver:
        if self._resolver is None:
            raise RuntimeError("authentication is on but no DNS resolver was set up")
        return self._resolver


def make_authenticator(settings: Settings) -> Authenticator:
    """The server's authenticator; DNS is only set up when some list checks posts."""
    auth = settings.auth
    checks = auth.policy != "off" or any(p != "off" for p in auth.lists.values())
    resolver = Resolver(auth.nameservers, auth.timeout) if checks else None
    return Authenticator(auth, settings.domain, resolver)
