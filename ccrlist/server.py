"""Run `ccrlist serve`: the SMTP/LMTP listener, the expander, the digest runner and the
delivery worker.

All of them share one asyncio loop, each with its own SQLite connection (one
writer per connection, taking turns through one lock). Shutdown is graceful:
the listener closes, posts being committed finish and get their 250, every
other session gets 421.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import weakref
from collections.abc import Callable

from aiosmtpd.smtp import SMTP

from ccrlist.admin.handler import AdminContext, handle_admin_message
from ccrlist.auth.authenticator import Authenticator, make_authenticator
from ccrlist.bounces.service import BounceAssessor, Bounces
from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings
from ccrlist.copies.expander import Expander
from ccrlist.delivery.signing import copy_signer
from ccrlist.delivery.transport import make_transport
from ccrlist.delivery.verp import verp_key as derive_verp_key
from ccrlist.delivery.worker import DeliveryWorker
from ccrlist.digests.runner import POLL_SECONDS, DigestRunner
from ccrlist.intake import replies
from ccrlist.intake.handler import AdminMail, ListHandler, PostWriter
from ccrlist.intake.protocol import ListLMTP, ListSMTP
from ccrlist.names import AdminAddress
from ccrlist.web.app import start_web, web_urls
from subscribers.db import Connection, open_database
from subscribers.facts import FactsReader
from subscribers.owners import OwnerStore
from subscribers.posts import PostStore
from subscribers.queue import QueueStore

log = logging.getLogger("ccrlist.server")

DRAIN_SECONDS = 20.0


def _protocol_factory(settings: Settings, handler: ListHandler,
                      sessions: weakref.WeakSet[SMTP]) -> Callable[[], SMTP]:
    cls = ListLMTP if settings.server.protocol == "lmtp" else ListSMTP

    def make() -> SMTP:
        session = cls(handler, data_size_limit=settings.limits.max_message_bytes,
                      enable_SMTPUTF8=True, hostname=settings.domain, ident="ccrlist")
        sessions.add(session)
        return session

    return make


def _admin_mail(ctx: AdminContext) -> AdminMail:
    """Admin mail is rare: one message at a time on its own connection keeps its
    transactions from overlapping."""
    turn = asyncio.Lock()

    async def handle(target: AdminAddress, envelope_from: str, raw: bytes) -> str:
        async with turn:
            return await handle_admin_message(target, envelope_from, raw, ctx)

    return handle


async def _drain_sessions(handler: ListHandler, sessions: weakref.WeakSet[SMTP]) -> None:
    """Let posts being committed finish, then tell every remaining session 421."""
    handler.closing = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_SECONDS
    while handler.busy and loop.time() < deadline:
        await asyncio.sleep(0.05)
    for session in list(sessions):
        transport = session.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(replies.SHUTTING_DOWN.encode() + b"\r\n")
            transport.close()


async def serve(settings: Settings, stop: asyncio.Event,
                on_listening: Callable[[int], None] | None = None, *,
                clock: Callable[[], float] = time.time,
                digest_poll: float = POLL_SECONDS) -> None:
    """Serve until `stop` is set; a bad DKIM key raises `DkimKeyError` before anything starts.

    `clock` is what the digest runner reads the time from (to decide which digests are
    due) and `digest_poll` how often at least it looks; tests set both.
    """
    signer = copy_signer(settings)
    connections: list[Connection] = []
    facts: FactsReader | None = None
    authenticator: Authenticator | None = None
    try:
        for _ in range(7):
            connections.append(await open_database(settings.database_path))
        # Sessions read concurrently, so their reads get a connection of their own: a write
        # begun on a connection with a read in progress fails at once with "locked".
        facts_db, intake_db, fanout_db, delivery_db, admin_db, web_db, digest_db = connections
        facts = FactsReader(settings.database_path, PostStore(facts_db))
        transport = make_transport(settings)
        verp_key = derive_verp_key(load_or_create_secret(settings.data_dir))
        writes = asyncio.Lock()  # one SQLite writer at a time, in arrival order
        bounces = BounceAssessor(Bounces(admin_db, settings))

        def on_failed(list_name: str, recipient: str, reply: str) -> None:
            expander.wake()  # owner notices for deliveries that gave up
            bounces.note(list_name, recipient, reply)

        worker = DeliveryWorker(QueueStore(delivery_db, writes), transport, settings.delivery,
                                on_failed=on_failed, signer=signer,
                                verp_key=verp_key)
        digests = DigestRunner(digest_db, settings, clock=clock, write_lock=writes,
                               on_queued=worker.wake)

        def on_queued() -> None:
            worker.wake()
            digests.wake()  # posts held for digest members: a digest may have grown enough

        expander = Expander(PostStore(fanout_db, writes), settings, on_queued,
                            owners=OwnerStore(fanout_db))
        authenticator = make_authenticator(settings)
        handler = ListHandler(settings, facts, PostWriter(PostStore(intake_db, writes)),
                              expander.wake,
                              admin=_admin_mail(AdminContext(admin_db, settings, verp_key,
                                                             on_queued=worker.wake)),
                              auth=authenticator)
        sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_protocol_factory(settings, handler, sessions),
                                          host=settings.server.host, port=settings.server.port)
        port = int(server.sockets[0].getsockname()[1])
        try:
            web_runner = await start_web(settings, web_db)
        except BaseException:
            server.close()
            raise
        log.warning("ccrlist serving %s on %s:%d for %s; delivering via %s",
                    settings.server.protocol.upper(), settings.server.host, port,
                    settings.domain, transport.describe())
        log.warning("subscription pages on %s", web_urls(web_runner))
        if signer is None:
            log.warning("DKIM signing is off ([dkim] key_file is empty): outgoing mail is "
                        "not signed")
        else:
            log.warning("DKIM-signing outgoing mail: %s", signer.describe())
        if on_listening is not None:
            on_listening(port)
        background = [asyncio.ensure_future(expander.run_forever(stop)),
                      asyncio.ensure_future(digests.run_forever(stop, digest_poll)),
                      asyncio.ensure_future(worker.run_forever(stop)),
                      asyncio.ensure_future(bounces.run_forever(stop))]
        await stop.wait()
        log.warning("ccrlist shutting down")
        server.close()
        await web_runner.cleanup()
        await _drain_sessions(handler, sessions)
        # The worker finishes the batches it has handed to the relay and starts no more; a
        # relay that hangs gets DRAIN_SECONDS, and cancelling a batch mid-send only means
        # it is sent again after the restart. Everything else is on disk.
        await asyncio.wait(background, timeout=DRAIN_SECONDS)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    finally:
        if authenticator is not None:
            authenticator.close()
        if facts is not None:
            facts.close()
        for conn in connections:
            await conn.close()
        if signer is not None:
            signer.close()
    log.warning("ccrlist stopped")


def run(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(main())
