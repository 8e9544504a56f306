"""The delivery worker signs every copy: after personalisation, once per shared message."""

from __future__ import annotations

import asyncio
import dataclasses
import mailbox
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import VERP_KEY, RecordingRelay, make_settings
from dkim_helpers import (
    ED_SELECTOR,
    TestKey,
    all_verify,
    keygen,
    signature_tags,
    signed_fields,
    verdicts,
    with_key,
)

from ccrlist.config.settings import Settings
from ccrlist.delivery.dkim_errors import SigningFailed
from ccrlist.delivery.dkim_sign import PreparedMessage
from ccrlist.delivery.signing import CopySigner, copy_signer, load_signer
from ccrlist.delivery.tokens import TOKEN_SLOT, new_slot, personalise
from ccrlist.delivery.transport import make_transport
from ccrlist.delivery.worker import DeliveryWorker
from subscribers.db import Connection, open_database
from subscribers.post_models import Recipient
from subscribers.queue import QueueStore

DOMAIN = "lists.example.org"
SENDER = f"ccrlist-bounces@{DOMAIN}"
SHARED = (b"From: ana@example.org\r\nTo: ccrlist@lists.example.org\r\nSubject: t\r\n"
          b"List-Id: <ccrlist.lists.example.org>\r\n\r\nhello\r\n")
PERSONAL = (b"From: ana@example.org\r\nTo: ccrlist@lists.example.org\r\nSubject: t\r\n"
            b"List-Unsubscribe: <https://lists.example.org/u/" + TOKEN_SLOT + b">\r\n"
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n"
            b"Leave: https://lists.example.org/u/" + TOKEN_SLOT + b"\r\n")


class CountingSigner(CopySigner):
    """The real signer, counting what it is asked (a spy, not a fake)."""

    def __init__(self, signer: CopySigner) -> None:
        super().__init__(signer.signer)
        self.prepared: list[bytes] = []
        self.calls: list[str | None] = []

    def prepare(self, message: bytes, slot: bytes | None) -> PreparedMessage:
        self.prepared.append(message)
        return super().prepare(message, slot)

    def request(self, prepared: PreparedMessage, token: str | None) -> asyncio.Future[bytes]:
        self.calls.append(token)
        return super().request(prepared, token)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> TestKey:
    return keygen(tmp_path_factory.mktemp("dkim"), DOMAIN)


@pytest.fixture(scope="module")
def ed_key(tmp_path_factory: pytest.TempPathFactory) -> TestKey:
    return keygen(tmp_path_factory.mktemp("ed"), DOMAIN, ED_SELECTOR, key_type="ed25519")


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Connection]:
    c = await open_database(tmp_path / "q.sqlite3")
    yield c
    await c.close()


def loaded(settings: Settings) -> CopySigner:
    signer = copy_signer(settings)
    assert signer is not None
    return signer


def counting(signer: CopySigner) -> CountingSigner:
    return CountingSigner(signer)


async def deliver(settings: Settings, queue: QueueStore, signer: CopySigner) -> int:
    with signer:
        report = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                      signer=signer, verp_key=VERP_KEY).run_until_idle()
    return report.sent


async def test_shared_message_is_signed_once_for_all_its_batches(
        tmp_path: Path, conn: Connection, relay: RecordingRelay, controller: Controller,
        key: TestKey) -> None:
    settings = with_key(make_settings(tmp_path, controller.port, max_rcpt_per_message=50,
                                      connections=3), key)
    queue = QueueStore(conn)
    people = [Recipient(f"m{i:03d}@example.org") for i in range(120)]
    await queue.enqueue(list_name="ccrlist", source="post", source_ref="p1", sender=SENDER,
                        body=SHARED, recipients=people)
    await queue.enqueue(list_name="ccrlist", source="post", source_ref="p2", sender=SENDER,
                        body=SHARED.replace(b"hello", b"again"), recipients=people[:3],
                        verp=True)
    signer = counting(loaded(settings))
    assert await deliver(settings, queue, signer) == 123
    assert signer.calls == [None, None]  # one per message, not per batch or per VERP copy
    assert len(relay.messages) == 3 + 3
    for copy in relay.messages:
        assert key.verifies(copy.content), copy.rcpt_tos
    first = [m.content for m in relay.messages if len(m.rcpt_tos) > 1]
    assert len({c.split(b"\r\n\r\n")[0] for c in first}) == 1  # the same signature reused


