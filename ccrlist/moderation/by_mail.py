"""Approve or reject a held post by replying to its notice at `<list>-moderate+<code>@`.

The reply counts only when its From and its envelope sender are both an owner's address
and the code belongs to a post of that list that is still held; anything else changes
nothing and gets a refusal. Each code works once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ccrlist.catalogue import messages
from ccrlist.config.settings import Settings
from ccrlist.intake import replies
from ccrlist.moderation.decision import Decision, code_hash
from ccrlist.moderation.owner_mail import moderation_result
from ccrlist.notices import Notices
from subscribers.addresses import address_key
from subscribers.db import Connection
from subscribers.moderation import ModerationStore
from subscribers.owners import OwnerStore

log = logging.getLogger("ccrlist.moderation")

Clock = Callable[[], float]


@dataclass(frozen=True)
class OwnerReply:
    """What the admin handler read of a reply to a notice (see `admin.handler.Reading`)."""

    list_name: str
    code: str
    sender: str  # the envelope sender, normalised
    from_is_sender: bool
    decision: Decision | None
    in_reply_to: str | None


async def moderators(conn: Connection, list_name: str, settings: Settings) -> dict[str, str]:
    """Who may decide by mail, by address key: the owners in the database, else `[posting]
    owners`. Never `<list>-owner@` itself, which anyone can write as a sender."""
    stored = await OwnerStore(conn).owners_with_lang(list_name)
    if stored:
        return {address_key(a): lang for a, lang in stored}
    return {address_key(a): "en" for a in settings.posting.owners}


async def decide_by_mail(reply: OwnerReply, conn: Connection, settings: Settings,
                         clock: Clock) -> tuple[str, bool]:
    """Act on an owner's reply; returns the SMTP reply and whether a post was approved."""
    owners = await moderators(conn, reply.list_name, settings)
    lang = owners.get(address_key(reply.sender))
    if lang is None or not reply.from_is_sender:
        # A forged approval: nothing changes, and the code stays good for the real owner.
        log.warning("moderation reply for %s from <%s> refused: %s", reply.list_name,
                    reply.sender, "not an owner" if lang is None else "From is not the sender")
        return replies.MODERATION_REFUSED, False
    if reply.decision is None:
        log.info("moderation reply for %s from <%s> holds no decision", reply.list_name,
                 reply.sender)
        return replies.MODERATION_NO_DECISION, False
    approve = reply.decision.action == "approve"
    reason = (f"approved by {reply.sender} by email" if approve else
              f"rejected by {reply.sender} by email"
              + (f": {reply.decision.reason}" if reply.decision.reason else ""))
    store = ModerationStore(conn)
    outcome, post = await store.decide(code_hash(reply.code), reply.list_name, approve,
                                       reason, reply.sender, clock())
    if outcome == "unknown" or post is None:
        log.warning("moderation reply for %s from <%s> refused: unknown code",
                    reply.list_name, reply.sender)
        return replies.MODERATION_REFUSED, False
    if outcome == "not_held":
        log.info("moderation reply from <%s>: post %d is already %s", reply.sender, post.id,
                 post.status)
        return replies.MODERATION_NOT_HELD, False
    log.info("post %d (%s) %s", post.id, post.permalink, reason)
    mail = moderation_result(text=messages(lang), post=post, to=reply.sender,
                             domain=settings.domain, now=clock(), in_reply_to=reply.in_reply_to)
    await Notices(conn, settings, clock).queue(reply.list_name, f"moderated:{post.id}", mail,
                                               (reply.sender,))
    return (replies.MODERATED_APPROVED if approve else replies.MODERATED_REJECTED), approve
