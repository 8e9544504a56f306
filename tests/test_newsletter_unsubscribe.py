"""End to end: the unsubscribe links of a published newsletter work in the web app: each copy's
own one-click link (RFC 8058), and the public web copy's link to the page for anyone."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import re
import shutil
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from bs4 import BeautifulSoup
from click.testing import CliRunner
from webkit import confirm_token, queued, status_of

from ccrlist.config.settings import Settings, WebSettings
from ccrlist.web.app import BACKGROUND, make_app
from echronicle.commands import chronicle
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember

ROOT = Path(__file__).resolve().parent.parent


async def test_one_click_from_a_delivered_newsletter(settings: Settings) -> None:
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ROOT / "issues" / "vol12-2.md", settings.issues_dir / "vol12-2.md")
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).add("echronicle", [NewMember("ana@example.org"),
                                                   NewMember("bob@example.org")])
    finally:
        await conn.close()
    # `publish` runs its own event loop, so CliRunner runs it on a worker thread.
    result = await asyncio.to_thread(CliRunner().invoke, chronicle, ["publish", "vol12-2"],
                                     obj=settings)
    assert result.exit_code == 0, result.output
    delivered = {}
    for path in (settings.outbox_dir / "new").iterdir():
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        delivered[str(msg["Delivered-To"])] = msg
    header = str(delivered["ana@example.org"]["List-Unsubscribe"])
    match = re.match(r"<https://lists\.example\.org/(u/[A-Za-z0-9_-]+)>, "
                     r"<mailto:echronicle-leave@lists\.example\.org>$", header)
    assert match, header
    assert delivered["ana@example.org"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    conn = await open_database(settings.database_path)
    try:
        app = make_app(conn, settings, b"s" * 32)
        async with TestClient(TestServer(app)) as client:
            page = await client.get("/" + match.group(1))
            assert page.status == 200
            store = MemberStore(conn)
            member = await store.find_member("echronicle", "ana@example.org")
            assert member is not None and member.status == "active"  # a GET changes nothing
            response = await client.post("/" + match.group(1),
                                         data={"List-Unsubscribe": "One-Click"},
                                         allow_redirects=False)
            assert response.status == 200
        ana = await store.find_member("echronicle", "ana@example.org")
        bob = await store.find_member("echronicle", "bob@example.org")
        assert ana is not None and ana.status == "unsubscribed"
        assert bob is not None and bob.status == "active"
    finally:
        await conn.close()


async def test_the_public_web_copy_has_no_dead_link_to_the_web_app(settings: Settings) -> None:
    """`site/<id>/email.html` is for anyone: its unsubscribe link asks the web app's page where
    anyone can ask to leave, and that page works (a personal `/u/<token>` link would 404)."""
    # Plain http, so the test client sends the (otherwise Secure) form cookie back.
    settings = dataclasses.replace(settings, web=WebSettings(base_url="http://127.0.0.1/"))
    settings.issues_dir.mkdir(parents=True)
    for name in ("vol12-2.md", "vol12-2.fr.md"):
        shutil.copy(ROOT / "issues" / name, settings.issues_dir / name)
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).add("echronicle", [NewMember("ana@example.org", "", "en"),
                                                   NewMember("bob@example.org", "", "fr")])
    finally:
        await conn.close()
    result = await asyncio.to_thread(CliRunner().invoke, chronicle,
                                     ["publish", "vol12-2", "--no-send"], obj=settings)
    assert result.exit_code == 0, result.output
    base = settings.web.base_url
    links: dict[str, list[str]] = {}
    for lang, page in (("en", "vol12-2/email.html"), ("fr", "vol12-2/fr/email.html")):
        soup = BeautifulSoup((settings.site.output_dir / page).read_text("ascii"), "html.parser")
        links[lang] = [str(a["href"]) for a in soup.find_all("a", href=True)
                       if str(a["href"]).startswith(base)
                       and not str(a["href"]).startswith(settings.site.base_url)]
        assert links[lang], page
        assert not [href for href in links[lang] if "/u/" in href], links[lang]

    conn = await open_database(settings.database_path)
    try:
        app = make_app(conn, settings, b"s" * 32)
        async with TestClient(TestServer(app)) as client:
            for lang, hrefs in links.items():
                for href in hrefs:
                    page = await client.get("/" + href.removeprefix(base))
                    assert page.status == 200, href
                    assert f'<html lang="{lang}">' in await page.text()
            # Ana follows it from the English web copy, and confirms from her mailbox.
            form = await client.get("/" + links["en"][0].removeprefix(base))
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', await form.text())
            assert csrf is not None
            asked = await client.post("/" + links["en"][0].removeprefix(base).split("?")[0],
                                      data={"email": "ana@example.org", "lang": "en",
                                            "csrf": csrf.group(1)})
            assert asked.status == 200
            await app[BACKGROUND].drain()
            [(msg, rcpts)] = await queued(conn)
            assert rcpts == ["ana@example.org"]
            token = confirm_token(msg)
            page = await client.get(f"/confirm/{token}")
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', await page.text())
            assert csrf is not None
            done = await client.post(f"/confirm/{token}", data={"csrf": csrf.group(1)})
            assert done.status == 200
        assert await status_of(conn, "echronicle", "ana@example.org") == "unsubscribed"
        assert await status_of(conn, "echronicle", "bob@example.org") == "active"
    finally:
        await conn.close()
