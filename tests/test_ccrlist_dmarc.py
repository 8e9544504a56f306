"""DMARC decisions as tables: record parsing, alignment, policy choice and the verdict."""

from __future__ import annotations

import pytest
from publicsuffixlist import PublicSuffixList

from ccrlist.auth.dmarc import (
    Discovery,
    DkimCheck,
    DmarcOutcome,
    DmarcRecord,
    SpfCheck,
    aligned,
    choose_record,
    effective_policy,
    evaluate,
    parse_record,
)

PSL = PublicSuffixList()


def org(domain: str) -> str:
    return PSL.privatesuffix(domain) or domain


@pytest.mark.parametrize("txt, expected", [
    (b"v=DMARC1; p=reject", DmarcRecord("reject")),
    (b"v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=s",
     DmarcRecord("quarantine", "none", "s", "s")),
    (b"v=DMARC1; p=Reject; rua=mailto:d@example.org", DmarcRecord("reject")),
    (b"v=DMARC1; rua=mailto:d@example.org", DmarcRecord("none")),  # no p=: none
    (b"v=DMARC1; p=bogus", DmarcRecord("none")),
    (b"v=DMARC1; p=none; sp=reject", DmarcRecord("none", "reject")),
    (b"v=spf1 -all", None),
    (b"p=reject; v=DMARC1", None),  # v= must come first
    (b"v=DMARC1; p=reject; p=none", None),  # a tag twice: not a valid tag list
    (b"", None),
])
def test_parse_record(txt: bytes, expected: DmarcRecord | None) -> None:
    assert parse_record(txt) == expected


@pytest.mark.parametrize("answers, expected", [
    ([b"v=DMARC1; p=reject"], DmarcRecord("reject")),
    ([b"google-site-verification=x", b"v=DMARC1; p=reject"], DmarcRecord("reject")),
    ([b"v=DMARC1; p=reject", b"v=DMARC1; p=none"], None),  # two records: none applies
    ([], None),
])
def test_choose_record(answers: list[bytes], expected: DmarcRecord | None) -> None:
    assert choose_record(answers) == expected


@pytest.mark.parametrize("from_domain, other, mode, expected", [
    ("example.org", "example.org", "s", True),
    ("example.org", "EXAMPLE.org.", "s", True),
    ("example.org", "mail.example.org", "s", False),
    ("example.org", "mail.example.org", "r", True),
    ("news.example.org", "bounce.example.org", "r", True),
    ("example.co.uk", "other.co.uk", "r", False),  # a public suffix is not an organisation
    ("a.example.co.uk", "b.example.co.uk", "r", True),
    ("example.org", "example.net", "r", False),
    ("example.org", "", "r", False),
])
def test_alignment(from_domain: str, other: str, mode: str, expected: bool) -> None:
    assert aligned(from_domain, other, mode, org) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize("from_domain, found, expected", [
    ("example.org", Discovery(DmarcRecord("reject", "none"), "example.org"), "reject"),
    ("news.example.org", Discovery(DmarcRecord("reject", "none"), "example.org"), "none"),
    ("news.example.org", Discovery(DmarcRecord("quarantine"), "example.org"), "quarantine"),
    ("news.example.org", Discovery(DmarcRecord("none", "reject"), "news.example.org"), "none"),
    ("example.org", Discovery(None), None),
])
def test_effective_policy(from_domain: str, found: Discovery, expected: str | None) -> None:
    assert effective_policy(from_domain, found, org) == expected


REJECT = Discovery(DmarcRecord("reject"), "example.org")
STRICT = Discovery(DmarcRecord("reject", adkim="s", aspf="s"), "example.org")
NO_SPF = SpfCheck("", "none")


@pytest.mark.parametrize("found, dkim, spf, expected", [
    # aligned DKIM pass
    (REJECT, [DkimCheck("example.org", "pass")], NO_SPF, ("pass", "reject")),
    (REJECT, [DkimCheck("mail.example.org", "pass")], NO_SPF, ("pass", "reject")),
    (STRICT, [DkimCheck("mail.example.org", "pass")], NO_SPF, ("fail", "reject")),
    # a passing signature of another domain does not help
    (REJECT, [DkimCheck("esp.example.net", "pass")], NO_SPF, ("fail", "reject")),
    (REJECT, [DkimCheck("example.org", "fail"), DkimCheck("example.org", "pass")], NO_SPF,
     ("pass", "reject")),
    # aligned SPF pass
    (REJECT, [], SpfCheck("bounce.example.org", "pass"), ("pass", "reject")),
    (STRICT, [], SpfCheck("bounce.example.org", "pass"), ("fail", "reject")),
    (REJECT, [], SpfCheck("example.net", "pass"), ("fail", "reject")),
    (REJECT, [], SpfCheck("example.org", "softfail"), ("fail", "reject")),
    # DNS trouble that could have changed the answer is never a failure
    (REJECT, [DkimCheck("example.org", "temperror")], NO_SPF, ("temperror", "reject")),
    (REJECT, [], SpfCheck("example.org", "temperror"), ("temperror", "reject")),
    (REJECT, [DkimCheck("example.net", "temperror")], NO_SPF, ("fail", "reject")),
    (REJECT, [DkimCheck("example.org", "temperror")], SpfCheck("example.org", "pass"),
     ("pass", "reject")),
    (Discovery(None, temperror=True), [DkimCheck("example.org", "pass")], NO_SPF,
     ("temperror", None)),
    # no record: nothing to enforce
    (Discovery(None), [], NO_SPF, ("none", None)),
])
def test_evaluate(found: Discovery, dkim: list[DkimCheck], spf: SpfCheck,
                  expected: tuple[str, str | None]) -> None:
    outcome = evaluate("example.org", found, dkim, spf, org)
    assert (outcome.result, outcome.policy) == expected
    assert outcome.from_domain == "example.org"


def test_demands_action() -> None:
    assert DmarcOutcome("fail", "a.org", "reject").demands_action
    assert DmarcOutcome("fail", "a.org", "quarantine").demands_action
    assert not DmarcOutcome("fail", "a.org", "none").demands_action
    assert not DmarcOutcome("none", "a.org", None).demands_action
