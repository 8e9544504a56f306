"""Answer mail to a list's admin addresses: -request, -join, -leave, -confirm+token, -owner,
-bounces and -moderate+code. The SMTP handler calls `handle_admin_message` and sends back its
reply."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.errors import MessageError
from email.message import EmailMessage

from ccrlist.admin.delivery_change import change_delivery
from ccrlist.admin.mail_commands import (
    Command,
    Request,
    find_command,
    from_address,
    is_automatic,
    message_id,
)
from ccrlist.admin.optin import DAY, Optin
from ccrlist.automail import build_mail, help_text
from ccrlist.bounces.dsn import as_email
from ccrlist.bounces.service import Bounces
from ccrlist.catalogue import messages
from ccrlist.config.settings import Settings
from ccrlist.copies.long_lines import LongLineError, fit_lines, has_long_line
from ccrlist.intake import replies
from ccrlist.moderation.by_mail import OwnerReply, decide_by_mail
from ccrlist.moderation.decision import Decision, read_decision
from ccrlist.names import AdminAddress, Role, SiteRole, role_address, site_address
from ccrlist.notices import Clock, Notices
from subscribers.addresses import AddressError, address_key, normalise_address
from subscribers.db import Connection
from subscribers.members import MemberStore
from subscribers.models import DeliveryChoice, is_token
from subscribers.post_models import Recipient
from subscribers.queue import QueueStore
from subscribers.ratelimits import RateStore

LOOP_HEADER = "X-CCR-Loop"
# What the standard library raises on mail it cannot read; anything else stays a 451.
UNREADABLE = (ValueError, LookupError, RecursionError, MessageError)

_IMPLIED: dict[str, Command] = {"join": "subscribe", "leave": "unsubscribe"}

log = logging.getLogger("ccrlist.admin")


def _noop() -> None:
    return None


@dataclass(frozen=True)
class AdminContext:
    """What admin mail needs: a connection, the settings, the key VERP senders are signed
    with (`installation_verp_key`, read once at start), a clock, a worker wake-up, and an
    expander wake-up for a post approved by mail."""

    conn: Connection
    settings: Settings
    verp_key: bytes
    clock: Clock = time.time
    on_queued: Callable[[], None] = field(default=_noop)
    on_approved: Callable[[], None] = field(default=_noop)


async def handle_admin_message(target: AdminAddress, envelope_from: str, raw: bytes,
                               ctx: AdminContext) -> str:
    """Act on one message to the admin address `target` and return the SMTP reply for DATA.

    Mail we cannot read gets a permanent refusal: a 4xx would have the sender retry for days.
    """
    if not target.site and await MemberStore(ctx.conn).get_list(target.list_name) is None:
        return replies.NO_SUCH_ADDRESS
    optin = Optin(ctx.conn, ctx.settings, ctx.clock)
    try:
        if target.role == "bounces":  # process_bounce parses before it writes anything
            if await Bounces(ctx.conn, ctx.settings, ctx.clock).process(
                    target.list_name, target.tag, raw, ctx.verp_key):
                ctx.on_queued()
            return replies.BOUNCE_RECEIVED
        reading = read_message(raw, envelope_from, target.role)
    except UNREADABLE as exc:
        log.warning("unreadable mail to %s-%s from <%s>; refused: %s", target.list_name,
                    target.role, envelope_from, f"{type(exc).__name__}: {exc}"[:300])
        log.debug("why it could not be read", exc_info=True)
        return replies.UNREADABLE_ADMIN_MAIL
    if target.role == "owner":
        return await _forward_to_owners(target.list_name, raw, reading, ctx)
    if target.role == "postmaster" or target.role == "abuse":
        return await _forward_to_site_owners(target.role, raw, reading, ctx)
    if reading.automatic or reading.sender is None:
        return replies.NOT_ANSWERED  # a vacation reply to a notice decides nothing either
    if target.role == "moderate":
        return await _moderate(target, reading, reading.sender, ctx)
    if target.role == "confirm":  # answered at the token's address, whoever writes
        return await _confirm(optin, target, ctx)
    if not reading.from_is_sender:
        # Spam forges From; answering it would mail a stranger (backscatter, RFC 3834).
        log.info("mail to %s-%s from <%s> has another From; not answered",
                 target.list_name, target.role,
                 reading.sender)
        return replies.NOT_FROM_SENDER
    if reading.command is None:
        log.info("mail to %s-%s from <%s> holds no command; not answered",
                 target.list_name, target.role,
                 reading.sender)
        return replies.NO_COMMAND
    if isinstance(reading.command, DeliveryChoice):
        return await _change_delivery(target, reading.sender, reading.command,
                                      reading.in_reply_to, ctx)
    return await _answer(optin, target, reading.sender, reading.command, reading.in_reply_to,
                         ctx)


@dataclass(frozen=True)
class Reading:
    """What an admin message says, all read before anything is done about it."""

    automatic: bool
    sender: str | None  # the envelope sender, normalised; None if it is not an address
    from_is_sender: bool
    command: Request | None
    in_reply_to: str | None
    loop_marks: tuple[str, ...]  # the X-CCR-Loop values
    decision: Decision | None = None  # an owner's approve or reject (-moderate)


def read_message(raw: bytes, envelope_from: str, role: Role | SiteRole) -> Reading:
    """Read `raw` for an admin address (pure); raises what the email package raises."""
    msg = as_email(raw)
    try:
        sender: str | None = normalise_address(envelope_from)
    except AddressError:
        sender = None
    command: Request | None = _IMPLIED.get(role)
    if role == "request":
        command = find_command(str(msg.get("Subject", "")), _body(msg))
    decision = read_decision(str(msg.get("Subject", "")), _body(msg)) \
        if role == "moderate" else None
    return Reading(
        automatic=is_automatic(msg, envelope_from),
        sender=sender,
        from_is_sender=sender is not None and _from_is(msg, sender),
        command=command,
        in_reply_to=message_id(msg),
        loop_marks=tuple(str(v).strip().lower() for v in msg.get_all(LOOP_HEADER, [])),
        decision=decision)


async def _answer(optin: Optin, target: AdminAddress, address: str, command: Command,
                  in_reply_to: str | None, ctx: AdminContext) -> str:
    """Carry out a command from `address` and answer it, within the daily reply limit."""
    if not await RateStore(ctx.conn).allow(f"reply:{address_key(address)}",
                                           ctx.settings.commands.replies_per_day, DAY,
                                           ctx.clock()):
        return replies.REQUEST_RECEIVED  # over the daily limit: stay quiet rather than mail-bomb
    if command in ("subscribe", "unsubscribe"):
        outcome = await optin.request(target.list_name, address,
                                      "subscribe" if command == "subscribe" else "unsubscribe",
                                      auto="auto-replied", in_reply_to=in_reply_to)
        if outcome == "sent":
            ctx.on_queued()
            return replies.REQUEST_RECEIVED
    member = await MemberStore(ctx.conn).find_member(target.list_name, address)
    t = messages(member.lang if member else "en")
    values = {"list": target.list_name, "address": address}
    if command == "subscribe":
        subject = t.mail_done_subscribe_subject.format(**values)
        body = t.confirmed_subscribe.format(**values) + "\n"
    elif command == "unsubscribe":
        subject = t.mail_not_member_subject.format(**values)
        body = t.mail_not_member_body.format(**values)
    else:
        subject = t.mail_help_subject.format(**values)
        body = help_text(t, target.list_name, ctx.settings.domain, ctx.settings.web.base_url)
    await _reply(ctx, target.list_name, address, subject, body, t.lang, in_reply_to)
    ctx.on_queued()
    return replies.REQUEST_RECEIVED


async def _moderate(target: AdminAddress, reading: Reading, sender: str,
                    ctx: AdminContext) -> str:
    """An owner's approve or reject of a held post (see `ccrlist.moderation.by_mail`)."""
    reply, approved = await decide_by_mail(
        OwnerReply(target.list_name, target.tag, sender, reading.from_is_sender,
                   reading.decision, reading.in_reply_to), ctx.conn, ctx.settings, ctx.clock)
    if reply in (replies.MODERATED_APPROVED, replies.MODERATED_REJECTED):
        ctx.on_queued()  # the result mail to the owner
    if approved:
        ctx.on_approved()
    return reply


