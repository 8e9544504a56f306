"""The door of a listener: each new connection is counted in, or told at once that it must
wait (one line) and closed, before the real protocol (aiosmtpd, aiohttp) sees it.

A refused connection costs a descriptor for one turn of the loop and a few bytes; it
starts no session, no task and no timer, so a flood cannot hold what it was refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ccrlist.admission.flood import FloodLog
from ccrlist.admission.limits import ConnectionCounter, Refusal

ProtocolFactory = Callable[[], asyncio.Protocol]


@dataclass
class Door:
    """One listener's limits, what it says to those it refuses, and where it counts them."""

    name: str  # "SMTP", "web"
    counter: ConnectionCounter
    refusals: Mapping[Refusal, bytes]  # the bytes sent before closing
    flood: FloodLog
    # What the log calls each refusal, e.g. "over [server] max_connections_per_ip (20)".
    reasons: Mapping[Refusal, str]

    def factory(self, make: ProtocolFactory) -> ProtocolFactory:
        """A protocol factory for `loop.create_server` that lets `make`'s protocol in or not."""
        return lambda: Gate(self, make)


class Gate(asyncio.Protocol):
    """Stands in front of one connection's protocol and hands everything on to it."""

    def __init__(self, door: Door, make: ProtocolFactory) -> None:
        self._door = door
        self._make = make
        self._inner: asyncio.Protocol | None = None
        self._key = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        ip = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        key, refusal = self._door.counter.admit(ip)
        if refusal is not None:
            self._door.flood.note(f"{self._door.name} connection refused: "
                                  f"{self._door.reasons[refusal]}", key)
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(self._door.refusals[refusal])
            transport.close()
            return
        self._key = key
        self._inner = self._make()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is not None:
            self._door.counter.release(self._key)
            inner, self._inner = self._inner, None
            inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()
