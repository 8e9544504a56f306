"""moderate() and parse_post() as tables of cases, with no event loop."""

from __future__ import annotations

import dataclasses
import email.policy

import pytest

from ccrlist.auth.dmarc import DmarcOutcome
from ccrlist.config.settings import AuthSettings, NewsletterSettings, PostingSettings, Settings
from ccrlist.intake import replies
from ccrlist.intake.post import find_author, parse_post
from ccrlist.intake.rules import (
    Facts,
    Verdict,
    moderate,
    needs_authentication,
    with_authentication,
)

SETTINGS = dataclasses.replace(
    Settings(), domain="lists.example.org",
    newsletter=NewsletterSettings(publisher="chronicle@lists.example.org",
                                  editors=("Editor@ccrweb.ca",)))
HOLD = dataclasses.replace(SETTINGS, posting=PostingSettings(nonmember_action="hold"))
MEMBER = Facts("subscribers", author_is_member=True, message_id_seen=False)
STRANGER = Facts("subscribers", author_is_member=False, message_id_seen=False)
SEEN = Facts("subscribers", author_is_member=True, message_id_seen=True)
ANNOUNCE = Facts("announce", author_is_member=True, message_id_seen=False)


def raw(headers: str, body: str = "text\r\n") -> bytes:
    return (headers.replace("\n", "\r\n") + "\r\n" + body).encode()


BASIC = "From: Alice <alice@example.org>\nSubject: hi\nMessage-ID: <1@x>\n"