async def _change_delivery(target: AdminAddress, address: str, choice: DeliveryChoice,
                           in_reply_to: str | None, ctx: AdminContext) -> str:
    """`set digest ...`, `set nomail`, `set mail`: done at once, and answered (within the
    daily reply limit; past it, nothing is done, as for every command)."""
    if not await RateStore(ctx.conn).allow(f"reply:{address_key(address)}",
                                           ctx.settings.commands.replies_per_day, DAY,
                                           ctx.clock()):
        return replies.REQUEST_RECEIVED
    answer = await change_delivery(ctx.conn, ctx.settings, target.list_name, address, choice)
    await _reply(ctx, target.list_name, address, answer.subject, answer.body, answer.lang,
                 in_reply_to)
    ctx.on_queued()
    return replies.REQUEST_RECEIVED


async def _confirm(optin: Optin, target: AdminAddress, ctx: AdminContext) -> str:
    """Use the token only if it belongs to the list whose confirm address was written to."""
    if not is_token(target.tag):
        return replies.BAD_TOKEN
    state, found = await optin.lookup(target.tag)
    if state != "valid" or found is None or found.list_name != target.list_name:
        return replies.BAD_TOKEN
    state, found = await optin.apply(target.tag)
    if state != "valid" or found is None:  # used by someone else in between
        return replies.BAD_TOKEN
    if await RateStore(ctx.conn).allow(f"reply:{address_key(found.address)}",
                                       ctx.settings.commands.replies_per_day, DAY, ctx.clock()):
        t = messages(found.lang)
        values = {"list": found.list_name, "address": found.address}
        if found.action == "subscribe":
            subject = t.mail_done_subscribe_subject.format(**values)
            result = t.confirmed_subscribe.format(**values)
        else:
            subject = t.mail_done_unsubscribe_subject.format(**values)
            result = t.confirmed_unsubscribe.format(**values)
        await _reply(ctx, found.list_name, found.address, subject,
                     t.mail_done_body.format(result=result), t.lang, None)
        ctx.on_queued()
    return replies.REQUEST_RECEIVED


