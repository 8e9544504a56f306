"""aiosmtpd's SMTP and LMTP sessions for the list: cheap plain paths, long lines, XFORWARD.

Plain paths: aiosmtpd 1.4.6 parses every path with the RFC 5322 header parser and
defines a typing.Protocol class on each call: about 45 us per command, 90 us per
post, plus the garbage those classes leave. Skipping it took `serve`'s event-loop
CPU from about 650 to 460 us per post under the ingest benchmark. Nearly every
path is a plain `<local@domain>` (dot-atom local part, ASCII host name), for which
the parser's answer is the text between the brackets. Only those take the short
way; anything else (quoting, comments, encoded words, source routes, IP literals,
UTF-8, the null path) goes to aiosmtpd's own parser, so the answers are the same.
tests/test_protocol.py checks that on a table and on generated paths.

Long lines: aiosmtpd refuses a DATA line over 1,000 octets with a bare `500 Line
too long`. Postfix accepts them and mail programs send them, so a post's lines
may be as long as the post itself; the list copy re-encodes them
(ccrlist/copies/long_lines.py). A post over `[limits] max_message_bytes` gets
`552 5.3.4` instead of aiosmtpd's answers without an enhanced status code.

XFORWARD: behind Postfix's before-queue proxy every session comes from Postfix;
a peer in `[auth] trusted_relays` is offered XFORWARD and names the real client
with it (ccrlist/intake/xforward.py), for SPF and the log.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any, AnyStr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import DATA_SIZE_DEFAULT, Envelope, syntax

from ccrlist.intake import replies
from ccrlist.intake.idle import IdleTimeout
from ccrlist.intake.post import SIMPLE_ADDRESS
from ccrlist.intake.xforward import ATTRIBUTES, Forwarded, XforwardError, parse_xforward

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# `<address>`; what follows is checked in `plain_path`.
_PLAIN_PATH = re.compile(rf"<({SIMPLE_ADDRESS.pattern})>")


def plain_path(arg: str, local_part_limit: int) -> tuple[str, str] | None:
    """(address, parameters) for a plain `<local@domain>` path, else None (parse it fully)."""
    match = _PLAIN_PATH.match(arg)
    if match is None:
        return None
    address = match.group(1)
    if "=?" in address:
        return None  # aiosmtpd decodes an RFC 2047 word in a local part; let it
    if local_part_limit and address.index("@") > local_part_limit:
        return None  # aiosmtpd refuses it; let it say so
    rest = arg[match.end():]
    if rest[:1] in (" ", "\t"):
        rest = rest.lstrip()  # as aiosmtpd's parser skips folding white space (str.lstrip)
        if not rest:
            return None
    if rest[:1] == "(":
        return None  # a comment: aiosmtpd's parser skips it
    return address, rest


# aiosmtpd's own answers to a post that is too big, which carry no enhanced status code.
# Its answer to a line longer than its reader's limit is one of them: that limit is set
# past the size limit (see `_ListSession`).
_AIOSMTPD_TOO_BIG = frozenset({
    "500 Line too long (see RFC5321 4.5.3.1.6)",
    "552 Error: Too much mail data",
    "552 Error: message size exceeds fixed maximum message size",
})


class ListEnvelope(Envelope):
    """aiosmtpd's envelope, with what XFORWARD said about the client.

    aiosmtpd starts a new envelope after each DATA, RSET and EHLO, which is exactly
    when XFORWARD attributes end (XFORWARD_README: "at the end of the next MAIL FROM
    transaction, i.e. RSET or DOT").
    """

    def __init__(self) -> None:
        super().__init__()
        self.forwarded: Forwarded | None = None


class _ListSession(IdleTimeout):
    """What the SMTP and the LMTP session share (the idle timeout among it)."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        # Read lines as long as a whole post may be (and its CRLF and transparency dot).
        size = kwargs.get("data_size_limit", DATA_SIZE_DEFAULT) or DATA_SIZE_DEFAULT
        self.line_length_limit = size + 3
        super().__init__(handler, **kwargs)

    def _create_envelope(self) -> ListEnvelope:
        return ListEnvelope()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        return plain_path(arg, self.local_part_limit) or super()._getaddr(arg)

    def connection_lost(self, error: Exception | None) -> None:
        """A client that hangs up or resets without QUIT (a port probe, a client that gave
        up) is an ordinary end of a session. Handed on as an error, it would sit unread in
        asyncio's close waiter and be logged as a traceback when that is collected."""
        super().connection_lost(None if isinstance(error, ConnectionError) else error)

    async def push(self, status: AnyStr) -> None:
        if status in _AIOSMTPD_TOO_BIG:
            await super().push(replies.TOO_BIG)
        else:
            await super().push(status)


class ListSMTP(_ListSession):
    """An SMTP session; a trusted relay may say who its client was (XFORWARD)."""

    def __init__(self, handler: Any, *, forwarders: Sequence[Network] = (),
                 **kwargs: Any) -> None:
        self._forwarders = tuple(forwarders)
        self._greeting = False
        super().__init__(handler, **kwargs)

    def may_forward(self) -> bool:
        """Whether the peer is a trusted relay (`[auth] trusted_relays`)."""
        peer = self.session.peer if self.session is not None else None
        if not self._forwarders or not isinstance(peer, tuple):
            return False
        try:
            address = ipaddress.ip_address(peer[0])
        except ValueError:
            return False
        return any(address in network for network in self._forwarders)

    async def smtp_EHLO(self, hostname: str) -> None:
        self._greeting = self.may_forward()
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._greeting = False

    async def push(self, status: AnyStr) -> None:
        # aiosmtpd's EHLO reply ends with "250 HELP"; XFORWARD goes in just before it.
        if self._greeting and status == "250 HELP":
            await super().push("250-XFORWARD " + " ".join(ATTRIBUTES))
        await super().push(status)

    @syntax("XFORWARD attribute=value ...")
    async def smtp_XFORWARD(self, arg: str | None) -> None:
        if await self.check_helo_needed("EHLO"):
            return
        if not self.may_forward():
            await self.push(replies.XFORWARD_REFUSED)
            return
        envelope = self.envelope
        assert isinstance(envelope, ListEnvelope)
        if envelope.mail_from:
            await self.push(replies.XFORWARD_IN_TRANSACTION)
            return
        try:
            envelope.forwarded = parse_xforward(arg or "", envelope.forwarded)
        except XforwardError as exc:
            await self.push(replies.XFORWARD_BAD.format(reason=exc))
            return
        await self.push(replies.XFORWARD_OK)


class ListLMTP(_ListSession, LMTP):
    """An LMTP session (Postfix's lmtp transport)."""
