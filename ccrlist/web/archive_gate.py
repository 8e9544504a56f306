"""Who may see a list's archive pages: the list's policy, the visitor's session cookie, and
the frame (language, links, sign-out form) every archive page is drawn in."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from ccrlist.archive.pages import ArchivePages, Frame, make_environment
from ccrlist.archive.texts import ArchiveTexts, archive_texts
from ccrlist.catalogue import messages
from ccrlist.config.settings import Settings
from ccrlist.notices import Clock
from ccrlist.web.background import Background
from ccrlist.web.pages import pick_lang
from ccrlist.web.security import CSRF_COOKIE, csrf_token, new_nonce
from subscribers.archive_access import ArchiveAccess
from subscribers.archive_reads import ArchiveReader
from subscribers.db import Connection
from subscribers.members import MemberStore

SESSION_COOKIE = "ccr_archive"
HTML = "text/html"
_SAFE_NEXT = re.compile(r"[A-Za-z0-9/._~%?=&+-]{1,500}")


@dataclass
class ArchiveContext:
    """What the archive's handlers share: one connection of their own, with one writer."""

    conn: Connection
    settings: Settings
    secret: bytes
    clock: Clock
    background: Background
    on_queued: Callable[[], None]

    def __post_init__(self) -> None:
        self.writing = asyncio.Lock()
        self.store = ArchiveReader(self.conn)
        self.access = ArchiveAccess(self.conn)
        base = self.settings.web.base_url
        self.base_url = base if base.endswith("/") else base + "/"
        # Paths as the browser sees them: behind a proxy, base_url's path is the prefix.
        self.root = urlsplit(self.base_url).path + "archive/"
        self.pages = ArchivePages(make_environment(), self.root)
        self.secure = self.base_url.startswith("https:")

    def absolute(self, path: str) -> str:
        """A browser-side path as a full URL (for mail and feeds)."""
        return self.base_url + path[len(urlsplit(self.base_url).path):]

    def safe_next(self, list_name: str, wanted: str) -> str:
        """Where to go after signing in: a path inside the list's archive, else its index."""
        home = self.pages.list_path(list_name)
        path = wanted.split("?")[0].split("/")
        if (wanted.startswith(home) and _SAFE_NEXT.fullmatch(wanted) and "//" not in wanted
                and ".." not in path and "." not in path):
            return wanted
        return home


@dataclass(frozen=True)
class Gate:
    """A visitor let in to a list's archive."""

    list_name: str
    public: bool
    visitor: str  # "" when not signed in


def texts_for(request: web.Request) -> tuple[ArchiveTexts, str]:
    """The page's words, and "?lang=xx" when the URL chose the language (links keep it)."""
    asked = request.query.get("lang")
    lang = pick_lang(asked, request.headers.get("Accept-Language"))
    return archive_texts(lang), (f"?lang={lang}" if asked in ("en", "fr") else "")


def browser_path(ctx: ArchiveContext, request: web.Request) -> str:
    """The request's path and query as the browser sent them (before a proxy's prefix)."""
    return ctx.root[:-len("archive/")] + request.path_qs.lstrip("/")


def switch_url(ctx: ArchiveContext, request: web.Request, t: ArchiveTexts) -> str:
    query = {k: v for k, v in request.query.items() if k != "lang"}
    query["lang"] = "en" if t.lang == "fr" else "fr"
    return browser_path(ctx, request).split("?")[0] + "?" + urlencode(query)


def nonce_for(request: web.Request) -> tuple[str, bool]:
    nonce = request.cookies.get(CSRF_COOKIE)
    return (nonce, False) if nonce else (new_nonce(), True)


