"""Signing in to a members-only archive without a password: an address, a one-time link
by mail, a button, then a session cookie (HttpOnly, SameSite=Lax, Secure over https).

The form answers the same for every address, before looking it up: whether a link
goes out (only to active members and owners) is decided after the page is sent.
"""

from __future__ import annotations

from aiohttp import web

from ccrlist.archive.signin_mail import signin_mail
from ccrlist.catalogue import messages
from ccrlist.notices import Notices
from ccrlist.web.archive_gate import (
    SESSION_COOKIE,
    ArchiveContext,
    frame,
    may_read,
    notice,
    page,
    signin_form,
    texts_for,
)
from ccrlist.web.forms import read_form
from ccrlist.web.security import (
    CSRF_COOKIE,
    client_ip,
    csrf_ok,
    csrf_token,
    origin_ok,
    proxy_networks,
    rate_bucket,
)
from subscribers.addresses import AddressError, address_key, normalise_address
from subscribers.members import MemberStore
from subscribers.models import hash_token
from subscribers.ratelimits import RateStore

HOUR = 3600.0
DAY = 86400.0


class Signin:
    """The sign-in and sign-out handlers."""

    def __init__(self, ctx: ArchiveContext) -> None:
        self._ctx = ctx
        self._proxies = proxy_networks(ctx.settings.web.trusted_proxies)

    def _csrf_passes(self, request: web.Request, field: object) -> bool:
        request_origin = f"{request.scheme}://{request.host}"
        return (origin_ok(request.headers.get("Origin"), self._ctx.settings.web.base_url,
                          request_origin)
                and csrf_ok(self._ctx.secret, request.cookies.get(CSRF_COOKIE),
                            field if isinstance(field, str) else None, request.path))

    async def form(self, request: web.Request) -> web.Response:
        list_name = request.match_info["list"]
        if await MemberStore(self._ctx.conn).get_list(list_name) is None:
            t, _ = texts_for(request)
            return notice(self._ctx, request, t.not_found_title, t.not_found, 404)
        return signin_form(self._ctx, request, list_name, request.query.get("next", ""))

    async def request_link(self, request: web.Request) -> web.Response:
        ctx = self._ctx
        list_name = request.match_info["list"]
        t, _ = texts_for(request)
        if await MemberStore(ctx.conn).get_list(list_name) is None:
            return notice(ctx, request, t.not_found_title, t.not_found, 404)
        form = await read_form(request, self._ctx.settings.web.idle_timeout)
        if form is None:
            return notice(ctx, request, t.signin_title.format(list=list_name),
                          messages(t.lang).bad_form, 400, list_name)
        next_field = form.get("next")
        next_path = ctx.safe_next(list_name, next_field if isinstance(next_field, str) else "")
        if not self._csrf_passes(request, form.get("csrf")):
            return signin_form(ctx, request, list_name, next_path, 403,
                               error=messages(t.lang).form_expired)
        raw = form.get("email")
        try:
            address = normalise_address(raw if isinstance(raw, str) else "")
        except AddressError:
            return signin_form(ctx, request, list_name, next_path, 400,
                               email=raw if isinstance(raw, str) else "",
                               error=messages(t.lang).bad_address)
        ip = client_ip(request.remote, request.headers.getall("X-Forwarded-For", []),
                       self._proxies)
        async with ctx.writing:
            allowed = await RateStore(ctx.conn).allow(
                f"archive-signin-ip:{rate_bucket(ip)}", ctx.settings.web.requests_per_ip,
                HOUR, ctx.clock())
        if not allowed:
            return notice(ctx, request, t.signin_title.format(list=list_name),
                          messages(t.lang).too_many, 429, list_name)
        ctx.background.spawn(self._send_link(list_name, address, next_path, t.lang),
                             f"archive sign-in link for {list_name}")
        minutes = f"{ctx.settings.archive.link_minutes:g}"
        return notice(ctx, request, t.signin_title.format(list=list_name),
                      t.signin_sent.format(address=address, list=list_name, minutes=minutes),
                      200, list_name)

    async def _send_link(self, list_name: str, address: str, next_path: str,
                         lang: str) -> None:
        ctx = self._ctx
        async with ctx.writing:
            if not await may_read(ctx, list_name, address):
                return  # the page said the same: nobody learns who is a member
            if not await RateStore(ctx.conn).allow(
                    f"archive-signin-address:{address_key(address)}",
                    ctx.settings.web.requests_per_address, DAY, ctx.clock()):
                return
            member = await MemberStore(ctx.conn).find_member(list_name, address)
            lang = member.lang if member is not None else lang  # the member's own language
            now = ctx.clock()
            token = await ctx.access.create_signin(list_name, address, next_path, now,
                                                   ctx.settings.archive.link_minutes * 60)
            link = f"{ctx.base_url}archive/{list_name}/signin/{token}"
            body = signin_mail(list_name=list_name, domain=ctx.settings.domain,
                               address=address, link=link,
                               minutes=ctx.settings.archive.link_minutes, lang=lang, now=now)
            await Notices(ctx.conn, ctx.settings, ctx.clock).queue(
                list_name, f"archive-signin:{hash_token(token)[:32]}", body, (address,))
        ctx.on_queued()

    def _link_problem(self, request: web.Request, list_name: str, state: str) -> web.Response:
        t, keep = texts_for(request)
        text, status = {"expired": (t.link_expired, 410),
                        "used": (t.link_used, 410)}.get(state, (t.link_unknown, 404))
        again = f"{self._ctx.pages.list_path(list_name)}signin{keep}"
        return notice(self._ctx, request, t.signin_title.format(list=list_name), text, status,
                      list_name, links=((t.signin_button, again),))

    async def confirm_page(self, request: web.Request) -> web.Response:
        """GET changes nothing (mail scanners open links): it shows a button."""
        ctx = self._ctx
        list_name = request.match_info["list"]
        state, found_list, address, _ = await ctx.access.signin(request.match_info["token"],
                                                                ctx.clock())
        if state != "valid" or found_list != list_name:
            return self._link_problem(request, list_name, state if found_list == list_name
                                      else "unknown")
        t, _ = texts_for(request)
        f, nonce = frame(ctx, request, t.signin_title.format(list=list_name),
                         list_name=list_name, forms=True)
        body = ctx.pages.button(f, t.signin_prompt.format(list=list_name, address=address),
                                t.signin_confirm, csrf_token(ctx.secret, nonce, request.path))
        return page(ctx, request, body, 200, nonce)

    async def sign_in(self, request: web.Request) -> web.Response:
        ctx = self._ctx
        list_name = request.match_info["list"]
        form = await read_form(request, self._ctx.settings.web.idle_timeout)
        if form is None or not self._csrf_passes(request, form.get("csrf")):
            return self._link_problem(request, list_name, "unknown")
        async with ctx.writing:
            state, found_list, _, next_path, session = await ctx.access.use_signin(
                request.match_info["token"], ctx.clock(),
                ctx.settings.archive.session_days * DAY)
        if state != "valid" or found_list != list_name:
            return self._link_problem(request, list_name, state)
        response = web.Response(status=303,
                                headers={"Location": ctx.safe_next(list_name, next_path)})
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="Lax",
                            secure=ctx.secure, path=ctx.root,
                            max_age=int(ctx.settings.archive.session_days * DAY))
        return response

    async def sign_out(self, request: web.Request) -> web.Response:
        ctx = self._ctx
        t, _ = texts_for(request)
        form = await read_form(request, self._ctx.settings.web.idle_timeout)
        if form is None or not self._csrf_passes(request, form.get("csrf")):
            return notice(ctx, request, t.signout_button, messages(t.lang).form_expired, 403)
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            async with ctx.writing:
                await ctx.access.end_session(session)
        f, nonce = frame(ctx, request, t.signout_button)
        response = page(ctx, request, ctx.pages.notice(f, t.signed_out), 200, nonce)
        response.del_cookie(SESSION_COOKIE, path=ctx.root)
        return response