async def _reply(ctx: AdminContext, list_name: str, to: str, subject: str, body: str,
                 lang: str, in_reply_to: str | None) -> None:
    now = ctx.clock()
    mail = build_mail(list_name=list_name, domain=ctx.settings.domain, to=(to,),
                      subject=subject, body=body, lang=lang, now=now, auto="auto-replied",
                      in_reply_to=in_reply_to)
    await Notices(ctx.conn, ctx.settings, ctx.clock).queue(
        list_name, f"reply:{hashlib.sha256(mail).hexdigest()[:32]}", mail, (to,))


def _from_is(msg: EmailMessage, sender: str) -> bool:
    """True when the message's single From address is `sender`, ignoring case."""
    author = from_address(msg)
    try:
        return author is not None and address_key(normalise_address(author)) == address_key(
            sender)
    except AddressError:
        return False


def _body(msg: EmailMessage) -> str:
    try:
        part = msg.get_body(("plain",))
    except (AttributeError, TypeError):
        # CPython's get_body walks malformed multipart/related trees into a str and fails
        # there; such a message has no text body we could read a command from.
        return ""
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        return ""


async def _forward_to_owners(list_name: str, raw: bytes, reading: Reading,
                             ctx: AdminContext) -> str:
    """Pass the message on unchanged but for a loop-detection header, and lines longer
    than 998 characters re-encoded where they can be (as in list copies)."""
    here = role_address(list_name, ctx.settings.domain, "owner")
    if here.lower() in reading.loop_marks:
        return replies.OWNER_LOOP
    owners = tuple(o for o in await Notices(ctx.conn, ctx.settings, ctx.clock).owners(list_name)
                   if o.lower() != here.lower())
    if not owners:
        return replies.NO_OWNERS
    await _forward(ctx, list_name, here, raw, role_address(list_name, ctx.settings.domain,
                                                           "bounces"), owners)
    return replies.FORWARDED


async def _forward_to_site_owners(role: SiteRole, raw: bytes, reading: Reading,
                                  ctx: AdminContext) -> str:
    """`postmaster@` and `abuse@` go to `[posting] owners`, else every list's owners.

    From the null sender: a copy that cannot be delivered must not come back to
    postmaster@ as a new message to forward (RFC 5321 4.5.5), and no auto-reply answers it.
    """
    here = site_address(role, ctx.settings.domain)
    if here.lower() in reading.loop_marks:
        return replies.OWNER_LOOP
    owners = tuple(o for o in await Notices(ctx.conn, ctx.settings, ctx.clock).site_owners()
                   if o.lower() != here.lower())
    if not owners:
        log.warning("mail to %s from <%s> deferred: nobody to forward it to; set "
                    "[posting] owners or add list owners", here, reading.sender or "")
        return replies.NO_SITE_OWNERS
    await _forward(ctx, "", here, raw, "", owners)
    return replies.FORWARDED_SITE


async def _forward(ctx: AdminContext, list_name: str, here: str, raw: bytes, sender: str,
                   owners: tuple[str, ...]) -> None:
    """Queue `raw` for `owners` with our loop mark on top, and wake the worker."""
    body = f"{LOOP_HEADER}: {here}\r\n".encode() + raw
    if has_long_line(body):
        with contextlib.suppress(LongLineError):  # else as it came: Postfix breaks them
            body = fit_lines(body)
    await QueueStore(ctx.conn).enqueue(
        list_name=list_name, source="owner",
        source_ref=hashlib.sha256(here.lower().encode() + b"\0" + raw).hexdigest(),
        sender=sender, body=body, recipients=[Recipient(o) for o in owners], now=ctx.clock())
    ctx.on_queued()
