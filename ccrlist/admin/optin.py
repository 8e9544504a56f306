"""Double opt-in for the web form and email commands: ask, send the confirmation, apply it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from ccrlist.automail import AutoKind, confirmation_mail
from ccrlist.catalogue import messages
from ccrlist.config.settings import Settings
from ccrlist.names import web_page
from ccrlist.notices import Clock, Notices
from subscribers.confirmations import ConfirmationStore
from subscribers.db import Connection
from subscribers.members import MemberStore
from subscribers.models import ConfirmAction, Confirmation, Lang, TokenState, hash_token

RequestOutcome = Literal["sent", "already", "not_member", "no_list"]

DAY = 86400.0
# Expired requests are kept this long so their links say "expired", not "not valid".
KEEP_EXPIRED_SECONDS = 30 * DAY


@dataclass(frozen=True)
class Optin:
    """The confirmation flow over one connection, with the settings and clock it needs."""

    conn: Connection
    settings: Settings
    clock: Clock = time.time

    def confirm_link(self, token: str) -> str:
        return web_page(self.settings.web.base_url, f"confirm/{token}")

    async def request(self, list_name: str, address: str, action: ConfirmAction, *, name: str = "",
                      lang: Lang | None = None, auto: AutoKind = "auto-generated",
                      in_reply_to: str | None = None) -> RequestOutcome:
        """Queue a confirmation email unless nothing would change.

        The caller must already have normalised `address` and applied its rate limits.
        """
        members = MemberStore(self.conn)
        if await members.get_list(list_name) is None:
            return "no_list"
        member = await members.find_member(list_name, address)
        if action == "subscribe" and member is not None and member.status == "active":
            return "already"
        if action == "unsubscribe" and (member is None or member.status == "unsubscribed"):
            return "not_member"
        chosen: Lang = lang or (member.lang if member else "en")
        now = self.clock()
        store = ConfirmationStore(self.conn)
        await store.purge_expired(now - KEEP_EXPIRED_SECONDS)
        token = await store.create(
            list_name, address, action, name, chosen, now, self.settings.web.token_days * DAY)
        body = confirmation_mail(
            text=messages(chosen), list_name=list_name, domain=self.settings.domain,
            address=address, action=action, token=token, link=self.confirm_link(token),
            days=self.settings.web.token_days, now=now, auto=auto, in_reply_to=in_reply_to)
        await Notices(self.conn, self.settings, self.clock).queue(
            list_name, f"confirm:{hash_token(token)[:32]}", body, (address,))
        return "sent"

    async def lookup(self, token: str) -> tuple[TokenState, Confirmation | None]:
        return await ConfirmationStore(self.conn).lookup(token, self.clock())

    async def apply(self, token: str) -> tuple[TokenState, Confirmation | None]:
        """Use a confirmation token: subscribe or unsubscribe, exactly once."""
        return await ConfirmationStore(self.conn).apply(token, self.clock())