CASES = [
    # (id, headers, envelope sender, facts, settings, expected action, reason)
    ("member", BASIC, "alice@example.org", MEMBER, SETTINGS, "accept", ""),
    ("non-member", BASIC, "alice@example.org", STRANGER, SETTINGS, "reject", "nonmember"),
    ("non-member held", BASIC, "alice@example.org", STRANGER, HOLD, "hold", "nonmember"),
    ("duplicate", BASIC, "alice@example.org", SEEN, SETTINGS, "duplicate", ""),
    ("two From headers", "From: a@example.org\nFrom: b@example.org\nMessage-ID: <1@x>\n",
     "a@example.org", MEMBER, SETTINGS, "reject", "author"),
    # A header line that is no field is refused before anything else: readers and DKIM
    # signers would each make something else of it (and it could hide a second From).
    ("From after a line that is no field",
     "From: a@example.org\nnot a field\nFrom: b@example.org\nMessage-ID: <1@x>\n",
     "a@example.org", MEMBER, SETTINGS, "reject", "bad_header"),
    ("header starting with a continuation", "\tX: y\n" + BASIC, "alice@example.org", MEMBER,
     SETTINGS, "reject", "bad_header"),
    ("mbox From line", "From alice@example.org Mon Nov 24 10:00:00 2026\n" + BASIC,
     "alice@example.org", MEMBER, SETTINGS, "reject", "bad_header"),
    ("field name that is not ASCII", BASIC + "Sujet\u00e9: x\n", "alice@example.org", MEMBER,
     SETTINGS, "reject", "bad_header"),
    # Found in review: the header parser reads `ccr.ca] <...>` as the address ccr.ca.
    ("bracket in the display name", "From: ccr.ca] <mallory@example.org>\nMessage-ID: <1@x>\n",
     "mallory@example.org", MEMBER, SETTINGS, "reject", "author"),
    ("obsolete blank before the colon", "From : Alice <alice@example.org>\nSubject\t: hi\n"
     "Message-ID: <1@x>\n", "alice@example.org", MEMBER, SETTINGS, "accept", ""),
    ("folded From", "From: Alice Smith\n <alice@example.org>\n", "a@example.org", MEMBER,
     SETTINGS, "accept", ""),
    ("two addresses in From", "From: a@example.org, b@example.org\n", "a@example.org",
     MEMBER, SETTINGS, "reject", "author"),
    ("address hidden in name", 'From: "boss@ccrweb.ca" <x@evil.example>\n', "x@evil.example",
     MEMBER, SETTINGS, "reject", "author"),
    ("unquoted address as name", "From: boss@ccrweb.ca <x@evil.example>\n", "x@evil.example",
     MEMBER, SETTINGS, "reject", "author"),
    ("encoded address as name", "From: =?utf-8?q?boss=40ccrweb.ca?= <x@evil.example>\n",
     "x@evil.example", MEMBER, SETTINGS, "reject", "author"),
    ("group syntax", "From: team: a@example.org;\n", "a@example.org", MEMBER, SETTINGS,
     "reject", "author"),
    ("plain name", "From: Alice Smith <alice@example.org>\n", "a@example.org", MEMBER,
     SETTINGS, "accept", ""),
    ("quoted name", 'From: "Smith, Alice" <alice@example.org>\n', "a@example.org", MEMBER,
     SETTINGS, "accept", ""),
    ("encoded name", "From: =?utf-8?q?=C3=89milie?= <emilie@example.org>\n", "a@example.org",
     MEMBER, SETTINGS, "accept", ""),
    ("no address", "From: Alice\n", "a@example.org", MEMBER, SETTINGS, "reject", "author"),
    ("unparsable From", "From: <<<@@@>>>\n", "x@example.org", MEMBER, SETTINGS,
     "reject", "author"),
    ("no From", "Subject: x\n", "x@example.org", MEMBER, SETTINGS, "reject", "author"),
    ("null sender", BASIC, "", MEMBER, SETTINGS, "discard", "null_sender"),
    ("our List-Id", BASIC + "List-Id: CCR <ccrlist.lists.example.org>\n", "a@example.org",
     MEMBER, SETTINGS, "discard", "loop"),
    ("other list's List-Id", BASIC + "List-Id: <other.example.net>\n", "a@example.org",
     MEMBER, SETTINGS, "accept", ""),
    ("our X-Loop", BASIC + "X-Loop: CCRLIST@lists.example.org\n", "a@example.org", MEMBER,
     SETTINGS, "discard", "loop"),
    ("auto-replied", BASIC + "Auto-Submitted: auto-replied\n", "a@example.org", MEMBER,
     SETTINGS, "discard", "auto_reply"),
    ("Auto-Submitted: no", BASIC + "Auto-Submitted: no\n", "a@example.org", MEMBER,
     SETTINGS, "accept", ""),
    # Issue 13, item 8: no member post is dropped unseen. Precedence and another list's
    # X-Loop are informal signs (list traffic, or an old vacation program): held.
    ("Precedence: bulk", BASIC + "Precedence: bulk\n", "a@example.org", MEMBER, SETTINGS,
     "hold", "bulk"),
    ("Precedence: junk", BASIC + "Precedence: junk\n", "a@example.org", MEMBER, SETTINGS,
     "hold", "bulk"),
    ("Precedence: list", BASIC + "Precedence: LIST\n", "a@example.org", MEMBER, SETTINGS,
     "hold", "bulk"),
    ("Precedence: first-class", BASIC + "Precedence: first-class\n", "a@example.org",
     MEMBER, SETTINGS, "accept", ""),
    ("another list's X-Loop", BASIC + "X-Loop: other-list@example.net\n", "a@example.org",
     MEMBER, SETTINGS, "hold", "foreign_loop"),
    ("the corpus case: bulk and a foreign X-Loop", BASIC + "Precedence: bulk\n"
     "X-Loop: debian-user@lists.debian.org\n", "a@example.org", MEMBER, SETTINGS, "hold",
     "bulk"),
    ("our X-Loop beside another list's", BASIC + "X-Loop: other@example.net\n"
     "X-Loop: ccrlist@lists.example.org\n", "a@example.org", MEMBER, SETTINGS, "discard",
     "loop"),
    ("bulk and Auto-Submitted: still automatic", BASIC + "Precedence: bulk\n"
     "Auto-Submitted: auto-generated\n", "a@example.org", MEMBER, SETTINGS, "discard",
     "auto_reply"),
    ("bulk from a non-member: refused as one", BASIC + "Precedence: bulk\n",
     "alice@example.org", STRANGER, SETTINGS, "reject", "nonmember"),
    ("bulk from a non-member, hold mode", BASIC + "Precedence: bulk\n", "alice@example.org",
     STRANGER, HOLD, "hold", "nonmember"),
    ("bulk to an announce list, not from an editor", BASIC + "Precedence: bulk\n",
     "alice@example.org", ANNOUNCE, SETTINGS, "reject", "not_editor"),
    ("bulk duplicate", BASIC + "Precedence: bulk\n", "alice@example.org", SEEN, SETTINGS,
     "duplicate", ""),
    ("NUL in a header", BASIC + "X-Note: a\0b\n", "a@example.org", MEMBER, SETTINGS,
     "reject", "nul"),
    ("announce: member is no editor", BASIC, "alice@example.org", ANNOUNCE, SETTINGS,
     "reject", "not_editor"),
    ("announce: editor, any case", "From: editor@CCRWEB.ca\nMessage-ID: <2@x>\n",
     "editor@ccrweb.ca", ANNOUNCE, SETTINGS, "accept", ""),
    ("announce: publisher", "From: chronicle@lists.example.org\n", "x@y.org", ANNOUNCE,
     SETTINGS, "accept", ""),
]


