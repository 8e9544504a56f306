"""DMARC (RFC 7489) decided from gathered results: record choice, alignment, verdict (pure).

The DNS lookups, DKIM verification and SPF evaluation happen elsewhere
(`ccrlist.authcheck`); this module only reads their results. A record's
tag-value syntax is DKIM's (RFC 7489 6.3), parsed by dkimpy. `pct` is not
sampled: a failing post meets the whole policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from dkim.util import InvalidTagValueList, parse_tag_value

DmarcPolicy = Literal["none", "quarantine", "reject"]
DmarcResult = Literal["pass", "fail", "none", "temperror"]
# RFC 8601 results for DKIM and SPF, as far as DMARC cares.
MethodResult = Literal["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror",
                       "policy"]
OrgDomain = Callable[[str], str]

_POLICIES: dict[bytes, DmarcPolicy] = {b"none": "none", b"quarantine": "quarantine",
                                  b"reject": "reject"}


@dataclass(frozen=True)
class DmarcRecord:
    p: DmarcPolicy
    sp: DmarcPolicy | None = None
    adkim: Literal["r", "s"] = "r"
    aspf: Literal["r", "s"] = "r"


@dataclass(frozen=True)
class Discovery:
    """What policy discovery found: the record, where, or that DNS failed."""

    record: DmarcRecord | None
    found_at: str = ""
    temperror: bool = False


@dataclass(frozen=True)
class DkimCheck:
    domain: str  # the signature's d=
    result: MethodResult


@dataclass(frozen=True)
class SpfCheck:
    domain: str  # of the MAIL FROM identity (or HELO for a null sender)
    result: MethodResult


@dataclass(frozen=True)
class DmarcOutcome:
    """The DMARC verdict on a post, and the policy its From domain asks for."""

    result: DmarcResult
    from_domain: str
    policy: DmarcPolicy | None = None  # None: no record (or DNS failed)

    @property
    def demands_action(self) -> bool:
        """Whether the From domain asks receivers to act on failure (p=reject/quarantine)."""
        return self.policy in ("reject", "quarantine")


def parse_record(txt: bytes) -> DmarcRecord | None:
    """A DMARC record from one TXT string, or None when it is not one (RFC 7489 6.6.3)."""
    if not txt.startswith(b"v=DMARC1"):
        return None
    try:
        tags = parse_tag_value(txt)
    except InvalidTagValueList:
        return None
    if tags.get(b"v") != b"DMARC1":
        return None
    # A missing or unknown p= makes the record count as p=none (RFC 7489 6.6.3 step 6).
    p = _POLICIES.get(tags.get(b"p", b"").lower(), "none")
    sp = _POLICIES.get(tags.get(b"sp", b"").lower())
    return DmarcRecord(p=p, sp=sp,
                       adkim="s" if tags.get(b"adkim", b"r").lower() == b"s" else "r",
                       aspf="s" if tags.get(b"aspf", b"r").lower() == b"s" else "r")


def choose_record(answers: Sequence[bytes]) -> DmarcRecord | None:
    """The record among a name's TXT answers: exactly one must be DMARC, else none."""
    records = [r for r in (parse_record(a) for a in answers) if r is not None]
    return records[0] if len(records) == 1 else None


def aligned(from_domain: str, other: str, mode: Literal["r", "s"], org: OrgDomain) -> bool:
    a, b = from_domain.lower().rstrip("."), other.lower().rstrip(".")
    if not b:
        return False
    return a == b if mode == "s" else org(a) == org(b)


def effective_policy(from_domain: str, found: Discovery, org: OrgDomain) -> DmarcPolicy | None:
    """p=, or sp= when the record is the organisational domain's and From is a subdomain."""
    if found.record is None:
        return None
    if found.found_at.lower() != from_domain.lower() and found.record.sp is not None:
        return found.record.sp
    return found.record.p


def evaluate(from_domain: str, found: Discovery, dkim: Sequence[DkimCheck], spf: SpfCheck,
             org: OrgDomain) -> DmarcOutcome:
    """Pass if an aligned DKIM signature or an aligned SPF identity passed.

    A failure that a DNS timeout might have caused is `temperror`, never `fail`.
    """
    if found.temperror:
        return DmarcOutcome("temperror", from_domain)
    record = found.record
    if record is None:
        return DmarcOutcome("none", from_domain)
    policy = effective_policy(from_domain, found, org)
    dkim_aligned = [c for c in dkim if aligned(from_domain, c.domain, record.adkim, org)]
    spf_aligned = aligned(from_domain, spf.domain, record.aspf, org)
    if any(c.result == "pass" for c in dkim_aligned) or (spf_aligned and spf.result == "pass"):
        return DmarcOutcome("pass", from_domain, policy)
    if any(c.result == "temperror" for c in dkim_aligned) or (
            spf_aligned and spf.result == "temperror"):
        return DmarcOutcome("temperror", from_domain, policy)
    return DmarcOutcome("fail", from_domain, policy)
