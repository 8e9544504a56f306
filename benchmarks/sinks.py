"""Shared by the benchmarks: a free loopback port, and the bare aiosmtpd sink baseline."""

from __future__ import annotations

import asyncio
import signal
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_sink(port: int, plain_paths: bool = False) -> None:
    """aiosmtpd answering 250 to everything and storing nothing, until SIGTERM.

    With `plain_paths`, its sessions read MAIL FROM and RCPT TO the way ccrlist's do
    (`ccrlist.protocol`): the like-for-like baseline for the ingest benchmark.
    """
    from aiosmtpd.smtp import SMTP

    session = SMTP
    if plain_paths:  # imported only then: the bare sink loads nothing of ours
        from ccrlist.intake.protocol import ListSMTP
        session = ListSMTP

    class Sink:
        async def handle_RCPT(self, server: object, session: object, envelope: object,
                              address: str, options: list[str]) -> str:
            envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
            return "250 OK"

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 OK"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: session(Sink(), enable_SMTPUTF8=True),
                                          "127.0.0.1", port)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())
