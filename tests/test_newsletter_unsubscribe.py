"""End to end: the unsubscribe link in a published newsletter works in the web app (RFC 8058)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import shutil
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from ccrlist.config.settings import Settings
from ccrlist.web.app import make_app
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
