"""RFC 8058 one-click unsubscribe at /u/<token>: POST unsubscribes at once, GET never does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from webkit import FakeClock, status_of

from ccrlist.config.settings import Settings
from ccrlist.web.app import make_app
from subscribers.db import Connection, open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[Connection]:
    c = await open_database(settings.database_path)
    await MemberStore(c).add("echronicle", [NewMember("jo@example.org", "Jo", "en"),
                                            NewMember("luc@example.ca", "Luc", "fr")])
    yield c
    await c.close()


@pytest.fixture
async def client(conn: Connection, settings: Settings) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    app = make_app(conn, settings, b"s" * 32, FakeClock())
    async with TestClient(TestServer(app)) as c:
        yield c


async def token_of(conn: Connection, address: str) -> str:
    member = await MemberStore(conn).find_member("echronicle", address)
    assert member is not None
    return member.token


async def test_get_never_unsubscribes(client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    token = await token_of(conn, "jo@example.org")
    for _ in range(3):
        resp = await client.get(f"/u/{token}")
        assert resp.status == 200
        html = await resp.text()
        assert '<form method="post"' in html and "Unsubscribe jo@example.org" in html
        assert 'name="List-Unsubscribe" value="One-Click"' in html
    assert await status_of(conn, "echronicle", "jo@example.org") == "active"


async def test_one_click_post(client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    token = await token_of(conn, "jo@example.org")
    # What a mailbox provider sends: no cookie, no CSRF token, just the RFC 8058 body.
    resp = await client.post(f"/u/{token}", data=ONE_CLICK, allow_redirects=False)
    assert resp.status == 200
    assert "Set-Cookie" not in resp.headers
    assert "is unsubscribed from echronicle" in await resp.text()
    assert await status_of(conn, "echronicle", "jo@example.org") == "unsubscribed"
    assert await status_of(conn, "echronicle", "luc@example.ca") == "active"
    again = await client.post(f"/u/{token}", data=ONE_CLICK)
    assert again.status == 200
    page = await client.get(f"/u/{token}")
    assert "<button" not in await page.text()


async def test_post_needs_the_one_click_body(client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    token = await token_of(conn, "jo@example.org")
    assert (await client.post(f"/u/{token}", data={})).status == 400
    assert (await client.post(f"/u/{token}",
                              data={"List-Unsubscribe": "Yes"})).status == 400
    assert await status_of(conn, "echronicle", "jo@example.org") == "active"


@pytest.mark.parametrize(("content_type", "body"), [
    ("multipart/form-data; boundary=xx", b"--xx\r\nbroken"),
    ("multipart/form-data", b"List-Unsubscribe=One-Click"),
    ("application/x-www-form-urlencoded; charset=nonesuch", b"List-Unsubscribe=One-Click"),
], ids=["broken-multipart", "no-boundary", "unknown-charset"])
async def test_malformed_one_click_body_is_400(client: TestClient, conn: Connection,  # type: ignore[type-arg]
                                               content_type: str, body: bytes) -> None:
    token = await token_of(conn, "jo@example.org")
    resp = await client.post(f"/u/{token}", data=body, headers={"Content-Type": content_type})
    assert resp.status == 400
    assert await status_of(conn, "echronicle", "jo@example.org") == "active"


async def test_unknown_token(client: TestClient) -> None:  # type: ignore[type-arg]
    unknown = "A" * 24
    assert (await client.get(f"/u/{unknown}")).status == 404
    assert (await client.post(f"/u/{unknown}", data=ONE_CLICK)).status == 404


async def test_french_member_page(client: TestClient, conn: Connection) -> None:  # type: ignore[type-arg]
    token = await token_of(conn, "luc@example.ca")
    html = await (await client.get(f"/u/{token}")).text()
    assert '<html lang="fr">' in html
    assert "Désabonner luc@example.ca de echronicle?" in html
    assert "Me désabonner" in html
    done = await (await client.post(f"/u/{token}", data=ONE_CLICK)).text()
    assert "est désabonnée de echronicle" in done
