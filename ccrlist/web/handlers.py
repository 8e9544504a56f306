"""The HTTP handlers: subscribe and unsubscribe request forms, confirmation page and RFC 8058
one-click unsubscribe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ccrlist.admin.optin import Optin
from ccrlist.catalogue import Messages, messages
from ccrlist.config.settings import Settings
from ccrlist.notices import Clock
from ccrlist.web.background import Background
from ccrlist.web.pages import Pages, pick_lang
from ccrlist.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    client_ip,
    csrf_ok,
    csrf_token,
    new_nonce,
    origin_ok,
    proxy_networks,
    rate_bucket,
)
from subscribers.addresses import AddressError, address_key, normalise_address, normalise_name
from subscribers.db import Connection
from subscribers.members import MemberStore
from subscribers.models import ConfirmAction, Lang
from subscribers.ratelimits import RateStore
from subscribers.unsubscribe import TokenMembers

HTML = "text/html"
HOUR = 3600.0
DAY = 86400.0
ONE_CLICK = "One-Click"


Form = Mapping[str, object]


async def read_form(request: web.Request, timeout: float) -> Form | None:
    """The POSTed form, or None when the body cannot be read (its errors are the client's)
    or has not arrived within `timeout` seconds (a slow client holds a connection)."""
    try:
        async with asyncio.timeout(timeout):
            return await request.post()
    except (ValueError, LookupError, HttpProcessingError, TimeoutError):
        # Broken multipart, a missing boundary, an unknown charset: bad input, not our fault.
        return None


class Handlers:
    """Route handlers sharing one connection, the settings, the secret and a clock."""

    def __init__(self, conn: Connection, settings: Settings, secret: bytes, pages: Pages,
                 clock: Clock, background: Background,
                 on_queued: Callable[[], None] | None = None) -> None:
        self._conn = conn
        self._on_queued = on_queued  # wakes the delivery worker: mail is waiting
        self._background = background
        # The connection is shared: one write transaction at a time, or a BEGIN from one
        # request would land inside another's (and background jobs overlap requests).
        self._writing = asyncio.Lock()
        self._settings = settings
        self._secret = secret
        self._pages = pages
        self._clock = clock
        self._optin = Optin(conn, settings, clock)
        self._proxies = proxy_networks(settings.web.trusted_proxies)

    def _page(self, body: str, status: int = 200) -> web.Response:
        return web.Response(text=body, status=status, content_type=HTML, charset="utf-8")

    def _with_nonce(self, request: web.Request) -> tuple[str, bool]:
        nonce = request.cookies.get(CSRF_COOKIE)
        return (nonce, False) if nonce else (new_nonce(), True)

    def _set_cookie(self, response: web.Response, nonce: str) -> None:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/",
                            secure=self._settings.web.base_url.startswith("https:"))

    async def _csrf_passes(self, request: web.Request, form: Form) -> bool:
        field = form.get(CSRF_FIELD)
        request_origin = f"{request.scheme}://{request.host}"
        return (origin_ok(request.headers.get("Origin"), self._settings.web.base_url,
                          request_origin)
                and csrf_ok(self._secret, request.cookies.get(CSRF_COOKIE),
                            field if isinstance(field, str) else None, request.path))

    def _bad_form(self, request: web.Request, list_name: str | None = None) -> web.Response:
        t = messages(pick_lang(request.query.get("lang"), request.headers.get("Accept-Language")))
        title = t.subscribe_title.format(list=list_name) if list_name else t.confirm_title
        return self._page(self._pages.message(t, title, t.bad_form, alert=True), 400)

    def _form_page(self, request: web.Request, t: Messages, list_name: str,
                   action: ConfirmAction, status: int = 200, email: str = "", name: str = "",
                   error: str = "") -> web.Response:
        nonce, fresh = self._with_nonce(request)
        token = csrf_token(self._secret, nonce, request.path)
        if action == "unsubscribe":
            body = self._pages.leave(t, list_name, token, email, error)
        else:
            body = self._pages.subscribe(t, list_name, token, email, name, error)
        response = self._page(body, status)
        if fresh:
            self._set_cookie(response, nonce)
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
        nonce, fresh = self._with_nonce(request)
        response = self._page(self._pages.button(
            t, t.confirm_title, prompt.format(address=found.address, list=found.list_name),
            t.button_confirm, [(CSRF_FIELD, csrf_token(self._secret, nonce, request.path))]))
        if fresh:
            self._set_cookie(response, nonce)
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

    async def unsubscribe_page(self, request: web.Request) -> web.Response:
        """GET never unsubscribes: mail scanners follow links."""
        member = await TokenMembers(self._conn).find(request.match_info["token"])
        if member is None:
            return self._token_problem("unknown", None, request)
        t = messages(member.lang)
        title = t.unsubscribe_title.format(list=member.list_name)
        if member.status == "unsubscribed":
            return self._page(self._pages.message(
                t, title, t.unsubscribed.format(address=member.address, list=member.list_name)))
        return self._page(self._pages.button(
            t, title, t.unsubscribe_prompt.format(address=member.address, list=member.list_name),
            t.button_unsubscribe, [("List-Unsubscribe", ONE_CLICK)]))

    async def unsubscribe_post(self, request: web.Request) -> web.Response:
        """RFC 8058: the URL's token is the capability; no cookie, login, CSRF token or redirect."""
        form = await read_form(request, self._settings.web.idle_timeout)
        if form is None or form.get("List-Unsubscribe") != ONE_CLICK:
            return web.Response(text="expected List-Unsubscribe=One-Click\n", status=400)
        async with self._writing:
            member = await TokenMembers(self._conn).unsubscribe(request.match_info["token"],
                                                                self._clock())
        if member is None:
            return self._token_problem("unknown", None, request)
        t = messages(member.lang)
        return self._page(self._pages.message(
            t, t.unsubscribe_title.format(list=member.list_name),
            t.unsubscribed.format(address=member.address, list=member.list_name)))