@pytest.mark.parametrize("ed25519", [False, True], ids=["rsa", "rsa+ed25519"])
async def test_personalised_copies_each_verify_with_their_own_token(
        tmp_path: Path, conn: Connection, relay: RecordingRelay, controller: Controller,
        key: TestKey, ed_key: TestKey, ed25519: bool) -> None:
    settings = with_key(make_settings(tmp_path, controller.port), key,
                        ed_key if ed25519 else None)
    keys = [key, ed_key] if ed25519 else [key]
    queue = QueueStore(conn)
    tokens = {f"m{i}@example.org": f"tok{i:02d}x" for i in range(6)}
    await queue.enqueue(list_name="echronicle", source="issue", source_ref="v1:en",
                        sender=SENDER, body=PERSONAL, personalised=True,
                        recipients=[Recipient(a, t) for a, t in tokens.items()])
    signer = counting(loaded(settings))
    assert await deliver(settings, queue, signer) == 6
    assert len(signer.prepared) == 1  # canonicalised once for all its copies
    assert sorted(c or "" for c in signer.calls) == sorted(tokens.values())
    assert sorted(r for m in relay.messages for r in m.rcpt_tos) == sorted(tokens)
    for copy in relay.messages:
        token = tokens[copy.rcpt_tos[0]].encode()
        content = copy.content
        assert content.count(token) == 2 and TOKEN_SLOT not in content
        assert all_verify(content, keys)
        assert verdicts(content, *keys) == [True] * len(keys)
        assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(signed_fields(content))
        # Another member's token in this copy's signed header or body breaks it.
        assert not any(verdicts(content.replace(token, b"tok99x", 1), *keys))
        assert not any(verdicts(content.replace(token, b"tok99x"), *keys))
    assert len({signature_tags(m.content)[b"b"] for m in relay.messages}) == 6


async def test_list_copies_with_the_token_in_a_header_only_share_one_body_hash(
        tmp_path: Path, conn: Connection, relay: RecordingRelay, controller: Controller,
        key: TestKey) -> None:
    settings = with_key(make_settings(tmp_path, controller.port), key)
    queue = QueueStore(conn)
    slot = new_slot()
    body = (b"From: ana@example.org\r\nSubject: [ccrlist] hi\r\n"
            b"List-Unsubscribe: <https://lists.example.org/u/" + slot + b">\r\n"
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nSame body.\r\n")
    people = {f"m{i}@example.org": f"tok-{i}" for i in range(5)}
    await queue.enqueue(list_name="ccrlist", source="post", source_ref="p1", sender=SENDER,
                        body=body.replace(slot, TOKEN_SLOT), personalised=True,
                        recipients=[Recipient(a, t) for a, t in people.items()])
    assert await deliver(settings, queue, loaded(settings)) == 5
    for copy in relay.messages:
        assert all_verify(copy.content, [key])
        assert f"/u/{people[copy.rcpt_tos[0]]}>".encode() in copy.content
    assert len({signature_tags(m.content)[b"bh"] for m in relay.messages}) == 1
    assert len({signature_tags(m.content)[b"b"] for m in relay.messages}) == 5


async def test_maildir_outbox_copies_are_signed(tmp_path: Path, conn: Connection,
                                                key: TestKey) -> None:
    settings = with_key(make_settings(tmp_path, None), key)
    queue = QueueStore(conn)
    await queue.enqueue(list_name="echronicle", source="issue", source_ref="v1:en",
                        sender=SENDER, body=PERSONAL, personalised=True,
                        recipients=[Recipient("jo@example.org", "tokjo"),
                                    Recipient("li@example.net", "tokli")])
    assert await deliver(settings, queue, loaded(settings)) == 2
    box = mailbox.Maildir(settings.outbox_dir, create=False)
    files = [box.get_bytes(k) for k in box.iterkeys()]
    assert len(files) == 2
    for raw in files:
        # The Maildir adds Return-Path and Delivered-To above; they are not signed.
        assert raw.startswith(b"Return-Path: ")
        assert b"\r\nDKIM-Signature: " in raw
        assert key.verifies(raw)


async def test_a_message_that_cannot_be_signed_is_deferred_not_sent_unsigned(
        tmp_path: Path, conn: Connection, relay: RecordingRelay, controller: Controller,
        key: TestKey) -> None:
    settings = with_key(make_settings(tmp_path, controller.port), key)
    queue = QueueStore(conn)
    broken = b"From: ana@example.org\r\nthis line is no header field\r\n\r\nhello\r\n"
    await queue.enqueue(list_name="ccrlist", source="post", source_ref="p1", sender=SENDER,
                        body=broken, recipients=[Recipient("jo@example.org")])
    with loaded(settings) as signer:
        report = await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                                      signer=signer, verp_key=VERP_KEY).run_until_idle()
    assert (report.sent, report.deferred, report.failed) == (0, 1, 0)
    assert relay.messages == []
    counts = await queue.counts()
    assert counts.deferred == 1


