"""Test helpers for the archive: `ccrlist serve` with its web app at a known base_url, an
HTTP client that keeps cookies, signing in through the mail the relay receives."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from ccrlist_helpers import (
    RecordingRelay,
    Running,
    free_port,
    make_settings,
    serving,
    wait_for,
)

from ccrlist.config.settings import ArchivePolicy, ArchiveSettings, Settings, WebSettings

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
MEMBERS = ("alice@example.org", "bob@example.org")


def archive_settings(tmp_path: Path, relay_port: int, policy: ArchivePolicy = "members",
                     **archive: Any) -> Settings:
    """Test settings whose web app listens where its base_url says (cookies need it)."""
    port = free_port()
    base = make_settings(tmp_path, relay_port)
    return dataclasses.replace(
        base, web=WebSettings(port=port, base_url=f"http://127.0.0.1:{port}/"),
        archive=ArchiveSettings(policy=policy, **archive))


@asynccontextmanager
async def archive_server(settings: Settings, relay: RecordingRelay,
                         members: tuple[str, ...] = MEMBERS) -> AsyncIterator[Running]:
    async with serving(settings, relay, members=members) as running:
        yield running


def client() -> aiohttp.ClientSession:
    """A browser-like client: keeps cookies (for an IP host too), follows no redirects."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def url(settings: Settings, path: str) -> str:
    return settings.web.base_url + path.lstrip("/")


async def get(http: aiohttp.ClientSession, address: str) -> tuple[int, str]:
    async with http.get(address, allow_redirects=False) as response:
        return response.status, await response.text()


def signin_links(relay: RecordingRelay, address: str) -> list[str]:
    """The sign-in links mailed to `address`, oldest first."""
    links: list[str] = []
    for delivered in relay.messages:
        if address not in delivered.rcpt_tos:
            continue
        msg = email.message_from_bytes(delivered.content, policy=email.policy.default)
        if "archive" not in str(msg["Subject"]):
            continue
        body = msg.get_body(("plain",))
        assert body is not None
        links += re.findall(r"https?://\S+/signin/[A-Za-z0-9_-]+", str(body.get_content()))
    return links


async def request_link(http: aiohttp.ClientSession, settings: Settings, address: str,
                       list_name: str = "ccrlist") -> str:
    """Fill in the sign-in form; returns the page that answers."""
    form_url = url(settings, f"archive/{list_name}/signin")
    _, page = await get(http, form_url)
    token = CSRF.search(page)
    assert token, page
    async with http.post(form_url, data={"email": address, "csrf": token.group(1),
                                         "next": ""}) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def sign_in(http: aiohttp.ClientSession, settings: Settings, relay: RecordingRelay,
                  address: str, list_name: str = "ccrlist", timeout: float = 10.0) -> str:
    """Sign in as a visitor would: ask for a link, open the mail, press the button.
    Returns the address the session ended up at (the Location of the 303)."""
    before = len(signin_links(relay, address))
    await request_link(http, settings, address, list_name)
    await wait_for(lambda: len(signin_links(relay, address)) > before, timeout=timeout,
                   what=f"the sign-in mail to {address}")
    link = signin_links(relay, address)[-1]
    status, page = await get(http, link)
    assert status == 200, page
    token = CSRF.search(page)
    assert token, page
    async with http.post(link, data={"csrf": token.group(1)},
                         allow_redirects=False) as response:
        assert response.status == 303, await response.text()
        return response.headers["Location"]
