"""The HTTP handlers: subscribe and unsubscribe request forms and the confirmation page (the
member's own page, with RFC 8058 one-click unsubscribe, is in `subscription.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from ccrlist.admin.optin import Optin
from ccrlist.catalogue import Messages, messages
from ccrlist.config.settings import Settings
from ccrlist.notices import Clock
from ccrlist.web.background import Background
from ccrlist.web.forms import Csrf, Form, html_page, read_form
from ccrlist.web.pages import Pages, pick_lang
from ccrlist.web.security import CSRF_FIELD, client_ip, proxy_networks, rate_bucket
from subscribers.addresses import AddressError, address_key, normalise_address, normalise_name
from subscribers.db import Connection
from subscribers.members import MemberStore
from subscribers.models import ConfirmAction, Lang
from subscribers.ratelimits import RateStore

HOUR = 3600.0
DAY = 86400.0


class Handlers:
    """Route handlers sharing one connection, the settings, the secret and a clock."""

    def __init__(self, conn: Connection, settings: Settings, secret: bytes, pages: Pages,
                 clock: Clock, background: Background,
                 on_queued: Callable[[], None] | None = None,
                 writing: asyncio.Lock | None = None) -> None:
        self._conn = conn
        self._on_queued = on_queued  # wakes the delivery worker: mail is waiting
        self._background = background
        # The connection is shared: one write transaction at a time, or a BEGIN from one
        # request would land inside another's (and background jobs overlap requests).
        self._writing = writing or asyncio.Lock()
        self._settings = settings
        self._pages = pages
        self._clock = clock
        self._optin = Optin(conn, settings, clock)
        self._proxies = proxy_networks(settings.web.trusted_proxies)
        self._csrf = Csrf(secret, settings.web.base_url)

    def _page(self, body: str, status: int = 200) -> web.Response:
        return html_page(body, status)

    async def _csrf_passes(self, request: web.Request, form: Form) -> bool:
        return self._csrf.passes(request, form)

    def _bad_form(self, request: web.Request, list_name: str | None = None) -> web.Response:
        t = messages(pick_lang(request.query.get("lang"), request.headers.get("Accept-Language")))
        title = t.subscribe_title.format(list=list_name) if list_name else t.confirm_title
        return self._page(self._pages.message(t, title, t.bad_form, alert=True), 400)

    def _form_page(self, request: web.Request, t: Messages, list_name: str,
                   action: ConfirmAction, status: int = 200, email: str = "", name: str = "",
                   error: str = "") -> web.Response:
        token, fresh = self._csrf.field(request)
        if action == "unsubscribe":
            body = self._pages.leave(t, list_name, token, email, error)
        else:
            body = self._pages.subscribe(t, list_name, token, email, name, error)
        response = self._page(body, status)
        self._csrf.set_cookie(response, fresh)
        return response

    async def subscribe_form(self, request: web.Request) -> web.Response:
        return await self._request_form(request, "subscribe")

    async def subscribe_post(self, request: web.Request) -> web.Response:
        return await self._request_post(request, "subscribe")

    async def leave_form(self, request: web.Request) -> web.Response:
        """Anyone may ask to leave (no token needed), e.g. from the newsletter's web copy."""
        return await self._request_form(request, "unsubscribe")

    async def leave_post(self, request: web.Request) -> web.Response:
        """Only the confirmation from the mailbox unsubscribes, as for `<list>-leave@`."""
        return await self._request_post(request, "unsubscribe")

    async def _request_form(self, request: web.Request, action: ConfirmAction) -> web.Response:
        list_name = request.match_info["list"]
        t = messages(pick_lang(request.query.get("lang"),
                               request.headers.get("Accept-Language")))
        if await MemberStore(self._conn).get_list(list_name) is None:
            return self._page(self._pages.message(t, t.not_found_title, t.unknown_list), 404)
        return self._form_page(request, t, list_name, action)

    async def _request_post(self, request: web.Request, action: ConfirmAction) -> web.Response:
        list_name = request.match_info["list"]
        form = await read_form(request, self._settings.web.idle_timeout)
        if form is None:
            return self._bad_form(request, list_name)
        raw_lang = form.get("lang")
        lang = pick_lang(raw_lang if isinstance(raw_lang, str) else None,
                         request.headers.get("Accept-Language"))
        t = messages(lang)
        if await MemberStore(self._conn).get_list(list_name) is None:
            return self._page(self._pages.message(t, t.not_found_title, t.unknown_list), 404)
        if not await self._csrf_passes(request, form):
            return self._form_page(request, t, list_name, action, 403, error=t.form_expired)
        raw_email, raw_name = form.get("email"), form.get("name")
        try:
            address = normalise_address(raw_email if isinstance(raw_email, str) else "")
            name = normalise_name(raw_name if isinstance(raw_name, str) else "")
        except AddressError:
            return self._form_page(request, t, list_name, action, 400,
                                   email=raw_email if isinstance(raw_email, str) else "",
                                   error=t.bad_address)
        ip = client_ip(request.remote, request.headers.getall("X-Forwarded-For", []),
                       self._proxies)
        async with self._writing:
            allowed = await RateStore(self._conn).allow(
                f"subscribe-ip:{rate_bucket(ip)}", self._settings.web.requests_per_ip, HOUR,
                self._clock())
        leaving = action == "unsubscribe"
        title = (t.unsubscribe_title if leaving else t.subscribe_title).format(list=list_name)
        if not allowed:
            return self._page(self._pages.message(t, title, t.too_many, alert=True), 429)
        # Whether a confirmation goes out depends on the address (a member, over its limit),
        # and so does the work; answer first so the page's timing tells nothing.
        self._background.spawn(
            self._request_change(list_name, address, action, name, None if leaving else lang),
            f"{action} request for {list_name}")
        sent = (t.leave_sent if leaving else t.subscribe_sent).format(
            address=address, list=list_name, days=f"{self._settings.web.token_days:g}")
        return self._page(self._pages.message(t, title, sent))

    async def _request_change(self, list_name: str, address: str, action: ConfirmAction,
                              name: str, lang: Lang | None) -> None:
        # Over the per-address limit (shared by both kinds of request), send nothing: no mail
        # bombing. A request to leave is confirmed in the member's own language.
        outcome = "limited"
        async with self._writing:
            if await RateStore(self._conn).allow(
                    f"subscribe-address:{address_key(address)}",
                    self._settings.web.requests_per_address, DAY, self._clock()):
                outcome = await self._optin.request(list_name, address, action, name=name,
                                                    lang=lang)
        if outcome == "sent" and self._on_queued is not None:
            self._on_queued()

    async def confirm_page(self, request: web.Request) -> web.Response:
        state, found = await self._optin.lookup(request.match_info["token"])
        if state != "valid" or found is None:
            return self._token_problem(state, found.lang if found else None, request)
        t = messages(found.lang)
        prompt = (t.confirm_subscribe_prompt if found.action == "subscribe"
                  else t.confirm_unsubscribe_prompt)
        token, fresh = self._csrf.field(request)
        response = self._page(self._pages.button(
            t, t.confirm_title, prompt.format(address=found.address, list=found.list_name),
            t.button_confirm, [(CSRF_FIELD, token)]))
        self._csrf.set_cookie(response, fresh)
        return response

    async def confirm_post(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        state, found = await self._optin.lookup(token)
        if state != "valid" or found is None:
            return self._token_problem(state, found.lang if found else None, request)
        t = messages(found.lang)
        form = await read_form(request, self._settings.web.idle_timeout)
        if form is None:
            return self._bad_form(request)
        if not await self._csrf_passes(request, form):
            return self._page(self._pages.message(t, t.confirm_title, t.form_expired, True), 403)
        async with self._writing:
            state, found = await self._optin.apply(token)
        if state != "valid" or found is None:  # lost a race with another use of the token
            return self._token_problem(state, found.lang if found else None, request)
        done = (t.confirmed_subscribe if found.action == "subscribe"
                else t.confirmed_unsubscribe)
        return self._page(self._pages.message(
            t, t.confirm_title, done.format(address=found.address, list=found.list_name)))

    def _token_problem(self, state: str, lang: str | None, request: web.Request) -> web.Response:
        t = messages(lang or pick_lang(None, request.headers.get("Accept-Language")))
        text, status = {"expired": (t.token_expired, 410),
                        "used": (t.token_used, 410)}.get(state, (t.token_unknown, 404))
        return self._page(self._pages.message(t, t.not_found_title, text, alert=True), status)
