"""The member's own page, `/u/<token>`: "your subscription".

GET shows how the member receives the list (each post, a daily or weekly digest, its
format, a pause and its end) and their language, in a form, with the unsubscribe button
below; a GET never changes anything, since mail scanners follow links. The form POSTs
back here with a CSRF field. The RFC 8058 one-click POST (`List-Unsubscribe=One-Click`)
to the same URL unsubscribes at once, with no cookie, CSRF field or redirect: the token
in the URL is the capability. The newsletter's subscribers get the language and the
unsubscribe button only.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from aiohttp import web

from ccrlist.catalogue import Messages, long_date, messages
from ccrlist.config.settings import Settings
from ccrlist.digests.choice import (
    ChoiceError,
    describe,
    offers_digests,
    pause_day,
    pause_end,
)
from ccrlist.digests.schedule import local_day
from ccrlist.names import owner_addresses
from ccrlist.notices import Clock
from ccrlist.web.forms import Csrf, Form, html_page, read_form, text_field
from ccrlist.web.pages import Pages, SubscriptionView, pick_lang
from subscribers.db import Connection
from subscribers.members import MemberStore
from subscribers.models import (
    DIGEST_FORMATS,
    LANGS,
    RECEIVE_MODES,
    DeliveryChoice,
    DigestFormat,
    Lang,
    Member,
    ReceiveMode,
    chosen_delivery,
)
from subscribers.unsubscribe import TokenMembers

ONE_CLICK = "One-Click"
_MODES: dict[str, ReceiveMode] = {mode: mode for mode in RECEIVE_MODES}
_FORMATS: dict[str, DigestFormat] = {fmt: fmt for fmt in DIGEST_FORMATS}
_LANGS: dict[str, Lang] = {lang: lang for lang in LANGS}


class BadChoice(Exception):
    """The form asks for something the page does not offer; the text is for the member."""


class SubscriptionPage:
    """GET and POST of `/u/<token>` over the web app's connection."""

    def __init__(self, conn: Connection, settings: Settings, secret: bytes, pages: Pages,
                 clock: Clock, writing: asyncio.Lock) -> None:
        self._conn = conn
        self._settings = settings
        self._pages = pages
        self._clock = clock
        self._writing = writing  # the app's turn at writing on the shared connection
        self._csrf = Csrf(secret, settings.web.base_url)

    async def show(self, request: web.Request) -> web.Response:
        """GET: the page; never a change."""
        member = await TokenMembers(self._conn).find(request.match_info["token"])
        if member is None:
            return self._unknown(request)
        return self._page(request, member)

    async def post(self, request: web.Request) -> web.Response:
        """POST: RFC 8058 one-click unsubscribe, or the page's own form."""
        form = await read_form(request, self._settings.web.idle_timeout)
        if form is not None and form.get("List-Unsubscribe") == ONE_CLICK:
            return await self._one_click(request)
        if form is None or text_field(form, "action") != "save":
            return web.Response(text="expected List-Unsubscribe=One-Click\n", status=400)
        token = request.match_info["token"]
        member = await TokenMembers(self._conn).find(token)
        if member is None:
            return self._unknown(request)
        t = messages(member.lang)
        if member.status != "active":
            return self._page(request, member, status=409)
        if not self._csrf.passes(request, form):
            return self._page(request, member, error=t.form_expired, status=403)
        try:
            choice, lang = self._choice(form, member, t)
        except BadChoice as exc:
            return self._page(request, member, error=str(exc), status=400)
        store = MemberStore(self._conn, self._clock)
        async with self._writing:
            await store.set_delivery(member.list_name, member.address,
                                     chosen_delivery(member.delivery, choice))
            if lang != member.lang:
                await store.set_lang(member.address, lang)
        saved = await TokenMembers(self._conn).find(token)
        assert saved is not None
        t = messages(saved.lang)
        state = describe(saved.delivery, t, self._settings)
        return self._page(request, saved, notice=t.saved.format(state=state[:1].upper()
                                                                + state[1:]))

    def _choice(self, form: Form, member: Member, t: Messages) -> tuple[DeliveryChoice, Lang]:
        """What the form asks for; fields of choices this list does not offer are ignored."""
        lang = _LANGS.get(text_field(form, "lang") or member.lang)
        if lang is None:
            raise BadChoice(t.bad_choice)
        if not offers_digests(member.list_name, self._settings):
            return DeliveryChoice(), lang
        mode = _MODES.get(text_field(form, "mode") or member.delivery.receive_mode)
        fmt = _FORMATS.get(text_field(form, "format") or member.digest_format)
        if mode is None or fmt is None:
            raise BadChoice(t.bad_choice)
        day = text_field(form, "pause_until").strip()
        until = None
        if day:
            try:
                until = pause_end(date.fromisoformat(day), self._clock(), self._settings)
            except (ValueError, ChoiceError):
                raise BadChoice(t.bad_pause_date) from None
        paused = text_field(form, "pause") == "yes" or until is not None
        return DeliveryChoice(mode, fmt, paused, until), lang

    async def _one_click(self, request: web.Request) -> web.Response:
        async with self._writing:
            member = await TokenMembers(self._conn).unsubscribe(request.match_info["token"],
                                                                self._clock())
        if member is None:
            return self._unknown(request)
        t = messages(member.lang)
        return html_page(self._pages.message(
            t, t.unsubscribe_title.format(list=member.list_name),
            t.unsubscribed.format(address=member.address, list=member.list_name)))

    def _page(self, request: web.Request, member: Member, *, notice: str = "",
              error: str = "", status: int = 200) -> web.Response:
        t = messages(member.lang)
        values = {"address": member.address, "list": member.list_name}
        if member.status == "unsubscribed":
            return html_page(self._pages.message(t, t.unsubscribe_title.format(**values),
                                                 t.unsubscribed.format(**values)), status)
        if member.status != "active":
            owner = ", ".join(owner_addresses(member.list_name, self._settings))
            return html_page(self._pages.message(t, t.page_title.format(**values),
                                                 t.inactive.format(owner=owner, **values),
                                                 alert=True), status)
        token, fresh = self._csrf.field(request)
        response = html_page(self._pages.subscription(t, self._view(member, t, token, notice,
                                                                    error)), status)
        self._csrf.set_cookie(response, fresh)
        return response

    def _view(self, member: Member, t: Messages, csrf: str, notice: str,
              error: str) -> SubscriptionView:
        digest = self._settings.digest
        delivery = member.delivery
        at = f"{digest.hour}:00 ({digest.timezone})"
        today = local_day(self._clock(), digest.zone)
        return SubscriptionView(
            address=member.address, list_name=member.list_name, csrf=csrf, notice=notice,
            error=error, digests=offers_digests(member.list_name, self._settings),
            modes=(("each", t.mode_each), ("daily", t.mode_daily.format(time=at)),
                   ("weekly", t.mode_weekly.format(weekday=t.weekdays[digest.weekday_number],
                                                   time=at))),
            mode=delivery.receive_mode, digest_format=delivery.digest_format,
            paused=delivery.mode == "nomail",
            pause_until=("" if delivery.paused_until is None
                         else pause_day(delivery.paused_until, self._settings).isoformat()),
            earliest=(today + timedelta(days=1)).isoformat(),
            pause_note=(t.paused_note if delivery.paused_until is None
                        else t.paused_until_note.format(
                            date=long_date(t, pause_day(delivery.paused_until,
                                                        self._settings))))
            if delivery.mode == "nomail" else "",
            lang=member.lang)

    def _unknown(self, request: web.Request) -> web.Response:
        t = messages(pick_lang(None, request.headers.get("Accept-Language")))
        return html_page(self._pages.message(t, t.not_found_title, t.token_unknown,
                                             alert=True), 404)