async def test_without_a_signer_nothing_is_added(tmp_path: Path, conn: Connection,
                                                 relay: RecordingRelay,
                                                 controller: Controller) -> None:
    settings = make_settings(tmp_path, controller.port)
    queue = QueueStore(conn)
    await queue.enqueue(list_name="ccrlist", source="post", source_ref="p1", sender=SENDER,
                        body=SHARED, recipients=[Recipient("jo@example.org")])
    await DeliveryWorker(queue, make_transport(settings), settings.delivery,
                         verp_key=VERP_KEY).run_until_idle()
    assert [m.content for m in relay.messages] == [SHARED]


def test_copy_signer_describes_itself(key: TestKey, ed_key: TestKey) -> None:
    settings = with_key(Settings(domain=DOMAIN), key)
    assert loaded(settings).describe() == (
        f"rsa-sha256 d={DOMAIN} s=ccr2026; personalised copies are signed in a signing thread")
    settings = dataclasses.replace(settings, dkim=dataclasses.replace(settings.dkim,
                                                                      domain="ccrweb.ca"))
    assert loaded(settings).signer.keys[0].domain == "ccrweb.ca"
    both = loaded(with_key(Settings(domain=DOMAIN), key, ed_key)).describe()
    assert both.startswith(f"rsa-sha256 d={DOMAIN} s=ccr2026, ed25519-sha256 d={DOMAIN} "
                           "s=ccr2026-ed;")


async def test_a_closed_signer_signs_again_in_a_new_thread(key: TestKey) -> None:
    signer = loaded(with_key(Settings(domain=DOMAIN), key))
    prepared = signer.prepare(PERSONAL, TOKEN_SLOT)
    first = await signer.fields(prepared, "tok1")
    signer.close()
    again = await signer.fields(prepared, "tok1")
    signer.close()
    copy = personalise(PERSONAL, "tok1")
    assert key.verifies(first + copy) and key.verifies(again + copy)


async def test_a_failure_in_the_signing_thread_reaches_the_copy(key: TestKey) -> None:
    with loaded(with_key(Settings(domain=DOMAIN), key)) as signer:
        assert signer.threaded
        prepared = signer.prepare(PERSONAL, TOKEN_SLOT)
        # Such a token makes a line that is no field: the copy cannot be signed.
        bad, good = (asyncio.ensure_future(signer.fields(prepared, t))
                     for t in ("x\r\nnot a field", "tok2"))
        with pytest.raises(SigningFailed, match="is not a header field"):
            await bad
        assert key.verifies(await good + personalise(PERSONAL, "tok2"))


def test_a_copy_of_a_post_in_obsolete_syntax_is_signed_and_verifies(key: TestKey,
                                                                   tmp_path: Path) -> None:
    """`Subject : x` is accepted (RFC 5322 4.5); the list copy writes it `Subject: x`,
    which verifiers read as a field (they refuse the obsolete form)."""
    from ccrlist.copies.list_copy import list_headers, rewrite

    settings = make_settings(tmp_path, None)
    raw = (b"From : ana@example.org\r\nSubject\t: hello\r\nMessage-ID: <1@x>\r\n\r\nhi\r\n")
    copy = rewrite(raw, list_headers("ccrlist", settings), "ana@example.org")
    assert copy.startswith(b"From: ana@example.org\r\nSubject: [ccrlist] hello\r\n")
    signer = load_signer(with_key(settings, key))
    assert signer is not None
    assert all_verify(signer.sign(copy), [key])
