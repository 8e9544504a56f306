"""Authentication-Results: forged ones stripped, a trusted one read, ours written (pure)."""

from __future__ import annotations

from email import message_from_bytes, policy

import authres
import authres.dmarc
import pytest

from ccrlist.auth.dmarc import DkimCheck, DmarcOutcome, SpfCheck
from ccrlist.auth.results import claims, header, strip_ours, topmost_ours

OURS = "lists.example.org"
BODY = b"From: a@example.org\r\nSubject: x\r\n\r\nAuthentication-Results: lists.example.org; " \
       b"dkim=pass\r\n"


@pytest.mark.parametrize("field, expected", [
    (b"Authentication-Results: lists.example.org; dkim=pass header.d=a.org\r\n", True),
    (b"Authentication-Results: LISTS.example.ORG; none\r\n", True),
    (b"authentication-results:lists.example.org 1;\r\n spf=pass smtp.mailfrom=a.org\r\n", True),
    (b"Authentication-Results: mx.example.net; dkim=pass header.d=a.org\r\n", False),
    (b"Authentication-Results: lists.example.org.evil; dkim=pass\r\n", False),
    (b"Authentication-Results: lists.example.org; ???garbage===\r\n", True),  # unparsable
    (b"X-Authentication-Results: lists.example.org; dkim=pass\r\n", False),
    (b"Subject: lists.example.org; dkim=pass\r\n", False),
])
def test_claims(field: bytes, expected: bool) -> None:
    assert claims(field, OURS) is expected


def test_strip_ours_keeps_others_and_the_body() -> None:
    raw = (b"Authentication-Results: lists.example.org; dkim=pass header.d=evil.example\r\n"
           b"Received: from x\r\n"
           b"Authentication-Results: mx.example.net;\r\n spf=pass smtp.mailfrom=a.org\r\n"
           b"Authentication-Results: lists.example.org;\r\n dmarc=pass\r\n" + BODY)
    out = strip_ours(raw, OURS)
    assert out == (b"Received: from x\r\n"
                   b"Authentication-Results: mx.example.net;\r\n spf=pass smtp.mailfrom=a.org\r\n"
                   + BODY)
    assert strip_ours(BODY, OURS) is BODY  # nothing to strip: the same bytes


def test_topmost_ours_is_read() -> None:
    raw = (b"Authentication-Results: mx.example.net; dkim=fail header.d=a.org\r\n"
           b"Authentication-Results: lists.example.org;\r\n"
           b" dkim=pass (2048-bit key) header.d=Example.ORG header.i=@example.org;\r\n"
           b" dkim=fail header.d=esp.example; spf=pass smtp.mailfrom=jo@Bounce.Example.org\r\n"
           b"Received: from client.example by relay.example.org\r\n"
           b"Authentication-Results: lists.example.org; dkim=pass header.d=older.example\r\n"
           + BODY)
    dkim, spf = topmost_ours(raw, OURS) or ([], None)
    assert dkim == [DkimCheck("example.org", "pass"), DkimCheck("esp.example", "fail")]
    assert spf == SpfCheck("bounce.example.org", "pass")
    # Two above the relay's Received: either could be forged, so neither is believed.
    assert topmost_ours(raw.replace(b"Received: from", b"X-Received: from"), OURS) is None
    assert topmost_ours(BODY.replace(b"Authentication", b"X-Authentication"), OURS) is None
    assert topmost_ours(b"Authentication-Results: lists.example.org; ==\r\n" + BODY,
                        OURS) == ([], SpfCheck("", "none"))


def test_our_header_parses_back() -> None:
    field = header(OURS, [DkimCheck("example.org", "pass"), DkimCheck("esp.example", "fail")],
                   SpfCheck("bounce.example.org", "softfail"),
                   DmarcOutcome("pass", "example.org", "reject"))
    assert field.endswith(b"\r\n")
    assert all(len(line) <= 78 for line in field.split(b"\r\n"))
    msg = message_from_bytes(field + b"\r\nbody", policy=policy.compat32)
    parsed = authres.FeatureContext(authres.dmarc).parse_value(
        " ".join(str(msg["Authentication-Results"]).split()))
    assert parsed.authserv_id == OURS
    assert [(r.method, r.result) for r in parsed.results] == [
        ("dkim", "pass"), ("dkim", "fail"), ("spf", "softfail"), ("dmarc", "pass")]
    assert b"header.from=example.org" in field
    assert b"(p=reject)" in field
    unauthenticated = header(OURS, [], SpfCheck("", "none"), DmarcOutcome("none", "a.org"))
    assert b"dkim=none" in unauthenticated and b"dmarc=none" in unauthenticated
