"""Header rewriting as a table: list fields, subject prefix never doubled, body byte for byte."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from ccrlist.headers import ListHeaders, rewrite, split_fields

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
