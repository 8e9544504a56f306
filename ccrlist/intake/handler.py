"""The aiosmtpd handler: turn each SMTP transaction into a Post, gather facts, answer.

Mail to a list's admin addresses (-request, -bounces, ...) is handed to `admin`.

The handler translates and does not decide: `moderate()` decides, and
`reply_for()` words the answer. A 250 is only sent once the post is committed;
concurrent sessions share commits through `PostWriter` (group commit).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ccrlist.auth.authenticator import Authenticator, AuthOutcome
from ccrlist.conditions import log_trouble
from ccrlist.config.settings import Settings
from ccrlist.intake import replies
from ccrlist.intake.post import Post, has_bare_line_ending, has_nul, parse_post
from ccrlist.intake.rules import (
    Facts,
    Verdict,
    moderate,
    needs_authentication,
    with_authentication,
)
from ccrlist.intake.xforward import Forwarded, client_of
from ccrlist.names import AdminAddress, admin_target, list_for_recipient, role_address
from subscribers.groupcommit import GroupCommit
from subscribers.post_models import NewPost, PostingLookup, PostStatus
from subscribers.posts import PostStore

log = logging.getLogger("ccrlist.intake")

LIST_CACHE_SECONDS = 10.0
_STORED: dict[str, PostStatus] = {"accept": "accepted", "hold": "held", "discard": "discarded"}


class PostWriter:
    """Store posts from concurrent sessions in shared transactions; each caller awaits its own."""

    def __init__(self, posts: PostStore) -> None:
        self._group: GroupCommit[NewPost, bool] = GroupCommit(posts.store_batch)

    async def store(self, post: NewPost) -> bool:
        """True once `post` is committed; False when its Message-ID was already stored."""
        return await self._group.submit(post)


# Mail to <list>-request@, -join@, -leave@, -confirm+token@, -owner@ and -bounces@:
# (the admin address, envelope sender, raw message) -> the reply to DATA.
AdminMail = Callable[[AdminAddress, str, bytes], Awaitable[str]]


class FactsSource(Protocol):
    """Where the handler reads facts: `FactsReader`, or a `PostStore`."""

    async def posting_facts(self, list_name: str, author: str,
                            message_id: str) -> PostingLookup: ...

    async def list_names(self) -> set[str]: ...


class ListHandler:
    """aiosmtpd handler for the list addresses of `settings.domain`."""

    def __init__(self, settings: Settings, posts: FactsSource, writer: PostWriter,
                 on_accepted: Callable[[], None], clock: Callable[[], float] = time.monotonic,
                 admin: AdminMail | None = None, auth: Authenticator | None = None,
                 on_held: Callable[[], None] | None = None) -> None:
        self._settings = settings
        self._auth = auth
        self._admin = admin
        self._posts = posts
        self._clock = clock
        self._lists: set[str] = set()
        self._lists_at = float("-inf")
        self._writer = writer
        self._on_accepted = on_accepted
        self._on_held = on_held  # the owners' notice
        self.busy = 0
        self.last_post_at = float("-inf")  # when the last DATA began, by `clock`
        self.closing = False

    def quiet_for(self, seconds: float) -> bool:
        """No post is being received, and none began in the last `seconds`: background
        work that can wait (the archive) may take its turn at the database now."""
        return self.busy == 0 and self._clock() - self.last_post_at >= seconds

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.closing:
            return replies.SHUTTING_DOWN
        try:
            target = admin_target(address, self._settings.domain) if self._admin else None
            list_name = (target.list_name if target is not None
                         else list_for_recipient(address, self._settings.domain))
            site = target is not None and target.site  # postmaster@, abuse@: of no list
            if not site and (list_name is None or not await self._is_list(list_name)):
                return replies.NO_SUCH_LIST
        except Exception as exc:
            log_trouble(log, exc, "RCPT %s: answered 451", address)
            return replies.INTERNAL_ERROR
        if envelope.rcpt_tos:
            # The recipient cap is one: one DATA reply must speak for one list (and, over
            # LMTP, for one recipient). Senders' MTAs retry the others in new transactions.
            return replies.ONE_LIST_PER_MESSAGE
        envelope.rcpt_tos.append(address)
        envelope.admin_target = target  # read once here; DATA hands it on
        return replies.OK_RECIPIENT

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.closing:
            return replies.SHUTTING_DOWN
        self.busy += 1
        self.last_post_at = self._clock()
        try:
            peer = session.peer[0] if isinstance(session.peer, tuple) else ""
            forwarded = getattr(envelope, "forwarded", None)  # XFORWARD from our relay
            client, helo = client_of(forwarded if isinstance(forwarded, Forwarded) else None,
                                     str(peer), session.host_name or "")
            return await self._receive(envelope.mail_from or "", envelope.rcpt_tos[0],
                                       bytes(envelope.original_content), client, helo,
                                       getattr(envelope, "admin_target", None))
        except Exception as exc:
            log_trouble(log, exc, "DATA from <%s>: answered 451, nothing stored",
                        envelope.mail_from)
            return replies.INTERNAL_ERROR
        finally:
            self.busy -= 1

    async def _receive(self, mail_from: str, rcpt: str, raw: bytes, client: str,
                       helo: str, admin: AdminAddress | None) -> str:
        """`client` and `helo` are the real client's: behind Postfix, what XFORWARD said."""
        if self._admin is not None and admin is not None:
            if has_bare_line_ending(raw):
                return replies.BARE_EOL
            if has_nul(raw):
                return replies.NUL_BYTE
            reply = await self._admin(admin, mail_from, raw)
            log.info("admin mail to %s from <%s> (%d bytes): %s", rcpt, mail_from, len(raw),
                     reply)
            return reply
        list_name = list_for_recipient(rcpt, self._settings.domain)
        assert list_name is not None  # checked at RCPT
        if self._auth is not None:
            raw = self._auth.inbound(raw, client)  # forged Authentication-Results go first
        post = parse_post(list_name, mail_from, raw)
        facts = await self._facts(post)
        verdict = moderate(post, facts, self._settings)
        auth = await self._authenticate(post, verdict, client, helo)
        if auth is not None:
            verdict = with_authentication(
                post, verdict, dataclasses.replace(facts, auth=auth.dmarc), self._settings)
        status = _STORED.get(verdict.action)
        if status is not None:
            fresh = await self._writer.store(NewPost(
                list_name, post.message_id, post.author or post.envelope_from, post.subject,
                post.envelope_from, raw if auth is None else auth.header + raw, status,
                verdict.reason, dmarc_policy=(auth.dmarc.policy or "") if auth else ""))
            if not fresh:
                verdict = Verdict("duplicate", "", "duplicate")
            elif status == "accepted":
                self._on_accepted()
            elif status == "held" and self._on_held is not None:
                self._on_held()
        log.info("post %s to %s from %s (%d bytes, client %s): %s%s", post.message_id,
                 list_name, post.author or f"<{mail_from}>", len(raw), client or "?",
                 verdict.action,
                 f" ({verdict.rule}: {verdict.reason})" if verdict.reason else "")
        return replies.reply_for(
            verdict, role_address(list_name, self._settings.domain, "request"))

    async def _authenticate(self, post: Post, unchecked: Verdict, client: str,
                            helo: str) -> AuthOutcome | None:
        """DKIM, SPF and DMARC results, unless the list does not check or they cannot matter.

        Authentication can only make a verdict stricter, so a post the rules already
        refuse, discard or know as a duplicate (`unchecked`, decided without it) costs
        no lookups: a flood of non-member or looping mail, none.
        """
        if self._auth is None or not needs_authentication(post, unchecked, self._settings):
            return None
        return await self._auth.check(post.raw, post.author, post.envelope_from, client, helo)

    async def _is_list(self, name: str) -> bool:
        """Whether `name` is a list; names are re-read on a miss or after LIST_CACHE_SECONDS."""
        now = self._clock()
        if name not in self._lists or now - self._lists_at > LIST_CACHE_SECONDS:
            self._lists, self._lists_at = await self._posts.list_names(), now
        return name in self._lists

    async def _facts(self, post: Post) -> Facts:
        found = await self._posts.posting_facts(post.list_name, post.author, post.message_id)
        if found.policy not in ("subscribers", "announce"):
            raise LookupError(f"list {post.list_name} vanished")
        return Facts(policy="announce" if found.policy == "announce" else "subscribers",
                     author_is_member=found.author_status == "active",
                     message_id_seen=found.message_id_seen)
