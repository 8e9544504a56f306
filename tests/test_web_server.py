"""`run_web` on a real loopback socket; the new settings load strictly and are documented."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
from pathlib import Path

import aiohttp
import pytest

from ccrlist.config.parse import parse_settings
from ccrlist.config.settings import (
    BounceSettings,
    CommandSettings,
    Settings,
    SettingsError,
    WebSettings,
)
from ccrlist.web.app import run_web
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember

README_SECTION = Path(__file__).parent.parent / "README.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_run_web_serves_until_stopped(settings: Settings) -> None:
    port = free_port()
    s = dataclasses.replace(settings, web=WebSettings(port=port))
    conn = await open_database(s.database_path)
    await MemberStore(conn).add("echronicle", [NewMember("jo@example.org")])
    member = await MemberStore(conn).find_member("echronicle", "jo@example.org")
    assert member is not None
    stop = asyncio.Event()
    task = asyncio.create_task(run_web(s, stop))
    url = f"http://127.0.0.1:{port}/u/{member.token}"
    async with aiohttp.ClientSession() as http:
        for _ in range(200):  # bounded wait for the listener
            try:
                async with http.get(url) as resp:
                    assert resp.status == 200
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.02)
        else:
            pytest.fail("web server did not start")
        async with http.post(url, data={"List-Unsubscribe": "One-Click"},
                             allow_redirects=False) as resp:
            assert resp.status == 200
    after = await MemberStore(conn).find_member("echronicle", "jo@example.org")
    assert after is not None and after.status == "unsubscribed"
    await conn.close()
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert (s.data_dir / "web-secret").stat().st_mode & 0o777 == 0o600
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_settings_tables_load_strictly() -> None:
    s = parse_settings({"web": {"port": 9090, "base_url": "https://x.org/lists/",
                                "token_days": 2, "trusted_proxies": ["127.0.0.1"]},
                        "bounces": {"threshold": 5, "window_days": 10},
                        "commands": {"replies_per_day": 2}}, "t.toml")
    assert s.web.port == 9090 and s.web.token_days == 2.0
    assert s.bounces == BounceSettings(threshold=5, window_days=10.0)
    assert s.commands == CommandSettings(replies_per_day=2)
    with pytest.raises(SettingsError, match=r"unknown setting 'web\.prot'"):
        parse_settings({"web": {"prot": 1}}, "t.toml")
    with pytest.raises(SettingsError, match=r"'bounces\.threshold' must be an integer"):
        parse_settings({"bounces": {"threshold": "3"}}, "t.toml")
    assert parse_settings({"web": {"trusted_proxies": ["10.0.0.0/8", "::1"]}},
                          "t.toml").web.trusted_proxies == ("10.0.0.0/8", "::1")
    with pytest.raises(SettingsError, match=r"'web\.trusted_proxies': 'proxy\.lan' is not"):
        parse_settings({"web": {"trusted_proxies": ["proxy.lan"]}}, "t.toml")


@pytest.mark.parametrize("table", [WebSettings, BounceSettings, CommandSettings])
def test_every_setting_is_documented(table: type) -> None:
    section = {WebSettings: "web", BounceSettings: "bounces", CommandSettings: "commands"}[table]
    text = README_SECTION.read_text(encoding="utf-8")
    for f in dataclasses.fields(table):
        assert re.search(rf"`\[{section}\] {f.name}`", text), f"[{section}] {f.name} undocumented"
