"""The delivery worker signs every copy: after personalisation, once per shared message."""

from __future__ import annotations

import asyncio
import dataclasses
import mailbox
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import VERP_KEY, RecordingRelay, make_settings
from dkim_helpers import TestKey, keygen, signature_tags, signed_fields, with_key

from ccrlist.config.settings import Settings
from ccrlist.delivery.dkim_errors import SigningFailed
from ccrlist.delivery.dkim_sign import DkimSigner, load_signer
from ccrlist.delivery.signing import CopySigner, copy_signer
from ccrlist.delivery.tokens import TOKEN_SLOT
from ccrlist.delivery.transport import make_transport
from ccrlist.delivery.worker import DeliveryWorker
from subscribers.db import Connection, open_database
from subscribers.queue import QueueStore, Recipient

DOMAIN = "lists.example.org"
SENDER = f"ccrlist-bounces@{DOMAIN}"
SHARED = (b"From: ana@example.org\r\nTo: ccrlist@lists.example.org\r\nSubject: t\r\n"
          b"List-Id: <ccrlist.lists.example.org>\r\n\r\nhello\r\n")
PERSONAL = (b"From: ana@example.org\r\nTo: ccrlist@lists.example.org\r\nSubject: t\r\n"
            b"List-Unsubscribe: <https://lists.example.org/u/" + TOKEN_SLOT + b">\r\n"
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n"
            b"Leave: https://lists.example.org/u/" + TOKEN_SLOT + b"\r\n")


class CountingSigner(DkimSigner):
    """The real signer, counting how often it is asked (a spy, not a fake)."""

    calls: list[bytes]

    def signature(self, message: bytes) -> bytes:
        self.calls.append(message)
        return super().signature(message)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> TestKey:
    return keygen(tmp_path_factory.mktemp("dkim"), DOMAIN)


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Connection]:
    c = await open_database(tmp_path / "q.sqlite3")
    yield c
    await c.close()


def loaded(settings: Settings) -> CopySigner:
    signer = copy_signer(settings)
    assert signer is not None
    return signer


def counting(signer: CopySigner) -> tuple[CopySigner, list[bytes]]:
    spy = CountingSigner(signer.signer.selector, signer.signer.domain, signer.signer.key_pem)
    object.__setattr__(spy, "calls", [])
    return CopySigner(spy, signer.processes), spy.calls


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
    signer, calls = counting(loaded(settings))
    assert await deliver(settings, queue, signer) == 123
    assert len(calls) == 2  # one per message, not per batch or per VERP copy
    assert len(relay.messages) == 3 + 3
    for copy in relay.messages:
        assert key.verifies(copy.content), copy.rcpt_tos
    first = [m.content for m in relay.messages if len(m.rcpt_tos) > 1]
    assert len({c.split(b"\r\n\r\n")[0] for c in first}) == 1  # the same signature reused


@pytest.mark.parametrize("processes", [0, 2])
async def test_personalised_copies_each_verify_with_their_own_token(
        tmp_path: Path, conn: Connection, relay: RecordingRelay, controller: Controller,
        key: TestKey, processes: int) -> None:
    settings = with_key(make_settings(tmp_path, controller.port), key, processes)
    queue = QueueStore(conn)
    tokens = {f"m{i}@example.org": f"tok{i:02d}x" for i in range(6)}
    await queue.enqueue(list_name="echronicle", source="issue", source_ref="v1:en",
                        sender=SENDER, body=PERSONAL, personalised=True,
                        recipients=[Recipient(a, t) for a, t in tokens.items()])
    signer, calls = counting(loaded(settings))
    assert await deliver(settings, queue, signer) == 6
    if not processes:
        assert len(calls) == 6  # one signature per copy (in processes the spy is a copy)
    assert sorted(r for m in relay.messages for r in m.rcpt_tos) == sorted(tokens)
    for copy in relay.messages:
        token = tokens[copy.rcpt_tos[0]].encode()
        content = copy.content
        assert content.count(token) == 2 and TOKEN_SLOT not in content
        assert key.verifies(content)
        assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(signed_fields(content))
        # Another member's token in this copy's signed header or body breaks it.
        assert not key.verifies(content.replace(token, b"tok99x", 1))
        assert not key.verifies(content.replace(token, b"tok99x"))
    assert len({signature_tags(m.content)[b"b"] for m in relay.messages}) == 6


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


def test_copy_signer_describes_itself(key: TestKey) -> None:
    settings = with_key(Settings(domain=DOMAIN), key, 2)
    assert loaded(settings).describe() == (
        f"d={DOMAIN} s=ccr2026; personalised copies are signed in 2 process(es)")
    settings = dataclasses.replace(settings, dkim=dataclasses.replace(settings.dkim,
                                                                      domain="ccrweb.ca"))
    assert loaded(settings).signer.domain == "ccrweb.ca"


async def test_a_dead_signing_process_does_not_take_a_fresh_pool_down(
        tmp_path: Path, key: TestKey) -> None:
    """A signature failing on a pool whose process died must leave alone the new pool that
    another signature already started (shutting it down would cancel the signatures on it)."""
    settings = with_key(make_settings(tmp_path, None), key, 1)
    signer = loaded(settings)
    try:
        await signer.signature(PERSONAL)
        broken = signer._pool
        assert broken is not None
        for process in list(broken._processes.values()):
            assert process.pid is not None
            os.kill(process.pid, signal.SIGKILL)
            process.join(10)
        failing = asyncio.ensure_future(signer.signature(PERSONAL))
        await asyncio.sleep(0)  # it has handed its work to the broken pool
        signer._pool = None
        fresh = signer._executor()  # as a concurrent signature would, after the breakage
        with pytest.raises(SigningFailed):
            await asyncio.wait_for(failing, 30)
        assert signer._pool is fresh
        assert (await signer.signature(PERSONAL)).startswith(b"DKIM-Signature:")
    finally:
        signer.close()


def test_a_copy_of_a_post_in_obsolete_syntax_is_signed_and_verifies(key: TestKey,
                                                                   tmp_path: Path) -> None:
    """`Subject : x` is accepted (RFC 5322 4.5); the list copy writes it `Subject: x`,
    which dkimpy can sign (it refuses the obsolete form)."""
    from ccrlist.copies.list_copy import list_headers, rewrite

    settings = make_settings(tmp_path, None)
    raw = (b"From : ana@example.org\r\nSubject\t: hello\r\nMessage-ID: <1@x>\r\n\r\nhi\r\n")
    copy = rewrite(raw, list_headers("ccrlist", settings), "ana@example.org")
    assert copy.startswith(b"From: ana@example.org\r\nSubject: [ccrlist] hello\r\n")
    signer = load_signer(with_key(settings, key), key.path)
    assert key.verifies(signer.sign(copy))


@pytest.mark.parametrize("message", [
    b"\tFrom: ana@example.org\r\n\r\nhi\r\n",  # dkimpy raised IndexError on this
    b"From: ana@example.org\r\nnot a field\r\n\r\nhi\r\n",
])
def test_what_dkimpy_cannot_sign_is_a_signing_failure(key: TestKey, tmp_path: Path,
                                                       message: bytes) -> None:
    signer = load_signer(with_key(make_settings(tmp_path, None), key), key.path)
    with pytest.raises(SigningFailed):
        signer.signature(message)
