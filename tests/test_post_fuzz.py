"""Mutated posts: parsing and judging never raise (that would answer 451 for days), and an
accepted post's list copy can always be made and DKIM-signed, and the signature verifies
(else it would stop the expansion, or never be delivered, or be refused on arrival).

A bounded, seeded run: the same 400 mutants every time, a few seconds. Longer runs of
the same kind found the cases pinned in test_ccrlist_corpus.py, test_ccrlist_rules.py,
test_ccrlist_headers.py and test_outbox_dkim.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from ccrlist_helpers import make_settings
from dkim_helpers import TestKey, keygen, with_key
from mutation import mutants

from ccrlist.config.settings import Settings
from ccrlist.copies.list_copy import list_headers, rewrite
from ccrlist.copies.long_lines import has_long_line
from ccrlist.delivery.signing import load_signer
from ccrlist.delivery.tokens import TOKEN_SLOT, personalise
from ccrlist.intake.post import parse_post
from ccrlist.intake.rules import Facts, moderate

SAMPLES = [
    b"From: Jo <jo@example.org>\r\nTo: ccrlist@lists.example.org\r\n"
    b"Subject: =?utf-8?q?R=C3=A9union?=\r\nMessage-ID: <a@b>\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; h=from:subject:to; bh=x; b=y\r\n"
    b"Reply-To: x@y.z\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b"
    b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n",
    b"From: \"Jo, X\" <jo@example.org>\r\nSubject: Re: [ccrlist] hi\r\n"
    b"List-Id: <other.example.org>\r\n\r\nbody\r\n",
]
PIECES = [b"=?utf-8?q?", b"=?utf-8?b?", b"=?", b"?=", b"\x00", b"\xff", b"\r\n ", b"\r\n\t",
          b"\"", b"<", b">", b"@", b"(", b")", b"\\", b";", b":", b",", b"=?x?b?====?=",
          b"Subject:", b"From: a@b.c\r\n", b"DKIM-Signature: h=", b"h=from:subject;",
          b"\r\n\r\n", b"Reply-To:", b"=?unknown-8bit?q?a?=", b"[ccrlist]", b"Re: ", b" :",
          b"X-A:\r\n", b"Subject: \r\n \r\n", b"\t"]
MEMBER = Facts(policy="subscribers", author_is_member=True, message_id_seen=False)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> TestKey:
    return keygen(tmp_path_factory.mktemp("dkim"), "lists.example.org", bits=1024)


def test_mutated_posts_are_judged_and_accepted_ones_rendered_and_signed(
        key: TestKey, tmp_path: Path) -> None:
    settings: Settings = make_settings(tmp_path, None)
    settings = dataclasses.replace(settings, auth=dataclasses.replace(settings.auth,
                                                                      from_rewrite=True))
    signer = load_signer(with_key(settings, key))
    assert signer is not None
    accepted = 0
    for raw in mutants(SAMPLES, PIECES, 400, 20261124):
        post = parse_post("ccrlist", "jo@example.org", raw)
        if moderate(post, MEMBER, settings).action != "accept":
            continue
        accepted += 1
        for personalised, dmarc_policy in ((False, ""), (True, "reject")):
            copy = rewrite(raw, list_headers("ccrlist", settings, personalised), post.author,
                           dmarc_policy)
            # Each copy is signed as dkimpy's verifier reads it, by the short way for a
            # personalised one (the slot replaced in the canonical form) too.
            token = "tok-Fuzz_1" if personalised else None
            fields = signer.prepare(copy, TOKEN_SLOT).fields(token)
            sent = personalise(copy, token) if token else copy
            assert key.verifies(fields + sent), raw
    assert accepted > 100  # most mutants are still posts a member could send


LONG_SAMPLES = [*SAMPLES,
                b"From: Jo <jo@example.org>\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n"
                b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n"
                b"--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n"]
LONG_PIECES = [*PIECES, *[b"x" * 1200, b"y " * 700, b"=C3=A9" * 300, b"A" * 1500] * 8,
               b"Content-Transfer-Encoding: quoted-printable\r\n",
               b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: 8bit\r\n",
               b"Content-Type: multipart/mixed; boundary=b\r\n", b"\r\n--b\r\n",
               b"\r\n--b--\r\n", b"Content-Type: message/rfc822\r\n"]


def test_posts_with_long_lines_are_refused_or_their_copies_fit(key: TestKey,
                                                               tmp_path: Path) -> None:
    """Intake and the copy agree: a post whose long lines intake accepts always gets a list
    copy whose lines fit, and that can be signed."""
    settings: Settings = make_settings(tmp_path, None)
    signer = load_signer(with_key(settings, key))
    assert signer is not None
    long_ones = refused = accepted = 0  # posts with a long line: all, refused, accepted
    for raw in mutants(LONG_SAMPLES, LONG_PIECES, 400, 20261206):
        post = parse_post("ccrlist", "jo@example.org", raw)
        verdict = moderate(post, MEMBER, settings)
        long_ones += has_long_line(raw)
        refused += verdict.reason == "long_line"
        if verdict.action != "accept":
            continue
        accepted += has_long_line(raw)
        for personalised, dmarc_policy in ((False, ""), (True, "reject")):
            copy = rewrite(raw, list_headers("ccrlist", settings, personalised), post.author,
                           dmarc_policy)
            assert not has_long_line(copy)
            signer.signature(copy)
    # Both ways were really tried (221, 89 and 30 with this seed).
    assert long_ones > 200 and refused > 50 and accepted > 20
