"""The member's own page at /u/<token> over real HTTP: what it shows, that a GET changes
nothing, that its form needs the CSRF field, what it saves, and that the RFC 8058
one-click POST still unsubscribes on the same URL."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from webkit import FakeClock, status_of

from ccrlist.config.settings import Settings, WebSettings
from ccrlist.digests.schedule import day_start, local_day
from ccrlist.web.app import make_app
from subscribers.db import Connection, open_database
from subscribers.members import MemberStore
from subscribers.models import Delivery, Member, NewMember

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, web=WebSettings(base_url="http://127.0.0.1/"))


@pytest.fixture
async def conn(web_settings: Settings) -> AsyncIterator[Connection]:
    c = await open_database(web_settings.database_path)
    store = MemberStore(c)
    await store.add("ccrlist", [NewMember("jo@example.org", "Jo", "en"),
                                NewMember("luc@example.ca", "Luc", "fr")])
    await store.add("echronicle", [NewMember("jo@example.org")])
    yield c
    await c.close()


@pytest.fixture
async def client(conn: Connection, web_settings: Settings) -> AsyncIterator[Client]:
    # The page reads "today" from the app's clock; SQLite's own clock ends pauses.
    app = make_app(conn, web_settings, b"s" * 32, FakeClock(time.time()))
    async with TestClient(TestServer(app)) as c:
        yield c


async def member(conn: Connection, address: str = "jo@example.org",
                 list_name: str = "ccrlist") -> Member:
    found = await MemberStore(conn).find_member(list_name, address)
    assert found is not None
    return found


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def today() -> date:
    """Today where the digests' clock is ([digest] timezone), as the page counts days."""
    return local_day(time.time(), ZoneInfo("America/Toronto"))


