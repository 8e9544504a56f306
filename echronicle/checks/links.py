"""`chronicle check --links`: ask every http(s) link whether it answers (network I/O).

With no network (no name resolves), the check is skipped with a clear note
rather than reporting every link as broken.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

CONCURRENCY = 8
TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class LinkReport:
    broken: tuple[tuple[str, str], ...]  # (url, why)
    checked: int
    skipped_reason: str = ""


async def _resolves(host: str) -> bool:
    try:
        await asyncio.get_running_loop().getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError, OSError):
        return False
    return True


async def _status(session: aiohttp.ClientSession, url: str) -> str:
    """'' when the link answers with a success or redirect, else why not."""
    try:
        async with session.head(url, allow_redirects=True) as response:
            status = response.status
        if status in (405, 501):  # some servers refuse HEAD; ask with GET
            async with session.get(url, allow_redirects=True) as response:
                status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        return str(exc) or type(exc).__name__
    return "" if status < 400 else f"HTTP {status}"


async def check_links(urls: Sequence[str], timeout: float = TIMEOUT_SECONDS) -> LinkReport:
    """Check each distinct http(s) URL once, a few at a time."""
    targets = sorted({u for u in urls if urlsplit(u).scheme in ("http", "https")})
    hosts = sorted({urlsplit(u).hostname or "" for u in targets})
    if not targets:
        return LinkReport((), 0)
    resolved = await asyncio.gather(*(_resolves(h) for h in hosts))
    if not any(resolved):
        return LinkReport((), 0, "no network: none of the link hosts resolve")
    limit = asyncio.Semaphore(CONCURRENCY)
    client_timeout = aiohttp.ClientTimeout(total=timeout)

    async with aiohttp.ClientSession(timeout=client_timeout) as session:

        async def one(url: str) -> tuple[str, str]:
            async with limit:
                return url, await _status(session, url)

        results = await asyncio.gather(*(one(u) for u in targets))
    broken = tuple((url, why) for url, why in results if why)
    return LinkReport(broken, len(targets))