@pytest.mark.parametrize("headers, sender, facts, settings, action, reason",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_moderate(headers: str, sender: str, facts: Facts, settings: Settings, action: str,
                  reason: str) -> None:
    post = parse_post("ccrlist", sender, raw(headers))
    verdict = moderate(post, facts, settings)
    assert (verdict.action, verdict.reason) == (action, reason)


@pytest.mark.parametrize("body", [b"a\nb\r\n", b"a\rb\r\n", b"x\r\n\n.\r\nMAIL FROM:<a@b>\r\n"])
def test_bare_cr_or_lf_refused_first(body: bytes) -> None:
    post = parse_post("ccrlist", "alice@example.org", raw(BASIC).replace(b"text\r\n", body))
    assert moderate(post, MEMBER, SETTINGS).reason == "bare_eol"


@pytest.mark.parametrize("body", [b"a\0b\r\n", b"\0\r\n", b"text\r\n" * 1000 + b"\0"])
@pytest.mark.parametrize("facts", [MEMBER, STRANGER, SEEN], ids=["member", "stranger", "seen"])
def test_nul_in_the_body_is_refused_whoever_sends_it(body: bytes, facts: Facts) -> None:
    post = parse_post("ccrlist", "alice@example.org", raw(BASIC, body.decode()))
    assert moderate(post, facts, SETTINGS) == Verdict("reject", "nul", "nul-byte")
    reply = replies.reply_for(moderate(post, facts, SETTINGS), "x@y")
    assert reply == replies.NUL_BYTE and reply.startswith("554 5.6.0 ")


@pytest.mark.parametrize("headers, body, facts, action, reason", [
    # Re-encoded in the list copy (ccrlist/copies/long_lines.py): accepted.
    (BASIC, "x" * 5000 + "\r\n", MEMBER, "accept", ""),
    (BASIC + "X-Long: " + "y " * 700 + "\n", "text\r\n", MEMBER, "accept", ""),
    (BASIC + "Content-Type: text/html\nContent-Transfer-Encoding: 8bit\n",
     "<p>" + "\u00e9" * 3000 + "</p>\r\n", MEMBER, "accept", ""),
    # Where it cannot be, refused before anything else is decided.
    (BASIC + "X-Long: " + "y" * 1200 + "\n", "text\r\n", MEMBER, "reject", "long_line"),
    (BASIC + "Content-Transfer-Encoding: x-uuencode\n", "M" * 1200 + "\r\n", STRANGER,
     "reject", "long_line"),
])
def test_long_lines_refused_only_where_the_copy_cannot_re_encode_them(
        headers: str, body: str, facts: Facts, action: str, reason: str) -> None:
    post = parse_post("ccrlist", "alice@example.org", raw(headers, body))
    verdict = moderate(post, facts, SETTINGS)
    assert (verdict.action, verdict.reason) == (action, reason)


def test_missing_message_id_gets_a_stable_one() -> None:
    one = parse_post("ccrlist", "a@example.org", raw("From: a@example.org\n"))
    two = parse_post("ccrlist", "a@example.org", raw("From: a@example.org\n"))
    other = parse_post("ccrlist", "a@example.org", raw("From: a@example.org\n", "other\r\n"))
    assert one.message_id == two.message_id != other.message_id


@pytest.mark.parametrize("verdict, expected", [
    (Verdict("accept"), replies.ACCEPTED),
    (Verdict("hold", "nonmember"), replies.HELD),
    (Verdict("duplicate"), replies.DUPLICATE),
    (Verdict("discard", "loop"), replies.DISCARDED),
    (Verdict("reject", "nonmember"),
     replies.NONMEMBER.format(request="ccrlist-request@lists.example.org")),
    (Verdict("reject", "not_editor"), replies.NOT_EDITOR),
    (Verdict("reject", "author"), replies.BAD_AUTHOR),
    (Verdict("reject", "bare_eol"), replies.BARE_EOL),
    (Verdict("reject", "nul"), replies.NUL_BYTE),
    (Verdict("hold", "bulk"), replies.HELD),
    (Verdict("hold", "foreign_loop"), replies.HELD),
    (Verdict("reject", "long_line"), replies.LONG_LINE),
    (Verdict("reject", "dmarc"), replies.DMARC_FAILED),
    (Verdict("hold", "dmarc"), replies.HELD),
    (Verdict("defer", "dns_temp"), replies.DNS_TEMPFAIL),
])
def test_reply_for(verdict: Verdict, expected: str) -> None:
    reply = replies.reply_for(verdict, "ccrlist-request@lists.example.org")
    assert reply == expected
    assert reply[0] == {"reject": "5", "defer": "4"}.get(verdict.action, "2")


def test_dns_and_dmarc_replies_say_what_happened() -> None:
    assert replies.DMARC_FAILED.startswith("550 5.7.1 ")
    assert "DMARC" in replies.DMARC_FAILED
    assert replies.DNS_TEMPFAIL.startswith("451 4.4.3 ")


def auth(result: str, policy: str | None) -> Facts:
    return dataclasses.replace(MEMBER, auth=DmarcOutcome(result, "example.org",
                                                         policy))  # type: ignore[arg-type]


ENFORCE = SETTINGS
HOLDING = dataclasses.replace(SETTINGS, auth=AuthSettings(policy="hold"))
OFF = dataclasses.replace(SETTINGS, auth=AuthSettings(policy="off"))
PER_LIST = dataclasses.replace(SETTINGS, auth=AuthSettings(policy="off",
                                                           lists={"ccrlist": "hold"}))

AUTH_CASES = [
    # (id, facts, settings, expected action, reason)
    ("not checked", MEMBER, ENFORCE, "accept", ""),
    ("pass, p=reject", auth("pass", "reject"), ENFORCE, "accept", ""),
    ("fail, p=reject", auth("fail", "reject"), ENFORCE, "reject", "dmarc"),
    ("fail, p=quarantine", auth("fail", "quarantine"), ENFORCE, "reject", "dmarc"),
    ("fail, p=none", auth("fail", "none"), ENFORCE, "accept", ""),
    ("no record", auth("none", None), ENFORCE, "accept", ""),
    ("fail, p=reject, hold", auth("fail", "reject"), HOLDING, "hold", "dmarc"),
    ("fail, p=quarantine, hold", auth("fail", "quarantine"), HOLDING, "hold", "dmarc"),
    ("fail, p=reject, off", auth("fail", "reject"), OFF, "accept", ""),
    ("per-list hold over global off", auth("fail", "reject"), PER_LIST, "hold", "dmarc"),
    ("DMARC lookup failed", auth("temperror", None), ENFORCE, "defer", "dns_temp"),
    ("DKIM key lookup failed, p=reject", auth("temperror", "reject"), ENFORCE, "defer",
     "dns_temp"),
    ("DKIM key lookup failed, p=none", auth("temperror", "none"), ENFORCE, "accept", ""),
    ("DNS failed, hold", auth("temperror", "reject"), HOLDING, "defer", "dns_temp"),
    ("DNS failed, off", auth("temperror", None), OFF, "accept", ""),
    ("duplicate comes first", dataclasses.replace(auth("fail", "reject"),
                                                  message_id_seen=True), ENFORCE,
     "duplicate", ""),
    ("forged member is refused, not accepted",
     auth("fail", "reject"), ENFORCE, "reject", "dmarc"),
    ("forged non-member: DMARC speaks before membership",
     dataclasses.replace(auth("fail", "reject"), author_is_member=False), HOLD, "reject",
     "dmarc"),
]


@pytest.mark.parametrize("facts, settings, action, reason", [c[1:] for c in AUTH_CASES],
                         ids=[c[0] for c in AUTH_CASES])
def test_authentication_rule(facts: Facts, settings: Settings, action: str,
                             reason: str) -> None:
    post = parse_post("ccrlist", "alice@example.org", raw(BASIC))
    verdict = moderate(post, facts, settings)
    assert (verdict.action, verdict.reason) == (action, reason)


@pytest.mark.parametrize("facts, settings", [(c[3], c[4]) for c in CASES] +
                         [(c[1], c[2]) for c in AUTH_CASES],
                         ids=[c[0] for c in CASES] + [f"auth: {c[0]}" for c in AUTH_CASES])
@pytest.mark.parametrize("headers", [BASIC, "From: a@example.org\nFrom: b@example.org\n",
                                     BASIC + "Precedence: junk\n",
                                     BASIC + "X-Loop: other@example.net\n"])
def test_one_pass_then_authentication_gives_what_moderate_gives_with_it(
        facts: Facts, settings: Settings, headers: str) -> None:
    """The handler runs `moderate` once without authentication results, authenticates only
    when `needs_authentication` says it could matter, then applies `with_authentication`;
    that must give exactly what `moderate` gives when the results are known from the start."""
    post = parse_post("ccrlist", "alice@example.org", raw(headers))
    unchecked = moderate(post, dataclasses.replace(facts, auth=None), settings)
    expected = moderate(post, facts, settings)
    if needs_authentication(post, unchecked, settings):
        assert with_authentication(post, unchecked, facts, settings) == expected
    else:
        # Skipping the lookups is safe: the post is refused, discarded or a duplicate
        # already, or its list does not check.
        assert unchecked == expected or unchecked.action in ("reject", "discard", "duplicate")


def test_a_header_folded_over_many_lines_is_read_in_one_pass() -> None:
    # 1 MB of continuation lines: splitting it once cost seconds when each line was
    # appended to the field's bytes.
    folded = "X-Long: start\n" + " more\n" * 170_000
    post = parse_post("ccrlist", "alice@example.org", raw(BASIC + folded))
    assert post.author == "alice@example.org" and post.message_id == "<1@x>"


@pytest.mark.parametrize("value", [
    "alice@Example.ORG",
    "  Alice Smith <Alice.Smith+ccr@Example.org>  ",
    "Jo O'Neil <jo@ex-ample.org>",
    "<bob@example.org>",
    "Zo\u00eb <zoe@example.org>",
])
def test_the_short_way_for_plain_from_agrees_with_the_header_parser(value: str) -> None:
    """Plain From values skip the header registry; the registry gives the same address."""
    header = email.policy.default.header_factory("From", value)
    [address] = header.addresses
    local, _, domain = address.addr_spec.rpartition("@")
    assert find_author([value]) == (f"{local}@{domain.lower()}", "")
