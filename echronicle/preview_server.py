"""Serve a preview folder on localhost with the standard library's HTTP server."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_server(folder: Path, port: int) -> ThreadingHTTPServer:
    """A server for `folder` bound to 127.0.0.1 only; port 0 picks a free one."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve_forever(folder: Path, port: int, announce: Callable[[str], None]) -> None:
    """Serve until interrupted (Ctrl-C)."""
    with make_server(folder, port) as server:
        announce(f"http://127.0.0.1:{server.server_address[1]}/")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
