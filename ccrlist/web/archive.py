"""The list archive on the web app: index by month, threads, messages, attachments, search
and Atom feeds, each behind the list's policy (`archive_gate.py`)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlencode

from aiohttp import web

from ccrlist.archive.feed import atom_feed
from ccrlist.archive.pages import month_label
from ccrlist.archive.reading import part_bytes
from ccrlist.archive.search import PAGE_SIZE, SearchForm, SearchFormError, search_query
from ccrlist.config.settings import Settings
from ccrlist.notices import Clock
from ccrlist.web.archive_gate import (
    ArchiveContext,
    Gate,
    frame,
    gate,
    not_found,
    notice,
    page,
    texts_for,
)
from ccrlist.web.archive_signin import Signin
from ccrlist.web.background import Background
from subscribers.db import Connection
from subscribers.members import MemberStore

LIST = r"{list:[a-z0-9][a-z0-9._-]{0,63}}"
KEY = r"{key:[a-z2-7]{16}}"
MONTH_PAGE = 50
FEED_ENTRIES = 30
# Attachment types passed on as they are; anything else is application/octet-stream.
# Never text/html or anything else a browser would run; always as a download.
SAFE_TYPES = frozenset({
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain",
    "text/csv", "text/calendar", "application/zip", "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.ms-excel", "application/vnd.oasis.opendocument.text",
})


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return max(1, min(int(raw), 10_000)) if raw.isdigit() and len(raw) < 6 else 1


GatedHandler = Callable[["ArchiveSite", web.Request, Gate], Awaitable[web.StreamResponse]]
Handler = Callable[["ArchiveSite", web.Request], Awaitable[web.StreamResponse]]


def _gated(handler: GatedHandler) -> Handler:
    """`handler`, run with the list's `Gate` for a visitor its policy lets in; anyone else
    gets what `gate` answers (not found, no archive, sign in, not a member)."""
    @functools.wraps(handler)
    async def checked(site: ArchiveSite, request: web.Request) -> web.StreamResponse:
        g = await gate(site.ctx, request, request.match_info["list"])
        if not isinstance(g, Gate):
            return g
        return await handler(site, request, g)
    return checked


class ArchiveSite:
    """Route handlers of the archive's content pages."""

    def __init__(self, ctx: ArchiveContext) -> None:
        self.ctx = ctx

    async def lists(self, request: web.Request) -> web.Response:
        """Every list with a web archive."""
        ctx = self.ctx
        t, keep = texts_for(request)
        lists = [lst.name for lst in await MemberStore(ctx.conn).lists()
                 if ctx.settings.archive.policy_for(lst.name) != "none"]
        return notice(ctx, request, t.archives_title, "" if lists else t.no_lists, 200,
                      links=tuple((t.archive_title.format(list=name),
                                   ctx.pages.list_path(name) + keep) for name in lists))

    @_gated
    async def index(self, request: web.Request, g: Gate) -> web.Response:
        ctx = self.ctx
        t, _ = texts_for(request)
        f, nonce = frame(ctx, request, t.archive_title.format(list=g.list_name), g)
        personal = ""
        if not g.public:
            async with ctx.writing:
                token = await ctx.access.feed_token(g.list_name, g.visitor, ctx.clock())
            personal = ctx.absolute(f"{ctx.pages.list_path(g.list_name)}feed/{token}/atom.xml")
        body = ctx.pages.index(f, await ctx.store.months(g.list_name),
                               await ctx.store.recent_threads(g.list_name, 20), personal)
        return page(ctx, request, body, 200, nonce)

    @_gated
    async def month(self, request: web.Request, g: Gate) -> web.Response:
        ctx = self.ctx
        t, keep = texts_for(request)
        month = request.match_info["month"]
        if not 1 <= int(month[5:]) <= 12:
            return not_found(ctx, request, g.list_name)
        number = _page_number(request)
        threads = await ctx.store.month_threads(g.list_name, month, MONTH_PAGE + 1,
                                                (number - 1) * MONTH_PAGE)
        f, nonce = frame(ctx, request, f"{t.archive_title.format(list=g.list_name)}: "
                                       f"{month_label(month, t)}", g)
        here = f"{ctx.pages.list_path(g.list_name)}{month}/"
        lang = {"lang": t.lang} if keep else {}
        previous = (f"{here}?{urlencode({**lang, 'page': number - 1})}" if number > 1 else "")
        following = (f"{here}?{urlencode({**lang, 'page': number + 1})}"
                     if len(threads) > MONTH_PAGE else "")
        return page(ctx, request, ctx.pages.month(f, threads[:MONTH_PAGE], previous,
                                                  following), 200, nonce)

    @_gated
    async def thread(self, request: web.Request, g: Gate) -> web.Response:
        ctx = self.ctx
        thread_id = int(request.match_info["id"])
        summary, posts = await ctx.store.thread(g.list_name, thread_id)
        if summary is None:
            merged_into = await ctx.store.thread_of(g.list_name, thread_id)
            if merged_into is None or merged_into == thread_id:
                return not_found(ctx, request, g.list_name)
            raw_query = request.rel_url.raw_query_string
            query = f"?{raw_query}" if raw_query else ""
            raise web.HTTPMovedPermanently(
                ctx.absolute(ctx.pages.thread_path(g.list_name, merged_into)) + query)
        t, _ = texts_for(request)
        f, nonce = frame(ctx, request, summary.subject or t.no_subject, g)
        return page(ctx, request, ctx.pages.thread(f, posts), 200, nonce)

    @_gated
    async def message(self, request: web.Request, g: Gate) -> web.Response:
        ctx = self.ctx
        post = await ctx.store.post(f"{g.list_name}/{request.match_info['key']}")
        if post is None:
            return not_found(ctx, request, g.list_name)
        _, in_thread = await ctx.store.thread(g.list_name, post.thread_id)
        parent = next((p for p in in_thread if p.post_id == post.parent_id), None)
        t, _ = texts_for(request)
        f, nonce = frame(ctx, request, post.subject or t.no_subject, g)
        return page(ctx, request, ctx.pages.message(f, post, parent, len(in_thread)), 200,
                    nonce)

    @_gated
    async def attachment(self, request: web.Request, g: Gate) -> web.StreamResponse:
        """A download, never shown inline: `Content-Disposition: attachment` and a type no
        browser runs (`nosniff` and a sandboxing CSP come with every response)."""
        ctx = self.ctx
        post = await ctx.store.post(f"{g.list_name}/{request.match_info['key']}")
        number = int(request.match_info["part"])
        listed = next((a for a in post.attachments if a.part == number), None) if post else None
        found = part_bytes(await ctx.store.raw(post.post_id), number) if post and listed else None
        if listed is None or found is None:
            return not_found(ctx, request, g.list_name)
        _, data = found
        kind = listed.content_type if listed.content_type in SAFE_TYPES else \
            "application/octet-stream"
        return web.Response(body=data, headers={
            "Content-Type": kind,
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(listed.filename)}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        })

    @_gated
    async def search(self, request: web.Request, g: Gate) -> web.Response:
        ctx = self.ctx
        t, keep = texts_for(request)
        q = request.query
        form = SearchForm(q.get("q", "")[:500], q.get("author", "")[:320],
                          q.get("from", "")[:10], q.get("to", "")[:10], _page_number(request))
        f, nonce = frame(ctx, request, f"{t.search_heading}: {g.list_name}", g)
        if form.empty:
            return page(ctx, request, ctx.pages.search(f, form, None), 200, nonce)
        try:
            query = search_query(g.list_name, form)
        except SearchFormError:
            return page(ctx, request, ctx.pages.search(f, form, None, error=t.bad_date), 400,
                        nonce)
        hits = await ctx.store.search(query)
        here = f"{ctx.pages.list_path(g.list_name)}search"
        params = {k: v for k, v in {"q": form.words, "author": form.author,
                                    "from": form.date_from, "to": form.date_to,
                                    "lang": t.lang if keep else ""}.items() if v}

        def link(number: int) -> str:
            return f"{here}?{urlencode({**params, 'page': number})}"

        return page(ctx, request, ctx.pages.search(
            f, form, hits[:PAGE_SIZE], first=query.offset + 1,
            previous=link(form.page - 1) if form.page > 1 else "",
            following=link(form.page + 1) if len(hits) > PAGE_SIZE else ""), 200, nonce)

    async def _feed(self, request: web.Request, g: Gate, self_url: str) -> web.Response:
        ctx = self.ctx
        t, _ = texts_for(request)
        threads = await ctx.store.recent_threads(g.list_name, FEED_ENTRIES, by="started")
        firsts = await ctx.store.first_posts([th.id for th in threads])
        body = atom_feed(
            title=t.archive_title.format(list=g.list_name),
            home=ctx.absolute(ctx.pages.list_path(g.list_name)), self_url=self_url,
            lang=t.lang, public=g.public, now=ctx.clock(), untitled=t.no_subject,
            threads=[(th, ctx.absolute(ctx.pages.thread_path(g.list_name, th.id)),
                      firsts.get(th.id)) for th in threads])
        return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")

    @_gated
    async def public_feed(self, request: web.Request, g: Gate) -> web.Response:
        ctx = self.ctx
        if not g.public:  # members read their own feed URL, shown on the index
            return not_found(ctx, request, g.list_name)
        return await self._feed(request, g, ctx.absolute(
            f"{ctx.pages.list_path(g.list_name)}atom.xml"))

    async def personal_feed(self, request: web.Request) -> web.Response:
        """A member's feed: the token in the URL is the capability, checked on every fetch
        against the member still being one."""
        ctx = self.ctx
        list_name = request.match_info["list"]
        token = request.match_info["token"]
        if (ctx.settings.archive.policy_for(list_name) != "members"
                or not await ctx.access.feed_reader(list_name, token)):
            return not_found(ctx, request)
        return await self._feed(request, Gate(list_name, False, ""), ctx.absolute(
            f"{ctx.pages.list_path(list_name)}feed/{token}/atom.xml"))


