"""Header rewriting as a table: list fields, subject prefix never doubled, body byte for byte."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy

import pytest

from ccrconfig.settings import Settings, WebSettings
from ccrlist.headers import ListHeaders, list_headers, rewrite, split_fields
from outbox.personalise import TOKEN_SLOT, personalise

INFO = ListHeaders("ccrlist", "lists.example.org", "[ccrlist]",
                   "https://lists.example.org/archive/ccrlist/")


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
    info = ListHeaders(INFO.list_name, INFO.domain, INFO.subject_prefix, INFO.archive_url,
                       policy_name)  # type: ignore[arg-type]
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
    info = dataclasses.replace(INFO, unsubscribe_url="https://lists.example.org/u/" + "a" * 60)
    out = rewrite(post("Subject: x"), info, "alice@example.org")
    assert (b"List-Unsubscribe: <https://lists.example.org/u/" + b"a" * 60 + b">,\r\n"
            b" <mailto:ccrlist-leave@lists.example.org>\r\n") in out
    short = ListHeaders("l", "x.org", "", "https://x.org/", unsubscribe_url="https://x.org/u/t")
    assert (b"List-Unsubscribe: <https://x.org/u/t>, <mailto:l-leave@x.org>\r\n"
            in rewrite(post("Subject: x"), short, "alice@example.org"))
