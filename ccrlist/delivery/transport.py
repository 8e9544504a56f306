"""Hand messages to the outbound SMTP relay, or, with no relay, to a local Maildir.

A `Session` is one reusable connection; each delivery task holds its own.
`send` returns one SMTP reply per recipient and raises `TransportUnavailable`
when the relay cannot be reached or drops the connection mid-transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Protocol

import aiosmtplib
from aiosmtplib import SMTPResponse, SMTPStatus

from ccrlist.conditions import TransportUnavailable
from ccrlist.config.settings import RelaySettings, Settings


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class Session(Protocol):
    async def send(self, sender: str, recipients: Sequence[str], body: bytes) -> dict[str, Reply]:
        ...

    async def close(self) -> None:
        ...


class Transport(Protocol):
    def open(self) -> Session:
        ...

    def describe(self) -> str:
        ...


def _needs_utf8(*addresses: str) -> bool:
    return any(not a.isascii() for a in addresses)


# What our stores let in: no white space, quoting, comments, routes or brackets, so the
# path is `<address>` as it is. Anything else goes through aiosmtplib's own parser.
_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\]\\\",;:@]+@[^\s<>()\[\]\\\",;:@]+")


async def _transaction(smtp: aiosmtplib.SMTP, sender: str, recipients: Sequence[str],
                       body: bytes, utf8: bool) -> tuple[dict[str, SMTPResponse], str]:
    """MAIL, RCPT and DATA as `SMTP.sendmail` sends them (same errors, RSET after a refusal),
    for plain addresses. sendmail parses each address twice with the email package and
    normalises the message's line ends twice (once for SIZE): a quarter of the loop's
    time when every member gets a copy of their own."""
    encoding, options = "ascii", []
    if utf8:
        if not smtp.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
        encoding, options = "utf-8", [b"SMTPUTF8"]
    if smtp.supports_extension("size"):  # RFC 1870: the octets DATA sends, CRLF counted
        options.insert(0, b"SIZE=%d" % (len(body) + body.count(b"\n") - body.count(b"\r\n")))
    try:
        reply = await smtp.execute_command(b"MAIL", b"FROM:<" + sender.encode(encoding) + b">",
                                           *options)
        if reply.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, sender)
        refused: dict[str, SMTPResponse] = {}
        for recipient in recipients:
            reply = await smtp.execute_command(b"RCPT",
                                               b"TO:<" + recipient.encode(encoding) + b">")
            if reply.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
                refused[recipient] = reply
        if len(refused) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused([
                aiosmtplib.SMTPRecipientRefused(r.code, r.message, address)
                for address, r in refused.items()])
        response = await smtp.data(body)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await smtp.rset()
        raise
    return refused, response.message


class RelaySession:
    """One connection to the relay, opened lazily and reopened after a drop."""

    def __init__(self, relay: RelaySettings) -> None:
        self._relay = relay
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        relay = self._relay
        smtp = aiosmtplib.SMTP(
            hostname=relay.host, port=relay.port, timeout=relay.timeout,
            start_tls=relay.starttls, validate_certs=relay.starttls,
            tls_context=ssl.create_default_context() if relay.starttls else None,
        )
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:  # which extensions (SIZE, SMTPUTF8) the relay has
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError:
                await smtp.helo()
        if relay.username:
            await smtp.login(relay.username, relay.password)
        self._smtp = smtp
        return smtp

    async def send(self, sender: str, recipients: Sequence[str], body: bytes) -> dict[str, Reply]:
        utf8 = _needs_utf8(sender, *recipients)
        try:
            smtp = await self._connected()
            if all(_PLAIN_ADDRESS.fullmatch(a) for a in (sender, *recipients)):
                refused, message = await _transaction(smtp, sender, recipients, body, utf8)
            else:
                refused, message = await smtp.sendmail(sender, list(recipients), body,
                                                       mail_options=["SMTPUTF8"] if utf8 else [])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return {e.recipient: Reply(e.code, e.message) for e in exc.recipients}
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code in (421,) or exc.code < 400:
                await self._drop()
                raise TransportUnavailable(f"{exc.code} {exc.message}") from exc
            # MAIL or DATA refused: the same answer holds for every recipient.
            return {r: Reply(exc.code, exc.message) for r in recipients}
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._drop()
            raise TransportUnavailable(str(exc) or type(exc).__name__) from exc
        accepted = Reply(250, message)
        return {r: Reply(refused[r].code, refused[r].message) if r in refused else accepted
                for r in recipients}

    async def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()


class RelayTransport:
    def __init__(self, relay: RelaySettings) -> None:
        self._relay = relay

    def open(self) -> Session:
        return RelaySession(self._relay)

    def describe(self) -> str:
        return f"relay {self._relay.host}:{self._relay.port}"


class MaildirSession:
    """Writes one file per recipient into the outbox Maildir, envelope in the headers."""

    def __init__(self, folder: Path) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)  # Maildir creates one level only
        self._box = mailbox.Maildir(folder, create=True)

    async def send(self, sender: str, recipients: Sequence[str], body: bytes) -> dict[str, Reply]:
        return await asyncio.to_thread(self._write, sender, recipients, body)

    def _write(self, sender: str, recipients: Sequence[str], body: bytes) -> dict[str, Reply]:
        eol = "\r\n" if b"\r\n" in body[:4096] else "\n"
        replies: dict[str, Reply] = {}
        for recipient in recipients:
            envelope = eol.join([f"Return-Path: <{sender}>", f"Delivered-To: {recipient}",
                                 f"X-Outbox-Date: {formatdate(usegmt=True)}", ""])
            try:
                key = self._box.add(envelope.encode("utf-8") + body)
            except OSError as exc:
                raise TransportUnavailable(f"cannot write to the outbox Maildir: {exc}") from exc
            replies[recipient] = Reply(250, f"written to outbox as {key}")
        return replies

    async def close(self) -> None:
        return None


class MaildirTransport:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def open(self) -> Session:
        return MaildirSession(self._folder)

    def describe(self) -> str:
        return f"Maildir {self._folder}"


def make_transport(settings: Settings) -> Transport:
    """The relay when one is configured, else the outbox Maildir under data_dir."""
    if settings.relay is not None:
        return RelayTransport(settings.relay)
    return MaildirTransport(settings.outbox_dir)
