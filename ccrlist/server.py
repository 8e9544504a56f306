"""Run `ccrlist serve`: the SMTP/LMTP listener, the expander, the digest runner, the archive's
indexer, the delivery worker, the owners' notices and the web app.

All of them share one asyncio loop, each with its own SQLite connection (one
writer per connection, taking turns through one lock). Shutdown is graceful:
the listener closes, posts being committed finish and get their 250, every
other session gets 421.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
import time
import weakref
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP

from ccrlist.admin.handler import AdminContext, handle_admin_message
from ccrlist.admission.flood import FloodLog, count_accept_errors, count_client_warnings
from ccrlist.admission.gate import Door
from ccrlist.admission.limits import ConnectionCounter, fit_to_open_files, networks
from ccrlist.admission.nofile import open_files_limit, raise_open_files_limit
from ccrlist.archive.indexer import Indexer
from ccrlist.auth.authenticator import Authenticator, make_authenticator
from ccrlist.bounces.service import BounceAssessor, Bounces
from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import Settings
from ccrlist.copies.expander import Expander
from ccrlist.delivery.sender_lock import SenderLock
from ccrlist.delivery.signing import copy_signer
from ccrlist.delivery.transport import make_transport
from ccrlist.delivery.verp import verp_key as derive_verp_key
from ccrlist.delivery.worker import DeliveryWorker
from ccrlist.digests.runner import POLL_SECONDS, DigestRunner
from ccrlist.heap import limit_malloc_arenas
from ccrlist.intake import replies
from ccrlist.intake.handler import AdminMail, ListHandler, PostWriter
from ccrlist.intake.protocol import ListLMTP, ListSMTP
from ccrlist.moderation.notifier import OwnerNotifier
from ccrlist.names import AdminAddress
from ccrlist.notices import Notices
from ccrlist.serve_checks import check_database, check_outbox, take_sender_lock
from ccrlist.web.app import start_web
from subscribers.archive import ArchiveStore
from subscribers.db import LIGHT_CACHE_KIB, Connection, open_database
from subscribers.facts import FactsReader
from subscribers.posts import PostStore
from subscribers.queue import QueueStore

log = logging.getLogger("ccrlist.server")

DRAIN_SECONDS = 20.0


def _protocol_factory(settings: Settings, handler: ListHandler,
                      sessions: weakref.WeakSet[SMTP]) -> Callable[[], SMTP]:
    options: dict[str, Any] = {"data_size_limit": settings.limits.max_message_bytes,
                               "enable_SMTPUTF8": True, "hostname": settings.domain,
                               "ident": "ccrlist", "timeout": settings.server.idle_timeout}
    # Our own relay (Postfix in front) may name its client with XFORWARD.
    relays = tuple(ipaddress.ip_network(r, strict=False) for r in settings.auth.trusted_relays)

    def make() -> SMTP:
        session: SMTP = (ListLMTP(handler, **options) if settings.server.protocol == "lmtp"
                         else ListSMTP(handler, forwarders=relays, **options))
        sessions.add(session)
        return session

    return make


def _smtp_door(settings: Settings, max_connections: int, flood: FloodLog) -> Door:
    """Postfix's anvil limits for the SMTP listener; `[auth] trusted_relays` (our own
    Postfix) count only towards the total."""
    host = settings.domain
    per_ip = settings.server.max_connections_per_ip
    return Door(
        settings.server.protocol.upper(),
        ConnectionCounter(max_connections, per_ip, networks(settings.auth.trusted_relays)),
        {"total": replies.TOO_MANY_CONNECTIONS.format(host=host).encode() + b"\r\n",
         "per_ip": replies.TOO_MANY_FROM_YOU.format(host=host).encode() + b"\r\n"},
        flood,
        {"total": f"over {max_connections} connections in all",
         "per_ip": f"over [server] max_connections_per_ip ({per_ip})"})


def _admin_mail(ctx: AdminContext) -> AdminMail:
    """Admin mail is rare: one message at a time on its own connection keeps its
    transactions from overlapping."""
    turn = asyncio.Lock()

    async def handle(target: AdminAddress, envelope_from: str, raw: bytes) -> str:
        async with turn:
            return await handle_admin_message(target, envelope_from, raw, ctx)

    return handle


async def _deliver(worker: DeliveryWorker, sender: SenderLock, stop: asyncio.Event) -> None:
    """Deliver while this process holds the sender lock, waiting for it first if another
    process (a `chronicle publish` that started before us) is sending."""
    if not sender.held:
        if not await sender.wait(stop):
            return
        log.info("delivery starts: this server now sends from the queue")
    await worker.run_forever(stop)


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


Say = Callable[[str], None]


# serve's database connections, in the order `serve` unpacks them, and those that only
# read now and then.
_CONNECTIONS = ("facts", "intake", "fanout", "delivery", "admin", "web", "owners", "archive",
                "archive_web", "digest")
_LIGHT = frozenset({"admin", "web", "owners", "archive_web", "digest"})


def _log_line(line: str) -> None:
    log.info("%s", line)


async def serve(settings: Settings, stop: asyncio.Event,
                on_listening: Callable[[int], None] | None = None,
                say: Say = _log_line, open_files_before: int | None = None, *,
                clock: Callable[[], float] = time.time,
                digest_poll: float = POLL_SECONDS) -> None:
    """Serve until `stop` is set. A bad DKIM key raises `DkimKeyError`, a database or outbox
    that cannot be written `StartupError`, before anything listens.

    `say` prints the notices for whoever started the server (where it listens, whether
    mail is signed, what is missing): plain lines on standard error for `ccrlist serve`,
    not log records. By default they go to the log at INFO. `open_files_before` is the
    open-files limit before `run` raised it, for the notice. `clock` is what the digest
    runner reads the time from (to decide which digests are due) and `digest_poll` how
    often at least it looks; tests set both.
    """
    signer = copy_signer(settings)
    connections: list[Connection] = []
    facts: FactsReader | None = None
    authenticator: Authenticator | None = None
    flood = FloodLog()
    sender = SenderLock(settings.database_path, "ccrlist serve")
    uncount = count_accept_errors(asyncio.get_running_loop(), flood)
    unfilter = count_client_warnings(flood)
    try:
        # Sessions read concurrently, so their reads get a connection of their own: a write
        # begun on a connection with a read in progress fails at once with "locked". The
        # connections that read now and then keep a small page cache (the memory goal).
        for role in _CONNECTIONS:
            connections.append(await open_database(
                settings.database_path, LIGHT_CACHE_KIB if role in _LIGHT else None))
        (facts_db, intake_db, fanout_db, delivery_db, admin_db, web_db, owners_db, archive_db,
         archive_web_db, digest_db) = connections
        await check_database(intake_db, settings.database_path)
        check_outbox(settings)
        sending_now = take_sender_lock(sender)
        facts = FactsReader(settings.database_path, PostStore(facts_db))
        transport = make_transport(settings)
        verp_key = derive_verp_key(load_or_create_secret(settings.data_dir))
        writes = asyncio.Lock()  # one SQLite writer at a time, in arrival order
        bounces = BounceAssessor(Bounces(admin_db, settings))

        def on_failed(list_name: str, recipient: str, reply: str) -> None:
            notifier.wake()  # the owners' summary of the post's failed deliveries
            bounces.note(list_name, recipient, reply)

        worker = DeliveryWorker(QueueStore(delivery_db, writes), transport, settings.delivery,
                                on_failed=on_failed, signer=signer,
                                verp_key=verp_key)
        notifier = OwnerNotifier(owners_db, settings, worker.wake, writes)
        digests = DigestRunner(digest_db, settings, clock=clock, write_lock=writes,
                               on_queued=worker.wake)

        def on_queued() -> None:
            worker.wake()
            digests.wake()  # posts held for digest members: a digest may have grown enough

        expander = Expander(PostStore(fanout_db, writes), settings, on_queued)
        indexer = Indexer(ArchiveStore(archive_db, writes),
                          quiet=lambda seconds: handler.quiet_for(seconds))

        def on_accepted() -> None:
            expander.wake()
            indexer.wake()

        authenticator = make_authenticator(settings)
        handler = ListHandler(settings, facts, PostWriter(PostStore(intake_db, writes)),
                              on_accepted,
                              admin=_admin_mail(AdminContext(admin_db, settings, verp_key,
                                                             on_queued=worker.wake,
                                                             on_approved=expander.wake)),
                              auth=authenticator, on_held=notifier.wake)
        sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
        loop = asyncio.get_running_loop()
        wanted = [settings.server.max_connections, settings.web.max_connections]
        smtp_cap, web_cap = fit_to_open_files(open_files_limit(), wanted)
        door = _smtp_door(settings, smtp_cap, flood)
        server = await loop.create_server(
            door.factory(_protocol_factory(settings, handler, sessions)),
            host=settings.server.host, port=settings.server.port)
        port = int(server.sockets[0].getsockname()[1])
        try:
            web = await start_web(settings, web_db, archive_db=archive_web_db,
                                  on_queued=worker.wake, flood=flood, max_connections=web_cap)
        except BaseException:
            server.close()
            raise
        say(f"ccrlist serving {settings.server.protocol.upper()} on {settings.server.host}:"
            f"{port} for {settings.domain}; delivering via {transport.describe()}")
        say(f"subscription pages on {web.urls()}")
        open_files = open_files_limit()
        say(f"open files limit: {open_files}" + (
            f" (raised from {open_files_before})"
            if open_files_before not in (None, open_files) else ""))
        if [smtp_cap, web_cap] != wanted:
            say(f"the open files limit ({open_files}) holds {smtp_cap} SMTP and "
                f"{web_cap} web connections, not the {wanted[0]} and {wanted[1]} of "
                "[server] and [web] max_connections: raise the hard limit (LimitNOFILE= in a "
                "systemd unit, ulimit -Hn) or lower them")
        if not sending_now:
            say(f"{sender.holder()} is sending from this database: delivery starts when "
                "it is done")
        if signer is None:
            say("DKIM signing is off ([dkim] key_file is empty): outgoing mail is not signed")
        else:
            say(f"DKIM-signing outgoing mail: {signer.describe()}")
        if not await Notices(admin_db, settings).site_owners():
            say(f"nobody reads postmaster@{settings.domain} and abuse@{settings.domain} yet: "
                "their mail is deferred (451) until [posting] owners is set or a list has "
                "an owner (ccrlist lists owners add)")
        if on_listening is not None:
            on_listening(port)
        background = [asyncio.ensure_future(expander.run_forever(stop)),
                      asyncio.ensure_future(digests.run_forever(stop, digest_poll)),
                      asyncio.ensure_future(_deliver(worker, sender, stop)),
                      asyncio.ensure_future(bounces.run_forever(stop)),
                      asyncio.ensure_future(notifier.run_forever(stop)),
                      asyncio.ensure_future(indexer.run_forever(stop))]
        await stop.wait()
        say("ccrlist shutting down")
        server.close()
        await web.close()
        await _drain_sessions(handler, sessions)
        # The worker finishes the batches it has handed to the relay and starts no more; a
        # relay that hangs gets DRAIN_SECONDS, and cancelling a batch mid-send only means
        # it is sent again after the restart. Everything else is on disk.
        await asyncio.wait(background, timeout=DRAIN_SECONDS)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    finally:
        sender.release()
        uncount()
        unfilter()
        flood.close()
        if authenticator is not None:
            authenticator.close()
        if facts is not None:
            facts.close()
        for conn in connections:
            await conn.close()
        if signer is not None:
            signer.close()
    say("ccrlist stopped")


def run(settings: Settings, say: Say) -> None:
    """Serve until SIGINT or SIGTERM, telling `say` what happens."""

    limit_malloc_arenas(os.environ)  # before any thread allocates
    before, _ = raise_open_files_limit()  # said with the other notices, once listening

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop, say=say, open_files_before=before)

    asyncio.run(main())