async def _slash(request: web.Request) -> web.Response:
    """`.../ccrlist` to `.../ccrlist/`, relative, so it works behind a proxy's prefix."""
    last = request.path.rsplit("/", 1)[-1]
    query = f"?{request.query_string}" if request.query_string else ""
    return web.Response(status=301, headers={"Location": f"{last}/{query}"})


def add_archive_routes(app: web.Application, conn: Connection, settings: Settings,
                       secret: bytes, clock: Clock, background: Background,
                       on_queued: Callable[[], None]) -> None:
    """Serve the archive under `/archive/` (`[web] base_url` + `archive/` outside)."""
    ctx = ArchiveContext(conn, settings, secret, clock, background, on_queued)
    site, signin = ArchiveSite(ctx), Signin(ctx)
    base = f"/archive/{LIST}"
    app.router.add_get("/archive/", site.lists)
    app.router.add_post("/archive/signout", signin.sign_out)
    app.router.add_get(base, _slash)
    app.router.add_get(f"{base}/", site.index)
    app.router.add_get(f"{base}/search", site.search)
    app.router.add_get(f"{base}/atom.xml", site.public_feed)
    app.router.add_get(f"{base}/feed/{{token:[A-Za-z0-9_-]{{16,64}}}}/atom.xml",
                       site.personal_feed)
    app.router.add_get(f"{base}/signin", signin.form)
    app.router.add_post(f"{base}/signin", signin.request_link)
    app.router.add_get(f"{base}/signin/{{token:[A-Za-z0-9_-]{{16,64}}}}", signin.confirm_page)
    app.router.add_post(f"{base}/signin/{{token:[A-Za-z0-9_-]{{16,64}}}}", signin.sign_in)
    app.router.add_get(f"{base}/{{month:[0-9]{{4}}-[0-9]{{2}}}}/", site.month)
    app.router.add_get(f"{base}/thread/{{id:[0-9]{{1,18}}}}/", site.thread)
    app.router.add_get(f"{base}/{KEY}/", site.message)
    app.router.add_get(f"{base}/{KEY}", _slash)
    app.router.add_get(f"{base}/{KEY}/attachment/{{part:[0-9]{{1,4}}}}/{{name}}",
                       site.attachment)
