"""Signing in to a members-only archive, over real HTTP to the web app: links that work
once and expire, sessions that end, CSRF, rate limits, the cookie's flags, redirects
that stay at home."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from webkit import FakeClock, queued, text_of

from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import ArchiveSettings, Settings, WebSettings
from ccrlist.web.app import BACKGROUND, make_app
from subscribers.db import Connection, open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
Client = TestClient  # type: ignore[type-arg]
WOKEN = web.AppKey("woken", list)


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, web=WebSettings(base_url="http://127.0.0.1/", requests_per_ip=4,
                                  requests_per_address=2),
        archive=ArchiveSettings(link_minutes=30, session_days=2))


@pytest.fixture
async def conn(web_settings: Settings) -> AsyncIterator[Connection]:
    c = await open_database(web_settings.database_path)
    await MemberStore(c).add("ccrlist", [NewMember("alice@example.org", lang="fr")])
    yield c
    await c.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(conn: Connection, web_settings: Settings,
                 clock: FakeClock) -> AsyncIterator[Client]:
    woken: list[int] = []
    app = make_app(conn, web_settings, load_or_create_secret(web_settings.data_dir), clock,
                   on_queued=lambda: woken.append(1))
    app[WOKEN] = woken
    async with TestClient(TestServer(app)) as c:
        yield c


async def ask(client: Client, address: str, next_path: str = "",
              headers: dict[str, str] | None = None) -> tuple[int, str]:
    form = await client.get("/archive/ccrlist/signin")
    token = CSRF.search(await form.text())
    assert token
    resp = await client.post("/archive/ccrlist/signin", headers=headers, data={
        "email": address, "csrf": token.group(1), "next": next_path})
    await client.app[BACKGROUND].drain()
    return resp.status, await resp.text()


async def link_of(conn: Connection, n: int = -1) -> str:
    mails = await queued(conn)
    found = re.search(r"https?://[^/]+(/archive/ccrlist/signin/\S+)",
                      text_of(mails[n][0]))
    assert found
    return found.group(1)


async def press(client: Client, link: str) -> tuple[int, str, str]:
    """Open the link and press its button: (status, Location, Set-Cookie of the session)."""
    page = await client.get(link)
    token = CSRF.search(await page.text())
    if token is None:
        return page.status, "", ""
    resp = await client.post(link, data={"csrf": token.group(1)}, allow_redirects=False)
    cookie = SimpleCookie(resp.headers.get("Set-Cookie", ""))
    return resp.status, resp.headers.get("Location", ""), cookie.output() if cookie else ""


async def test_link_works_once_then_the_session_opens_the_archive(
        client: Client, conn: Connection, clock: FakeClock) -> None:
    assert (await client.get("/archive/ccrlist/")).status == 403
    status, _ = await ask(client, "alice@example.org", "/archive/ccrlist/2026-01/")
    assert status == 200 and client.app[WOKEN] == [1]  # the worker is woken at once
    [(mail, to)] = await queued(conn)
    assert to == ["alice@example.org"] and "archives de ccrlist" in str(mail["Subject"])
    link = await link_of(conn)
    assert (await client.get(link)).status == 200  # opening the link changes nothing
    assert (await client.get(link)).status == 200
    status, location, cookie = await press(client, link)
    assert (status, location) == (303, "/archive/ccrlist/2026-01/")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Path=/archive/" in cookie and "Max-Age=172800" in cookie
    assert (await client.get("/archive/ccrlist/")).status == 200
    assert (await press(client, link))[0] == 410  # used
    # The session ends after [archive] session_days, and the link had 30 minutes.
    clock.advance(2 * 86400 + 1)
    assert (await client.get("/archive/ccrlist/")).status == 403


async def test_expired_and_unknown_links(client: Client, conn: Connection,
                                         clock: FakeClock) -> None:
    await ask(client, "alice@example.org")
    link = await link_of(conn)
    clock.advance(30 * 60 + 1)
    resp = await client.get(link)
    assert resp.status == 410 and "expired" in await resp.text()
    resp = await client.get("/archive/ccrlist/signin/" + "A" * 32)
    assert resp.status == 404
    resp = await client.get(link.replace("/ccrlist/", "/echronicle/"))
    assert resp.status == 404  # a link for one list does not open another


async def test_csrf_and_origin_are_checked(client: Client, conn: Connection) -> None:
    resp = await client.post("/archive/ccrlist/signin", data={"email": "alice@example.org"})
    assert resp.status == 403
    status, _ = await ask(client, "alice@example.org",
                          headers={"Origin": "https://evil.example"})
    assert status == 403
    assert await queued(conn) == []
    await ask(client, "alice@example.org")
    link = await link_of(conn)
    resp = await client.post(link, data={"csrf": "0" * 64}, allow_redirects=False)
    assert resp.status == 404
    assert "ccr_archive" not in resp.headers.get("Set-Cookie", "")


async def test_no_membership_oracle_and_rate_limits(client: Client, conn: Connection) -> None:
    member = await ask(client, "alice@example.org")
    stranger = await ask(client, "nobody@example.org")
    assert member[0] == stranger[0] == 200
    assert member[1].replace("alice@example.org", "X") == \
        stranger[1].replace("nobody@example.org", "X")
    assert [to for _, to in await queued(conn)] == [["alice@example.org"]]
    await ask(client, "alice@example.org")
    await ask(client, "alice@example.org")  # over requests_per_address: nothing sent
    assert len(await queued(conn)) == 2
    form = await client.get("/archive/ccrlist/signin")
    token = CSRF.search(await form.text())
    assert token
    resp = await client.post("/archive/ccrlist/signin", data={
        "email": "alice@example.org", "csrf": token.group(1), "next": ""})
    assert resp.status == 429  # the fifth request from this IP within the hour


@pytest.mark.parametrize("wanted", ["https://evil.example/", "//evil.example/x",
                                    "/archive/other/", "/archive/ccrlist/../../u/x",
                                    "/archive/ccrlist/\\\\evil"])
async def test_after_signing_in_only_pages_of_the_list(client: Client, conn: Connection,
                                                       wanted: str) -> None:
    await ask(client, "alice@example.org", wanted)
    status, location, _ = await press(client, await link_of(conn))
    assert (status, location) == (303, "/archive/ccrlist/")


async def test_sign_out(client: Client, conn: Connection) -> None:
    await ask(client, "alice@example.org")
    await press(client, await link_of(conn))
    page = await client.get("/archive/ccrlist/")
    assert page.status == 200
    token = CSRF.search(await page.text())
    assert token
    assert (await client.post("/archive/signout", data={"csrf": "bad"})).status == 403
    resp = await client.post("/archive/signout", data={"csrf": token.group(1)})
    assert resp.status == 200
    assert (await client.get("/archive/ccrlist/")).status == 403
    [(n,)] = await conn.execute_fetchall("SELECT count(*) FROM archive_sessions")
    assert n == 0


async def test_the_session_cookie_is_secure_behind_https(web_settings: Settings, conn: Connection,
                                                        clock: FakeClock) -> None:
    """With an https base_url (a TLS proxy in front), cookies are Secure and the paths are
    the proxy's: base_url's path is the prefix the browser sees."""
    settings = dataclasses.replace(web_settings, web=WebSettings(
        base_url="https://lists.example.org/lists/"))
    app = make_app(conn, settings, load_or_create_secret(settings.data_dir), clock)
    async with TestClient(TestServer(app)) as c:
        form = await c.get("/archive/ccrlist/signin")
        nonce = SimpleCookie(form.headers["Set-Cookie"])["ccr_csrf"]
        assert nonce["secure"] and nonce["httponly"]
        jar = {"Cookie": f"ccr_csrf={nonce.value}"}
        text = await form.text()
        assert 'action="/lists/archive/ccrlist/signin"' in text
        token = CSRF.search(text)
        assert token
        resp = await c.post("/archive/ccrlist/signin", headers=jar, data={
            "email": "alice@example.org", "csrf": token.group(1), "next": ""})
        assert resp.status == 200
        await c.app[BACKGROUND].drain()
        link = re.search(r"https://lists\.example\.org/lists(/archive/ccrlist/signin/\S+)",
                         text_of((await queued(conn))[-1][0]))
        assert link
        page = await c.get(link.group(1), headers=jar)
        token = CSRF.search(await page.text())
        assert token
        resp = await c.post(link.group(1), headers=jar, data={"csrf": token.group(1)},
                            allow_redirects=False)
        assert (resp.status, resp.headers["Location"]) == (303, "/lists/archive/ccrlist/")
        session = SimpleCookie(resp.headers["Set-Cookie"])["ccr_archive"]
        assert session["secure"] and session["httponly"]
        assert (session["samesite"], session["path"]) == ("Lax", "/lists/archive/")
