"""Header rewriting as a table: list fields, subject prefix never doubled, body byte for byte."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.utils import parseaddr

import pytest
from authkit import make_key, sign, verifies

from ccrlist.config.settings import Settings, WebSettings
from ccrlist.copies.list_copy import ListHeaders, list_headers, rewrite
from ccrlist.delivery.tokens import TOKEN_SLOT, personalise
from ccrlist.header_block import readable, split_fields
from ccrlist.list_fields import ListFields

INFO = ListHeaders(ListFields("ccrlist", "lists.example.org",
                              "https://lists.example.org/archive/ccrlist/"), "[ccrlist]")


def post(subject_line: str | None, body: bytes = b"Body line\r\n\r\nsecond para\r\n",
         extra: str = "") -> bytes:
    head = "From: Alice <alice@example.org>\r\nTo: ccrlist@lists.example.org\r\n"
    if subject_line is not None:
        head += subject_line + "\r\n"
    return (head + extra + "\r\n").encode() + body


def subject_of(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=policy.default)["Subject"])


@pytest.mark.parametrize("line, expected", [
    ("Subject: Hello", "[ccrlist] Hello"),
    ("Subject: [ccrlist] Hello", "[ccrlist] Hello"),
    ("Subject: Re: [ccrlist] Hello", "Re: [ccrlist] Hello"),
    ("Subject: RE: [ccrlist] Hello", "RE: [ccrlist] Hello"),
    ("Subject: AW: [CCRLIST] Hallo", "AW: [CCRLIST] Hallo"),
    ("Subject: Re: Re: [ccrlist] Hello", "Re: Re: [ccrlist] Hello"),
    ("Subject: =?utf-8?q?Re=3A_=5Bccrlist=5D_R=C3=A9fugi=C3=A9s?=", "Re: [ccrlist] Réfugiés"),
    ("Subject: =?utf-8?b?W2Njcmxpc3RdIMOJdMOp?=", "[ccrlist] Été"),
    ("Subject: =?utf-8?q?R=C3=A9fugi=C3=A9s?=", "[ccrlist] Réfugiés"),
    ("Subject: a long subject\r\n folded over two lines", "[ccrlist] a long subject folded "
     "over two lines"),
    ("Subject:", "[ccrlist]"),
    (None, "[ccrlist]"),
])
def test_subject_prefix_added_once(line: str | None, expected: str) -> None:
    once = rewrite(post(line), INFO, "alice@example.org")
    assert subject_of(once) == expected
    twice = rewrite(once, INFO, "alice@example.org")
    assert subject_of(twice) == expected


@pytest.mark.parametrize("value", [
    b"=?utf-8?b?SGVsb?= list",  # base64 one character short
    "=?ut\u00e9f-8?q?caf=C3=A9?=".encode(),  # a charset name that is not ASCII
    b"=?utf-8?q?R=C3=A9union?= \xff\xfe",  # an encoded word and raw bytes that are not UTF-8
])
def test_subjects_the_email_package_cannot_decode_are_prefixed_as_they_came(
        value: bytes) -> None:
    """The email package raises on these; a rewrite that raised would stop the expansion
    of every later post (found by fuzzing)."""
    once = rewrite(b"Subject: " + value + b"\r\n\r\nbody\r\n", INFO, "alice@example.org")
    assert once.startswith(b"Subject: [ccrlist] " + value + b"\r\n")
    assert rewrite(once, INFO, "alice@example.org").count(b"[ccrlist]") == 1


@pytest.mark.parametrize("body", [
    b"plain\r\n",
    b"trailing spaces   \r\n\r\n\r\n",
    "8-bit caf\u00e9 \u00e0 Montr\u00e9al\r\n".encode(),
    b"--b\r\nContent-Type: text/plain\r\n\r\npart\r\n--b--\r\n",
    b"",
])
def test_body_kept_byte_for_byte(body: bytes) -> None:
    raw = post("Subject: x", body)
    out = rewrite(raw, INFO, "alice@example.org")
    assert out.endswith(b"\r\n\r\n" + body)
    assert split_fields(out)[1] == b"\r\n" + body


def test_list_fields_set_and_stale_ones_replaced() -> None:
    stale = "List-Id: <other.example.net>\r\nPrecedence: bulk\r\nX-Loop: x@y\r\n"
    out = rewrite(post("Subject: x", extra=stale), INFO, "alice@example.org")
    msg = message_from_bytes(out, policy=policy.default)
    assert msg.get_all("List-Id") == ["<ccrlist.lists.example.org>"]
    assert msg["List-Post"] == "<mailto:ccrlist@lists.example.org>"
    assert msg["List-Help"] == "<mailto:ccrlist-request@lists.example.org?subject=help>"
    assert msg["List-Subscribe"] == "<mailto:ccrlist-join@lists.example.org>"
    assert msg["List-Unsubscribe"] == "<mailto:ccrlist-leave@lists.example.org>"
    assert msg["List-Unsubscribe-Post"] is None  # RFC 8058 needs an https URI
    assert msg["List-Archive"] == "<https://lists.example.org/archive/ccrlist/>"
    assert msg.get_all("Precedence") == ["list"]
    assert msg.get_all("X-Loop") == ["ccrlist@lists.example.org"]
    assert msg["From"] == "Alice <alice@example.org>"


@pytest.mark.parametrize("policy_name, original, expected", [
    ("off", None, None),
    ("off", "carol@example.org", "carol@example.org"),
    ("list", None, "ccrlist@lists.example.org"),
    ("list", "carol@example.org", "ccrlist@lists.example.org"),
    ("author", None, "alice@example.org"),
    ("author", "carol@example.org", "alice@example.org"),
])
def test_reply_to_policy(policy_name: str, original: str | None, expected: str | None) -> None:
    info = ListHeaders(INFO.fields, INFO.subject_prefix, policy_name)  # type: ignore[arg-type]
    extra = f"Reply-To: {original}\r\n" if original else ""
    out = rewrite(post("Subject: x", extra=extra), info, "alice@example.org")
    values = message_from_bytes(out, policy=policy.default).get_all("Reply-To")
    assert values == ([expected] if expected else None)


def test_unix_line_endings_kept() -> None:
    raw = b"From: a@example.org\nSubject: x\n\nbody\n"
    out = rewrite(raw, INFO, "a@example.org")
    assert b"\r" not in out
    assert out.endswith(b"\n\nbody\n")


def test_header_only_message_gets_a_separator() -> None:
    out = rewrite(b"From: a@example.org\r\nSubject: x", INFO, "a@example.org")
    assert out.endswith(b"\r\n\r\n")
    assert subject_of(out) == "[ccrlist] x"


# DMARC mitigation: From rewritten for p=reject/quarantine domains, author kept in Reply-To.

MUNGING = dataclasses.replace(INFO, from_rewrite=True)


def from_post(from_line: str, extra: str = "") -> bytes:
    return (f"{from_line}\r\nTo: ccrlist@lists.example.org\r\nSubject: x\r\n{extra}\r\n"
            "Body\r\n").encode()


@pytest.mark.parametrize("from_line, display", [
    ("From: Alice Smith <alice@reject.example>", "Alice Smith via ccrlist"),
    ('From: "Smith, Alice" <alice@reject.example>', "Smith, Alice via ccrlist"),
    ("From: =?utf-8?q?Zo=C3=AB_M=C3=A9nard?= <zoe@reject.example>", "Zoë Ménard via ccrlist"),
    ("From: Zoë Ménard <zoe@reject.example>", "Zoë Ménard via ccrlist"),  # raw UTF-8 (6532)
    ("From: alice@reject.example", "alice at reject.example via ccrlist"),
    ("From: <alice@reject.example>", "alice at reject.example via ccrlist"),
    ("From: " + "Ünïcödé " * 12 + "<u@reject.example>", ("Ünïcödé " * 12).strip()
     + " via ccrlist"),
])
@pytest.mark.parametrize("dmarc_policy", ["reject", "quarantine"])
def test_from_rewritten_for_strict_domains(from_line: str, display: str,
                                           dmarc_policy: str) -> None:
    author = from_line.split("<")[-1].rstrip(">").split()[-1]
    out = rewrite(from_post(from_line), MUNGING, author, dmarc_policy)
    [new_from] = [f for f in split_fields(out)[0] if f.startswith(b"From:")]
    assert new_from.isascii()  # RFC 2047 words, never raw 8-bit, in our From
    assert all(len(line) <= 78 for line in new_from.split(b"\r\n"))
    # RFC 2047 decoding (6.2: white space between adjacent encoded words is ignored; the
    # email package's newer parser does not ignore it, so the classic decoder is used).
    value = new_from[5:].decode("ascii").replace("\r\n", "")
    name, address = parseaddr(str(make_header(decode_header(value))))
    assert (" ".join(name.split()), address) == (display, "ccrlist@lists.example.org")
    msg = message_from_bytes(out, policy=policy.default)
    assert len(msg.get_all("From")) == 1
    assert msg["Reply-To"].addresses[0].addr_spec == author
    assert b"\r\nReply-To: " + from_line[6:].encode() + b"\r\n" in out  # as the author wrote it
    assert out.endswith(b"\r\n\r\nBody\r\n")


@pytest.mark.parametrize("dmarc_policy, enabled", [
    ("", True), ("none", True), ("reject", False), ("quarantine", False)])
def test_from_kept_otherwise(dmarc_policy: str, enabled: bool) -> None:
    info = MUNGING if enabled else INFO
    raw = from_post("From: Alice <alice@example.org>")
    out = rewrite(raw, info, "alice@example.org", dmarc_policy)
    msg = message_from_bytes(out, policy=policy.default)
    assert msg["From"] == "Alice <alice@example.org>"
    assert msg["Reply-To"] is None


@pytest.mark.parametrize("reply_to, original, expected", [
    # off: replies go where they went before the rewrite
    ("off", None, ["Alice <alice@reject.example>"]),
    ("off", "team@reject.example", ["team@reject.example"]),
    # author: the author, whatever Reply-To the post had
    ("author", None, ["Alice <alice@reject.example>"]),
    ("author", "team@reject.example", ["Alice <alice@reject.example>"]),
    # list: the list, and the author, whose address would otherwise be lost
    ("list", None, ["ccrlist@lists.example.org, Alice <alice@reject.example>"]),
    ("list", "team@reject.example", ["ccrlist@lists.example.org, Alice <alice@reject.example>"]),
])
def test_reply_to_with_from_rewrite(reply_to: str, original: str | None,
                                    expected: list[str]) -> None:
    info = dataclasses.replace(MUNGING, reply_to=reply_to)  # type: ignore[arg-type]
    extra = f"Reply-To: {original}\r\n" if original else ""
    out = rewrite(from_post("From: Alice <alice@reject.example>", extra), info,
                  "alice@reject.example", "reject")
    assert message_from_bytes(out, policy=policy.default).get_all("Reply-To") == expected


# The author's DKIM signatures: kept when they still verify, removed when we broke them.

KEY = make_key()
ZONE = {"sel._domainkey.example.org": KEY.record}


def signed(headers: tuple[bytes, ...], subject: str = "Hello") -> bytes:
    return sign(post(f"Subject: {subject}"), "example.org", KEY, headers=headers)


def signature_fields(raw: bytes) -> list[bytes]:
    return [f for f in split_fields(raw)[0] if f.lower().startswith(b"dkim-signature:")]


@pytest.mark.parametrize("info, headers, subject, dmarc_policy, survives", [
    # the default prefix changes Subject: a signature covering it breaks
    (INFO, (b"from", b"to", b"subject"), "Hello", "", False),
    (INFO, (b"from", b"to"), "Hello", "", True),
    (dataclasses.replace(INFO, subject_prefix=""), (b"from", b"to", b"subject"), "Hello", "",
     True),
    # a subject already tagged is left alone, and so is its signature
    (INFO, (b"from", b"subject"), "Re: [ccrlist] Hello", "", True),
    # a signature asserting the absence of a field we add (over-signed List-Id) breaks
    (INFO, (b"from", b"list-id"), "Hello", "", False),
    (INFO, (b"from", b"precedence"), "Hello", "", False),
    # rewriting From breaks every signature (From is always signed)
    (MUNGING, (b"from", b"to"), "Hello", "reject", False),
    (MUNGING, (b"from", b"to"), "Hello", "none", True),
    # Reply-To set by the list breaks a signature covering it
    (dataclasses.replace(INFO, reply_to="list"), (b"from", b"reply-to"), "Hello", "", False),
    (dataclasses.replace(INFO, reply_to="list"), (b"from", b"to"), "Hello", "", True),
])
def test_broken_signatures_removed(info: ListHeaders, headers: tuple[bytes, ...], subject: str,
                                   dmarc_policy: str, survives: bool) -> None:
    raw = signed(headers, subject)
    assert verifies(raw, ZONE)
    [original_signature] = signature_fields(raw)
    out = rewrite(raw, info, "alice@example.org", dmarc_policy)
    if survives:
        assert signature_fields(out) == [original_signature]
        assert verifies(out, ZONE)
    else:
        assert signature_fields(out) == []
        # Removing it was right: put back on the list copy, it no longer verifies.
        assert not verifies(original_signature + out, ZONE)


def test_only_the_broken_signature_goes() -> None:
    raw = signed((b"from", b"to"))  # survives the prefix
    raw = sign(raw, "example.org", KEY, headers=(b"from", b"subject"))  # does not
    assert verifies(raw, ZONE, 0) and verifies(raw, ZONE, 1)
    out = rewrite(raw, INFO, "alice@example.org")
    [kept] = signature_fields(out)
    assert kept == signature_fields(raw)[1]
    assert verifies(out, ZONE)


def test_a_long_line_is_re_encoded_in_the_copy_and_every_author_signature_goes() -> None:
    """The stored post keeps its 1,600-character line; the copy re-encodes it (Postfix,
    relaying it, would break it and our signature with it), so the author's signature,
    which did not cover the field we change but did the body, goes."""
    body = ("mot " * 400 + "\r\n").encode()
    raw = sign(post("Subject: [ccrlist] Hello", body), "example.org", KEY,
               headers=(b"from", b"subject"))
    assert verifies(raw, ZONE)
    out = rewrite(raw, INFO, "alice@example.org")
    assert max(len(line) for line in out.split(b"\r\n")) <= 998
    assert signature_fields(out) == []
    assert not verifies(signature_fields(raw)[0] + out, ZONE)  # removing it was right
    msg = message_from_bytes(out, policy=policy.default)
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content() == body.decode()
    assert msg["List-Id"] == "<ccrlist.lists.example.org>"


def test_a_field_written_anew_from_obsolete_syntax_breaks_the_signatures_over_it() -> None:
    """`To : x` becomes `To: x`: with simple header canonicalisation a signature over To
    no longer verifies, so it goes; one over From alone stays (found in review)."""
    # dkimpy cannot sign the obsolete form, so the fields are written out: only their h=
    # matters to which survive.
    fields = b"v=1; a=rsa-sha256; c=simple/simple; d=example.org; s=s; bh=x; b=y"
    over_to = b"DKIM-Signature: " + fields + b"; h=from:to\r\n"
    over_from = b"DKIM-Signature: " + fields + b"; h=from\r\n"
    raw = over_to + over_from + post("Subject: [ccrlist] Hello").replace(b"To: ", b"To : ")
    out = rewrite(raw, INFO, "alice@example.org")
    assert b"\r\nTo: ccrlist@lists.example.org\r\n" in out
    assert signature_fields(out) == [over_from]


def test_every_field_we_do_not_own_is_kept_even_when_repeated() -> None:
    raw = post("Subject: Hello", extra="Subject: again\r\nReceived : from a\r\n"
               "Received : from b\r\n")
    out = rewrite(raw, INFO, "alice@example.org")
    assert b"Subject: [ccrlist] Hello\r\n" in out and b"Subject: again\r\n" in out
    assert b"Received: from a\r\nReceived: from b\r\n" in out


@pytest.mark.parametrize(("value", "shown"), [
    ("=?utf-8?q?Agenda=0A17=09ccrlist-abc?=", "Agenda 17 ccrlist-abc"),  # found in review
    ("=?utf-8?b?SGVsb?= list", "=?utf-8?b?SGVsb?= list"),
    ("plain  subject\r\n folded", "plain subject folded"),
])
def test_readable_values_are_one_line(value: str, shown: str) -> None:
    assert readable(value) == shown


@pytest.mark.parametrize("base_url", [
    "https://lists.example.org/",
    "https://lists.example.org",
    "https://ccrweb.ca/a/rather/long/path/to/where/the/subscription/pages/are/served/",
])
def test_personalised_copy_offers_one_click_with_the_token_slot(base_url: str) -> None:
    settings = dataclasses.replace(Settings(), domain="lists.example.org",
                                   web=WebSettings(base_url=base_url))
    stale = ("List-Unsubscribe: <https://evil.example/u/x>\r\n"
             "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    out = rewrite(post("Subject: x", extra=stale), list_headers("ccrlist", settings, True),
                  "alice@example.org")
    url = base_url.rstrip("/") + "/u/"
    head = split_fields(out)[0]
    [field] = [f for f in head if f.lower().startswith(b"list-unsubscribe:")]
    assert TOKEN_SLOT in field  # whole, whether or not the field was folded
    assert all(len(line) <= 80 or TOKEN_SLOT in line for line in field.splitlines())
    msg = message_from_bytes(personalise(out, "Tok3n_-x"), policy=policy.default)
    assert msg.get_all("List-Unsubscribe") == [
        f"<{url}Tok3n_-x>, <mailto:ccrlist-leave@lists.example.org>"]
    assert msg.get_all("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
    assert out.endswith(b"\r\n\r\nBody line\r\n\r\nsecond para\r\n")


def test_long_list_unsubscribe_is_folded_between_its_uris_only() -> None:
    info = dataclasses.replace(INFO, fields=dataclasses.replace(
        INFO.fields, unsubscribe_url="https://lists.example.org/u/" + "a" * 60))
    out = rewrite(post("Subject: x"), info, "alice@example.org")
    assert (b"List-Unsubscribe: <https://lists.example.org/u/" + b"a" * 60 + b">,\r\n"
            b" <mailto:ccrlist-leave@lists.example.org>\r\n") in out
    short = ListHeaders(ListFields("l", "x.org", "https://x.org/",
                                   unsubscribe_url="https://x.org/u/t"), "")
    assert (b"List-Unsubscribe: <https://x.org/u/t>, <mailto:l-leave@x.org>\r\n"
            in rewrite(post("Subject: x"), short, "alice@example.org"))