def tomorrow_plus(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


async def open_page(client: Client, token: str) -> str:
    resp = await client.get(f"/u/{token}")
    assert resp.status == 200
    return unescape(await resp.text())


async def save(client: Client, token: str, **fields: str) -> tuple[int, str]:
    page = await open_page(client, token)
    resp = await client.post(f"/u/{token}",
                             data={"csrf": csrf_of(page), "action": "save", **fields})
    return resp.status, unescape(await resp.text())


async def test_the_page_shows_how_the_member_receives_the_list(client: Client,
                                                               conn: Connection) -> None:
    jo = await member(conn)
    html = await open_page(client, jo.token)
    assert "<title>Your subscription to ccrlist</title>" in html
    assert "How jo@example.org receives ccrlist." in html
    assert 'id="mode-each" name="mode" value="each" checked' in html
    assert "One digest a day, at 8:00 (America/Toronto)" in html
    assert "One digest a week, on Monday at 8:00 (America/Toronto)" in html
    assert 'id="format-mime" name="format" value="mime" checked' in html
    assert 'name="pause" value="yes">' in html  # not checked
    assert f'min="{tomorrow_plus(1)}"' in html
    assert '<option value="en" selected>English</option>' in html
    # The one-click unsubscribe form is there too, without a CSRF field.
    assert 'name="List-Unsubscribe" value="One-Click"' in html
    assert "Unsubscribe jo@example.org from ccrlist?" in html


async def test_a_get_never_changes_anything(client: Client, conn: Connection) -> None:
    jo = await member(conn)
    for query in ("", "?mode=daily&action=save", "?List-Unsubscribe=One-Click",
                  "?pause=yes&lang=fr"):
        resp = await client.get(f"/u/{jo.token}{query}")
        assert resp.status == 200
    assert await member(conn) == jo
    assert (await client.head(f"/u/{jo.token}?mode=weekly")).status == 200
    assert await member(conn) == jo


async def test_saving_needs_the_csrf_field_its_cookie_and_our_origin(
        client: Client, conn: Connection) -> None:
    jo = await member(conn)
    html = await open_page(client, jo.token)
    token = csrf_of(html)
    fields = {"action": "save", "mode": "daily"}
    assert (await client.post(f"/u/{jo.token}", data=fields)).status == 403
    assert (await client.post(f"/u/{jo.token}",
                              data={**fields, "csrf": "0" * 64})).status == 403
    foreign = await client.post(f"/u/{jo.token}", data={**fields, "csrf": token},
                                headers={"Origin": "https://evil.example"})
    assert foreign.status == 403
    assert "This form has expired or was sent from another site" in await foreign.text()
    # A field made for another member's page does not fit this one.
    luc = await member(conn, "luc@example.ca")
    assert (await client.post(f"/u/{luc.token}", data={**fields, "csrf": token})).status == 403
    client.session.cookie_jar.clear()
    assert (await client.post(f"/u/{jo.token}", data={**fields, "csrf": token})).status == 403
    assert await member(conn) == jo
    assert await member(conn, "luc@example.ca") == luc


async def test_saving_mode_format_pause_and_language(client: Client, conn: Connection,
                                                     web_settings: Settings) -> None:
    jo = await member(conn)
    status, html = await save(client, jo.token, mode="weekly", format="plain", lang="en")
    assert status == 200
    assert "Saved. You receive one digest a week, in plain text." in html
    assert 'id="mode-weekly" name="mode" value="weekly" checked' in html
    saved = await member(conn)
    assert saved.delivery == Delivery("weekly", None, "weekly", "plain")
    until = tomorrow_plus(10)
    status, html = await save(client, jo.token, mode="weekly", format="plain",
                              pause="yes", pause_until=until, lang="fr")
    assert status == 200
    assert '<html lang="fr">' in html  # the page is now in the member's new language
    assert "C'est enregistré. La réception est suspendue jusqu'au" in html
    assert f'value="{until}"' in html
    paused = await member(conn)
    assert paused.lang == "fr"
    assert paused.delivery == Delivery(
        "nomail", day_start(date.fromisoformat(until), web_settings.digest.zone), "weekly",
        "plain")
    # Unticking the pause resumes, in the mode chosen before it.
    status, html = await save(client, jo.token, mode="weekly", format="plain", lang="fr")
    assert (await member(conn)).delivery == Delivery("weekly", None, "weekly", "plain")
    # A pause with no end date.
    await save(client, jo.token, mode="daily", format="mime", pause="yes", lang="en")
    assert (await member(conn)).delivery == Delivery("nomail", None, "daily", "mime")
    assert "Delivery is paused." in await open_page(client, jo.token)


@pytest.mark.parametrize("fields", [
    {"mode": "hourly"}, {"format": "html"}, {"lang": "de"},
    {"pause": "yes", "pause_until": today().isoformat()},
    {"pause_until": "2020-01-01"}, {"pause_until": "next week"},
    {"pause_until": "2027-02-30"},
])
async def test_a_bad_choice_is_400_and_changes_nothing(client: Client, conn: Connection,
                                                       fields: dict[str, str]) -> None:
    jo = await member(conn)
    status, html = await save(client, jo.token, **fields)
    assert status == 400
    assert 'role="alert"' in html and "<form" in html
    assert await member(conn) == jo


async def test_one_click_still_unsubscribes_on_the_same_url(client: Client,
                                                            conn: Connection) -> None:
    jo = await member(conn)
    resp = await client.post(f"/u/{jo.token}", data=ONE_CLICK, allow_redirects=False)
    assert resp.status == 200 and "Set-Cookie" not in resp.headers
    assert await status_of(conn, "ccrlist", "jo@example.org") == "unsubscribed"
    html = await open_page(client, jo.token)
    assert "is unsubscribed from ccrlist" in html and "<form" not in html
    # The page's own form cannot touch an unsubscribed membership.
    resp = await client.post(f"/u/{jo.token}", data={"action": "save", "mode": "daily"})
    assert resp.status == 409
    assert await status_of(conn, "echronicle", "jo@example.org") == "active"


async def test_newsletter_subscribers_get_language_and_unsubscribe_only(
        client: Client, conn: Connection) -> None:
    jo = await member(conn, list_name="echronicle")
    html = await open_page(client, jo.token)
    assert 'name="mode"' not in html and 'name="pause"' not in html
    assert 'name="lang"' in html and 'value="One-Click"' in html
    status, html = await save(client, jo.token, lang="fr", mode="daily", pause="yes")
    assert status == 200
    saved = await member(conn, list_name="echronicle")
    assert saved.lang == "fr"
    assert saved.delivery == Delivery()  # what the page does not offer is not taken


async def test_a_disabled_membership_shows_why_and_no_form(client: Client,
                                                           conn: Connection) -> None:
    jo = await member(conn)
    await MemberStore(conn).set_status("ccrlist", "jo@example.org", "disabled")
    html = await open_page(client, jo.token)
    assert "receives no mail from ccrlist at the moment" in html
    assert "ccrlist-owner@lists.example.org" in html and "<form" not in html


async def test_unknown_tokens_and_bad_bodies(client: Client, conn: Connection) -> None:
    unknown = "A" * 24
    assert (await client.get(f"/u/{unknown}")).status == 404
    assert (await client.post(f"/u/{unknown}", data={"action": "save"})).status == 404
    jo = await member(conn)
    assert (await client.post(f"/u/{jo.token}", data=b"--x\r\nbroken",
                              headers={"Content-Type": "multipart/form-data; boundary=x"}
                              )).status == 400
    assert await member(conn) == jo


async def test_french_page(client: Client, conn: Connection) -> None:
    luc = await member(conn, "luc@example.ca")
    html = await open_page(client, luc.token)
    assert '<html lang="fr">' in html
    assert "Votre abonnement à ccrlist" in html
    assert "Un condensé par semaine, le lundi à 8:00 (America/Toronto)" in html
    assert "Désabonner luc@example.ca de ccrlist?" in html
