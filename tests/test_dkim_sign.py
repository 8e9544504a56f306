"""The OpenSSL signer against dkimpy: a committed vector byte for byte, the same fields as
dkimpy for a table of messages, and every personalised copy verified by two verifiers."""

from __future__ import annotations

import base64
import email
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from dkim_helpers import ED_SELECTOR, SELECTOR, TestKey, all_verify, keygen, signed_fields

from ccrlist.delivery.dkim_canon import read_fields, relaxed_body
from ccrlist.delivery.dkim_errors import SigningFailed
from ccrlist.delivery.dkim_keys import read_private_key
from ccrlist.delivery.dkim_sign import INCLUDE_HEADERS, DkimKey, DkimSigner, fold
from ccrlist.delivery.tokens import new_slot, personalise

DATA = Path(__file__).resolve().parent / "data" / "dkim"
DOMAIN = "lists.example.org"
STAMP = 1796000000
SLOT = new_slot()
UNSUBSCRIBE = b"List-Unsubscribe: <https://lists.example.org/u/" + SLOT + b">\r\n"

# (id, message): each holds the slot in the header only, the body too, or not at all.
MESSAGES = [
    ("header-only", b"From: ana@example.org\r\nSubject: Hello\r\n" + UNSUBSCRIBE
     + b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nHi all.\r\n"),
    ("header-and-body", b"From: ana@example.org\r\nSubject: Issue 12\r\n" + UNSUBSCRIBE
     + b"\r\nLeave: https://lists.example.org/u/" + SLOT + b"\r\n"),
    ("lf-line-ends", (b"From: ana@example.org\r\nSubject: Hello\r\n" + UNSUBSCRIBE
                      + b"\r\nLeave: " + SLOT + b"\r\n").replace(b"\r\n", b"\n")),
    ("folded", b"From: Ana\r\n <ana@example.org>\r\nSubject: a long\r\n\tsubject  folded "
     b"\r\n  twice  \r\nList-Unsubscribe: <https://lists.example.org/u/" + SLOT + b">,\r\n "
     b"<mailto:ccrlist-leave@lists.example.org>\r\n\r\nbody  with   runs \t\r\n\r\n\r\n"),
    ("non-ascii", "From: José <jose@example.org>\r\nSubject: Réunion à Montréal\r\n"
     "To: «liste» <ccrlist@lists.example.org>\r\n".encode() + UNSUBSCRIBE
     + "\r\nÀ bientôt\r\n".encode()),
    ("repeated-and-absent", b"From: a@example.org\r\nFrom: b@example.org\r\n" + UNSUBSCRIBE
     + b"Subject: one\r\nSubject: two\r\n\r\n"),
    ("no-body", b"From: ana@example.org\r\n" + UNSUBSCRIBE),
    ("no-slot", b"From: ana@example.org\r\nSubject: shared\r\n\r\nSame for everyone.\r\n"),
    ("mbox-line", b"From ana@example.org Mon Nov 30 2026\r\nFrom: ana@example.org\r\n"
     + UNSUBSCRIBE + b"\r\nhi\r\n"),
]
TOKENS = ["tok-Ana_123", "x", "Zm9v-YmFy_OTk5"]


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> TestKey:
    return keygen(tmp_path_factory.mktemp("rsa"), DOMAIN, bits=1024)


@pytest.fixture(scope="module")
def ed_key(tmp_path_factory: pytest.TempPathFactory) -> TestKey:
    return keygen(tmp_path_factory.mktemp("ed"), DOMAIN, ED_SELECTOR, key_type="ed25519")


def signer_for(*keys: TestKey, stamp: int | None = None) -> DkimSigner:
    loaded = []
    for key, selector in zip(keys, (SELECTOR, ED_SELECTOR), strict=False):
        pem = key.path.read_bytes()
        kind = "ed25519" if b"k=ed25519" in key.value() else "rsa"
        loaded.append(DkimKey(selector, DOMAIN, read_private_key(pem, kind, str(key.path))))
    if stamp is None:
        return DkimSigner(tuple(loaded))
    return DkimSigner(tuple(loaded), clock=lambda: float(stamp))


def dkimpy_fields(message: bytes, key: TestKey, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """What dkimpy itself writes for `message` with the RSA `key` at STAMP."""
    monkeypatch.setattr("time.time", lambda: float(STAMP))
    linesep = b"\n" if b"\r\n" not in message else b"\r\n"
    return bytes(dkim.sign(message, SELECTOR.encode(), DOMAIN.encode(), key.path.read_bytes(),
                           canonicalize=(b"relaxed", b"relaxed"),
                           include_headers=list(INCLUDE_HEADERS), linesep=linesep))


# --- the committed vector ------------------------------------------------------------------

def _vector_key(name: str, kind: str, selector: str) -> DkimKey:
    pem = (DATA / name).read_bytes()
    return DkimKey(selector, DOMAIN, read_private_key(pem, kind, name))  # type: ignore[arg-type]


def test_the_committed_vector_is_signed_byte_for_byte() -> None:
    """vector.eml, signed at t=1796000000 with the committed keys, must give exactly the
    fields dkimpy wrote for it (tests/data/dkim/make_vector.py)."""
    message = (DATA / "vector.eml").read_bytes()
    keys = (_vector_key("vector-rsa.pem", "rsa", "vector"),
            _vector_key("vector-ed25519.pem", "ed25519", "vector-ed"))
    signer = DkimSigner(keys, clock=lambda: float(STAMP))
    expected = (DATA / "vector-rsa.sig").read_bytes() + (DATA / "vector-ed25519.sig").read_bytes()
    assert signer.signature(message) == expected
    # The same bytes whichever way they are reached: the token short cut with a token
    # equal to what the message holds, from a copy that had a slot in its place.
    slotted = message.replace(b"tok-ana-123", SLOT)
    assert signer.prepare(slotted, SLOT).fields("tok-ana-123") == expected


def test_the_vector_verifies_with_its_own_records() -> None:
    """The committed .sig files are real signatures (so the vector cannot go stale)."""
    message = (DATA / "vector.eml").read_bytes()
    rsa_private = serialization.load_pem_private_key((DATA / "vector-rsa.pem").read_bytes(),
                                                     None)
    ed_private = serialization.load_pem_private_key(
        (DATA / "vector-ed25519.pem").read_bytes(), None)
    assert isinstance(rsa_private, rsa.RSAPrivateKey)
    assert isinstance(ed_private, ed25519.Ed25519PrivateKey)
    spki = rsa_private.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = ed_private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    records = {b"vector._domainkey.lists.example.org.": b"v=DKIM1; k=rsa; p="
               + base64.b64encode(spki),
               b"vector-ed._domainkey.lists.example.org.": b"v=DKIM1; k=ed25519; p="
               + base64.b64encode(raw)}

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name if name.endswith(b".") else name + b".")

    signed = ((DATA / "vector-rsa.sig").read_bytes() + (DATA / "vector-ed25519.sig").read_bytes()
              + message)
    assert dkim.DKIM(signed).verify(idx=0, dnsfunc=dnsfunc)
    assert dkim.DKIM(signed).verify(idx=1, dnsfunc=dnsfunc)


# --- against dkimpy, message by message ------------------------------------------------------

@pytest.mark.parametrize(("name", "message"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_fields_for_each_token_are_what_dkimpy_writes_for_that_copy(
        name: str, message: bytes, rsa_key: TestKey, monkeypatch: pytest.MonkeyPatch) -> None:
    prepared = signer_for(rsa_key, stamp=STAMP).prepare(message, SLOT)
    for token in TOKENS:
        copy = personalise(message, token, SLOT)
        assert prepared.fields(token) == dkimpy_fields(copy, rsa_key, monkeypatch), token


@pytest.mark.parametrize(("name", "message"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_every_personalised_copy_verifies_with_dkimpy_and_authheaders(
        name: str, message: bytes, rsa_key: TestKey, ed_key: TestKey) -> None:
    signer = signer_for(rsa_key, ed_key)
    prepared = signer.prepare(message, SLOT)
    copies = []
    for token in TOKENS:
        copy = personalise(message, token, SLOT)
        signed = prepared.fields(token) + copy
        assert all_verify(signed, [rsa_key, ed_key]), token
        copies.append(signed)
    if SLOT in message:  # another copy's token in this copy breaks both signatures
        forged = copies[0].replace(TOKENS[0].encode(), b"tok-Eve_666")
        assert not all_verify(forged, [rsa_key, ed_key])
    # Line ends of the fields follow the message's.
    assert (b"\r\n" in copies[0].partition(b"\nFrom")[0]) == (b"\r\n" in message)


@pytest.mark.parametrize("token", ["", "two words", "tab\there", "a\r\nX-Evil: 1"])
def test_a_token_that_is_not_header_safe_is_still_signed_exactly(
        token: str, rsa_key: TestKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """White space or an empty token would change canonicalisation around the slot: such
    copies are canonicalised whole, and still equal dkimpy's fields."""
    message = MESSAGES[1][1]
    prepared = signer_for(rsa_key, stamp=STAMP).prepare(message, SLOT)
    copy = personalise(message, token, SLOT)
    assert prepared.fields(token) == dkimpy_fields(copy, rsa_key, monkeypatch)


def test_a_slot_in_a_field_name_takes_the_long_way(rsa_key: TestKey,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    message = b"From: a@example.org\r\nX-" + SLOT + b": 1\r\nSubject: " + SLOT + b"\r\n\r\nhi\r\n"
    prepared = signer_for(rsa_key, stamp=STAMP).prepare(message, SLOT)
    copy = personalise(message, "Subject", SLOT)  # now a second Subject field
    assert prepared.fields("Subject") == dkimpy_fields(copy, rsa_key, monkeypatch)


def test_h_signs_every_field_twice_present_or_absent(rsa_key: TestKey) -> None:
    signed = signer_for(rsa_key).sign(MESSAGES[0][1])
    fields = signed_fields(signed)
    assert fields == [h.decode() for h in INCLUDE_HEADERS]
    for absent in ("cc", "reply-to", "date"):
        assert fields.count(absent) == 2
    # Cc was absent when signed: adding one breaks the signature.
    added = signed.replace(b"\r\nSubject:", b"\r\nCc: spam@example.net\r\nSubject:", 1)
    assert not all_verify(added, [rsa_key])


def test_both_signatures_are_one_field_each_rsa_first(rsa_key: TestKey,
                                                      ed_key: TestKey) -> None:
    signed = signer_for(rsa_key, ed_key).sign(MESSAGES[0][1])
    values = email.message_from_bytes(signed).get_all("DKIM-Signature")
    assert values is not None and len(values) == 2
    assert "a=rsa-sha256" in values[0] and f"s={SELECTOR};" in values[0]
    assert "a=ed25519-sha256" in values[1] and f"s={ED_SELECTOR};" in values[1]
    assert signed_fields(signed, 1) == signed_fields(signed, 0)


@pytest.mark.parametrize("message", [
    b"\tFrom: ana@example.org\r\n\r\nhi\r\n",
    b"From: ana@example.org\r\nnot a field\r\n\r\nhi\r\n",
    b"From: ana@example.org\r\nSubject : obsolete\r\n\r\nhi\r\n",
])
def test_what_cannot_be_read_as_verifiers_read_it_is_a_signing_failure(
        rsa_key: TestKey, message: bytes) -> None:
    with pytest.raises(SigningFailed):
        signer_for(rsa_key).prepare(message, SLOT)
    with pytest.raises((dkim.DKIMException, IndexError)):  # dkimpy cannot sign them either
        dkim.sign(message, b"s", b"example.org", rsa_key.path.read_bytes())


@pytest.mark.parametrize(("body", "expected"), [
    (b"", b""),
    (b"\r\n\r\n", b""),
    (b"a", b"a\r\n"),
    (b"a \t\r\n\r\n", b"a\r\n"),
    (b"a\r\r\n", b"a\r\r\n"),
    (b" a  b\t\tc \r\n", b" a b c\r\n"),
])
def test_relaxed_body_table(body: bytes, expected: bytes) -> None:
    assert relaxed_body(body) == expected


def test_fields_are_read_as_dkimpy_reads_them() -> None:
    message = b"From ana Mon\nA: 1\n  2\nB:x\r\n\r\nbody\nmore\n"
    fields, body = read_fields(message)
    assert fields == [(b"A", b" 1  2"), (b"B", b"x")]
    assert body == b"body\r\nmore\r\n"


@pytest.mark.parametrize("width", range(30, 120, 7))
def test_fold_keeps_lines_short_and_unfolds_to_the_value(width: int) -> None:
    value = b"; ".join([b"d=" + b"x" * width, b"h=a : b : c", b"b=" + b"Q" * (width * 3)])
    for linesep in (b"\r\n", b"\n"):
        lines = fold(value, linesep).split(linesep)
        assert all(line.strip() for line in lines)  # no line of white space alone
        assert all(line.startswith(b" ") for line in lines[1:])
        assert b"".join(lines).replace(b" ", b"") == value.replace(b" ", b"")
        b_lines = [line for line in lines if set(line.strip()) <= set(b"bQ=")]
        assert b_lines and all(len(line) <= 72 for line in b_lines)