def frame(ctx: ArchiveContext, request: web.Request, title: str, gate: Gate | None = None,
          list_name: str = "", forms: bool = False) -> tuple[Frame, str]:
    """The page's frame, and the CSRF nonce of its forms ("" for a page with none: an
    anonymous reader of a public archive gets no cookie); `page` sets it when new."""
    t, keep = texts_for(request)
    name = gate.list_name if gate else list_name
    visitor = gate.visitor if gate else ""
    nonce = nonce_for(request)[0] if forms or visitor else ""
    home = ctx.pages.list_path(name) if name else ""
    public = gate.public if gate else False
    feed = f"{home}atom.xml" if gate and public else ""
    return Frame(t=t, title=title, list_name=name, home=home,
                 search=f"{home}search" if name else "", switch=switch_url(ctx, request, t),
                 keep=keep, feed=feed, public=public, visitor=visitor,
                 signout=f"{ctx.root}signout",
                 csrf=csrf_token(ctx.secret, nonce, "/archive/signout") if visitor else ""
                 ), nonce


def page(ctx: ArchiveContext, request: web.Request, body: str, status: int = 200,
         nonce: str = "") -> web.Response:
    """An HTML response; sets the CSRF nonce cookie when the page made a new one."""
    response = web.Response(text=body, status=status, content_type=HTML, charset="utf-8")
    if nonce and request.cookies.get(CSRF_COOKIE) != nonce:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/",
                            secure=ctx.secure)
    return response


async def visitor_of(ctx: ArchiveContext, request: web.Request) -> str:
    """The signed-in address, "" for none."""
    session = request.cookies.get(SESSION_COOKIE)
    if not session or len(session) > 100:
        return ""
    found = await ctx.access.visitor(session, ctx.clock())
    return found.address if found else ""


async def may_read(ctx: ArchiveContext, list_name: str, address: str) -> bool:
    """Active members and owners; `[posting] owners` count when the database has none."""
    if await ctx.access.may_read(list_name, address):
        return True
    owners = {o.casefold() for o in ctx.settings.posting.owners}
    return address.casefold() in owners and not await ctx.access.has_owners(list_name)


def notice(ctx: ArchiveContext, request: web.Request, title: str, text: str, status: int,
           list_name: str = "", links: tuple[tuple[str, str], ...] = ()) -> web.Response:
    f, nonce = frame(ctx, request, title, list_name=list_name)
    return page(ctx, request, ctx.pages.notice(f, text, alert=status >= 400, links=links),
                status, nonce)


def not_found(ctx: ArchiveContext, request: web.Request, list_name: str = "") -> web.Response:
    t, _ = texts_for(request)
    return notice(ctx, request, t.not_found_title, t.not_found, 404, list_name)


async def gate(ctx: ArchiveContext, request: web.Request,
               list_name: str) -> Gate | web.Response:
    """Let the visitor in, or the page they get instead: not found, no archive, sign in,
    or not a member."""
    t, _ = texts_for(request)
    if await MemberStore(ctx.conn).get_list(list_name) is None:
        return not_found(ctx, request)
    policy = ctx.settings.archive.policy_for(list_name)
    if policy == "none":
        return notice(ctx, request, t.not_found_title, t.no_archive.format(list=list_name),
                      404)
    visitor = await visitor_of(ctx, request)
    if policy == "public":
        return Gate(list_name, True, visitor)
    if not visitor:
        return signin_form(ctx, request, list_name, browser_path(ctx, request), status=403)
    if not await may_read(ctx, list_name, visitor):
        f, nonce = frame(ctx, request, t.archive_title.format(list=list_name),
                         Gate(list_name, False, visitor))
        return page(ctx, request, ctx.pages.notice(
            f, t.not_member.format(address=visitor, list=list_name), alert=True), 403, nonce)
    return Gate(list_name, False, visitor)


def signin_form(ctx: ArchiveContext, request: web.Request, list_name: str, next_path: str,
                status: int = 200, email: str = "", error: str = "") -> web.Response:
    """The form that asks for an address to send a sign-in link to."""
    t, keep = texts_for(request)
    f, nonce = frame(ctx, request, t.signin_title.format(list=list_name), list_name=list_name,
                     forms=True)
    action = f"{ctx.pages.list_path(list_name)}signin{keep}"
    body = ctx.pages.signin(
        f, t.signin_intro.format(list=list_name), messages(t.lang).label_email, action,
        csrf_token(ctx.secret, nonce, f"/archive/{list_name}/signin"),
        ctx.safe_next(list_name, next_path), email, error)
    return page(ctx, request, body, status, nonce)
