"""End to end: DKIM, SPF and DMARC on real SMTP into `serve`, DNS answered by a stub server.

The stub zone publishes a test key made here, SPF and DMARC records; the
client connects from 127.0.0.1, which is the IP the SPF records name or not.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from authkit import DkimTestKey, make_key, sign
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    add_members,
    make_settings,
    start_relay,
    wait_for,
)
from dnsstub import StubDns

from ccrlist.config.settings import AuthSettings, Settings
from ccrlist.intake import replies
from ccrlist.server import serve
from subscribers.db import open_database
from subscribers.members import MemberStore

ALICE = "alice@reject.example"  # p=reject, signs with KEY, SPF names another IP
BOB = "bob@spf.example"  # p=reject, no signature, SPF passes for mail.spf.example
CAROL = "carol@quarantine.example"  # p=quarantine, nothing passes
DAN = "dan@nodmarc.example"  # no DMARC record
ERIN = "erin@slow.example"  # its DMARC lookup never gets an answer
MEMBERS = [ALICE, BOB, CAROL, DAN, ERIN]


@pytest.fixture(scope="module")
def key() -> DkimTestKey:
    return make_key()


@pytest.fixture
def dns(key: DkimTestKey) -> Iterator[StubDns]:
    stub = StubDns().start()
    stub.add("sel._domainkey.reject.example", "TXT", key.record)
    stub.add("_dmarc.reject.example", "TXT", "v=DMARC1; p=reject; rua=mailto:d@reject.example")
    stub.add("reject.example", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    stub.add("_dmarc.spf.example", "TXT", "v=DMARC1; p=reject")
    stub.add("mail.spf.example", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    stub.add("_dmarc.quarantine.example", "TXT", "v=DMARC1; p=quarantine")
    stub.add("quarantine.example", "TXT", "v=spf1 -all")
    stub.add("nodmarc.example", "TXT", "v=spf1 ip4:192.0.2.1 ~all")
    stub.add("slow.example", "TXT", "v=spf1 -all")
    stub.silent.add("_dmarc.slow.example")
    yield stub
    stub.stop()


@dataclass
class Running:
    settings: Settings
    port: int
    relay: RecordingRelay

    def posts(self) -> list[tuple[str, str, bytes, str]]:
        with sqlite3.connect(self.settings.database_path) as conn:
            return [(r[0], r[1], bytes(r[2]), r[3]) for r in conn.execute(
                "SELECT status, reason, raw, dmarc_policy FROM posts ORDER BY id")]


@asynccontextmanager
async def running(tmp_path: Path, dns: StubDns,
                  trusted: tuple[str, ...] = ()) -> AsyncIterator[Running]:
    relay = RecordingRelay()
    controller: Controller = start_relay(relay)
    auth = AuthSettings(lists={"moderated": "hold"}, nameservers=(dns.address,), timeout=0.5,
                        trusted_relays=trusted)
    settings = make_settings(tmp_path, controller.port, auth=auth)
    await add_members(settings, MEMBERS)
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).create_list("moderated", "subscribers")
    finally:
        await conn.close()
    await add_members(settings, MEMBERS, "moderated")
    stop = asyncio.Event()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, on_listening=listening.set_result))
    try:
        port = await asyncio.wait_for(listening, 10)
        yield Running(settings, port, relay)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        controller.stop()


@pytest.fixture
async def server(tmp_path: Path, dns: StubDns) -> AsyncIterator[Running]:
    async with running(tmp_path, dns) as r:
        yield r


def post(author: str, subject: str = "Hello", mid: str = "<1@example.org>",
         body: str = "Hi all.\r\n", extra: str = "", name: str = "Alice") -> bytes:
    return (f"{extra}From: {name} <{author}>\r\nTo: ccrlist@{DOMAIN}\r\nSubject: {subject}\r\n"
            f"Message-ID: {mid}\r\n\r\n{body}").encode()


async def send(port: int, raw: bytes, sender: str, list_name: str = "ccrlist",
               xforward: str = "") -> str:
    """The reply to DATA; with `xforward`, sent as a relay naming its client would."""
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10,
                           local_hostname="client.example")
    await smtp.connect()
    try:
        if xforward:
            await smtp.ehlo()
            answer = await smtp.execute_command(b"XFORWARD", xforward.encode())
            assert f"{answer.code} {answer.message}" == replies.XFORWARD_OK
        await smtp.mail(sender)
        await smtp.rcpt(f"{list_name}@{DOMAIN}")
        response = await smtp.data(raw)
        return f"{response.code} {response.message}"
    except aiosmtplib.SMTPResponseException as exc:
        return f"{exc.code} {exc.message}"
    finally:
        smtp.close()


def our_header(raw: bytes) -> str:
    """The topmost Authentication-Results, unfolded."""
    assert raw.startswith(f"Authentication-Results: {DOMAIN};".encode())
    msg = message_from_bytes(raw, policy=policy.compat32)
    return " ".join(str(msg.get_all("Authentication-Results")[0]).split())


async def test_signed_post_is_accepted_and_its_copy_rewritten(server: Running,
                                                              key: DkimTestKey) -> None:
    raw = sign(post(ALICE), "reject.example", key)
    assert await send(server.port, raw, ALICE) == replies.ACCEPTED
    [(status, _, stored, dmarc_policy)] = server.posts()
    assert (status, dmarc_policy) == ("accepted", "reject")
    results = our_header(stored)
    assert "dkim=pass header.d=reject.example" in results
    assert "spf=fail smtp.mailfrom=reject.example" in results
    assert "dmarc=pass (p=reject) header.from=reject.example" in results
    assert stored.endswith(raw)  # the post itself is kept byte for byte
    await wait_for(lambda: len(server.relay.recipients()) == len(MEMBERS), what="fan-out")
    copy = server.relay.messages[0].content
    msg = message_from_bytes(copy, policy=policy.default)
    assert msg["From"] == f"Alice via ccrlist <ccrlist@{DOMAIN}>"
    assert msg["Reply-To"] == f"Alice <{ALICE}>"
    assert msg["DKIM-Signature"] is None  # it covered the Subject we tagged
    assert msg["Subject"] == "[ccrlist] Hello"
    assert copy.endswith(b"\r\n\r\nHi all.\r\n")


@pytest.mark.parametrize("tamper", ["wrong key", "body changed", "subject changed"])
async def test_forged_or_altered_post_is_refused(server: Running, key: DkimTestKey,
                                                 tamper: str) -> None:
    if tamper == "wrong key":
        raw = sign(post(ALICE), "reject.example", make_key())
    elif tamper == "body changed":
        raw = sign(post(ALICE), "reject.example", key).replace(b"Hi all.", b"Send money.")
    else:
        raw = sign(post(ALICE), "reject.example", key).replace(b"Subject: Hello",
                                                               b"Subject: Urgent")
    assert await send(server.port, raw, ALICE) == replies.DMARC_FAILED
    assert server.posts() == []


async def test_spf_pass_with_relaxed_alignment_is_accepted(server: Running) -> None:
    reply = await send(server.port, post(BOB, name="Bob"), "bounce@mail.spf.example")
    assert reply == replies.ACCEPTED
    [(status, _, stored, _)] = server.posts()
    assert status == "accepted"
    results = our_header(stored)
    assert "spf=pass smtp.mailfrom=mail.spf.example" in results
    assert "dkim=none" in results
    assert "dmarc=pass (p=reject) header.from=spf.example" in results


async def test_unauthenticated_post_from_quarantine_domain_is_held(server: Running) -> None:
    reply = await send(server.port, post(CAROL, name="Carol"), CAROL, "moderated")
    assert reply == replies.HELD
    [(status, reason, stored, _)] = server.posts()
    assert (status, reason) == ("held", "dmarc")
    assert "dmarc=fail (p=quarantine) header.from=quarantine.example" in our_header(stored)
    # the same post to a list that enforces is refused
    reply = await send(server.port, post(CAROL, name="Carol", mid="<2@x>"), CAROL)
    assert reply == replies.DMARC_FAILED


async def test_domain_without_dmarc_is_accepted_marked_unauthenticated(
        server: Running) -> None:
    forged = f"Authentication-Results: {DOMAIN}; dkim=pass header.d=nodmarc.example\r\n"
    other = "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=x.example\r\n"
    reply = await send(server.port, post(DAN, name="Dan", extra=forged + other), DAN)
    assert reply == replies.ACCEPTED
    [(status, _, stored, dmarc_policy)] = server.posts()
    assert (status, dmarc_policy) == ("accepted", "")
    results = our_header(stored)
    assert "dkim=none" in results and "spf=softfail" in results
    assert "dmarc=none header.from=nodmarc.example" in results
    assert forged.encode() not in stored  # from outside: stripped before anything else
    assert other.encode() in stored
    await wait_for(lambda: len(server.relay.recipients()) == len(MEMBERS), what="fan-out")
    copy = message_from_bytes(server.relay.messages[0].content, policy=policy.default)
    assert copy["From"] == f"Dan <{DAN}>"  # no rewrite without a strict policy
    assert copy["Reply-To"] is None


async def test_dns_timeout_defers_and_stores_nothing(server: Running, dns: StubDns) -> None:
    reply = await send(server.port, post(ERIN, name="Erin"), ERIN)
    assert reply == replies.DNS_TEMPFAIL
    assert reply.startswith("451 4.4.3 ")
    assert server.posts() == []
    assert ("_dmarc.slow.example", "TXT") in dns.queries
    # once DNS answers again, the retry goes through
    dns.silent.clear()
    assert await send(server.port, post(ERIN, name="Erin"), ERIN) == replies.ACCEPTED


async def test_trusted_relay_results_are_honoured(tmp_path: Path, dns: StubDns) -> None:
    relayed = (f"Authentication-Results: {DOMAIN};\r\n dkim=pass header.d=reject.example;"
               " spf=none smtp.mailfrom=reject.example\r\n")
    async with running(tmp_path, dns, trusted=("127.0.0.0/8",)) as server:
        reply = await send(server.port, post(ALICE, extra=relayed), ALICE)
        assert reply == replies.ACCEPTED
        [(_, _, stored, dmarc_policy)] = server.posts()
        assert dmarc_policy == "reject"
        assert "dmarc=pass (p=reject)" in our_header(stored)
        assert relayed.encode() in stored  # kept below ours
        assert not [q for q in dns.queries if "_domainkey" in q[0]]  # not re-checked


async def test_untrusted_peer_cannot_claim_our_results(server: Running,
                                                       dns: StubDns) -> None:
    relayed = f"Authentication-Results: {DOMAIN}; dkim=pass header.d=reject.example\r\n"
    assert await send(server.port, post(ALICE, extra=relayed), ALICE) == replies.DMARC_FAILED
    assert server.posts() == []


@pytest.mark.parametrize("where", ["below the relay's Received", "next to the relay's"])
async def test_trusted_relay_results_are_not_believed_when_forged(
        tmp_path: Path, dns: StubDns, where: str) -> None:
    """A forged header (here hiding behind a leading comment) that came with the message,
    below the Received field our relay added, or beside the relay's own header: it is not
    believed, DKIM is checked here, and the unsigned post fails DMARC."""
    received = "Received: from client.example by relay.example; Tue, 24 Nov 2026\r\n"
    forged = f"Authentication-Results: (x) {DOMAIN}; dkim=pass header.d=reject.example\r\n"
    relayed = f"Authentication-Results: {DOMAIN}; dkim=none; spf=none\r\n"
    head = received if where.startswith("below") else relayed
    async with running(tmp_path, dns, trusted=("127.0.0.0/8",)) as server:
        raw = head.encode() + post(ALICE, extra=forged)
        assert await send(server.port, raw, ALICE) == replies.DMARC_FAILED
        assert server.posts() == []


async def test_internationalised_from_domain_aligns_with_its_punycode_signature(
        tmp_path: Path, dns: StubDns, key: DkimTestKey) -> None:
    author = "jo@bücher.example"
    dns.add("sel._domainkey.xn--bcher-kva.example", "TXT", key.record)
    dns.add("_dmarc.xn--bcher-kva.example", "TXT", "v=DMARC1; p=reject")
    async with running(tmp_path, dns) as server:
        await add_members(server.settings, [author])
        raw = sign(post(author, name="Jo"), "xn--bcher-kva.example", key)
        assert await send(server.port, raw, "jo@xn--bcher-kva.example") == replies.ACCEPTED
        [(_, _, stored, dmarc_policy)] = server.posts()
        assert dmarc_policy == "reject"
        assert "dmarc=pass (p=reject) header.from=xn--bcher-kva.example" in our_header(stored)


async def test_non_member_post_costs_no_lookups(server: Running, dns: StubDns) -> None:
    """Refused for not being a member whatever it proves, so nothing is looked up."""
    reply = await send(server.port, post("mallory@reject.example", name="M"),
                       "mallory@reject.example")
    assert reply.startswith("550 5.7.1 Only subscribers may post")
    assert dns.queries == [] and server.posts() == []
    # A member's auto-reply is discarded whatever it proves: no lookups either.
    auto = post(ALICE, extra="Auto-Submitted: auto-replied\r\n")
    assert (await send(server.port, auto, ALICE)).startswith("250")
    assert dns.queries == [] and [p[0] for p in server.posts()] == ["discarded"]


@pytest.mark.parametrize("xforward, spf, reply", [
    ("ADDR=192.0.2.25 HELO=mail.relayed.example", "pass", replies.ACCEPTED),
    ("ADDR=198.51.100.9 HELO=mail.relayed.example", "fail", replies.DMARC_FAILED),
    ("", "none", replies.DMARC_FAILED),  # from the relay, about a client it did not name
])
async def test_behind_a_relay_spf_checks_the_client_it_names(
        tmp_path: Path, dns: StubDns, xforward: str, spf: str, reply: str) -> None:
    """Postfix's before-queue proxy names its client with XFORWARD: SPF is then checked
    against that client, as if it had connected to us. What the client wrote itself
    claiming our authserv-id is stripped: the relay added nothing (its milters cannot,
    before a proxy), so nothing in the message speaks for us."""
    dns.add("relayed.spf.example", "TXT", "v=spf1 ip4:192.0.2.25 -all")
    forged = f"Authentication-Results: {DOMAIN}; dkim=pass header.d=spf.example\r\n"
    received = "Received: from mail.relayed.example by mx.example; Sun, 6 Dec 2026\r\n"
    raw = received.encode() + post(BOB, name="Bob", extra=forged)
    async with running(tmp_path, dns, trusted=("127.0.0.0/8",)) as server:
        assert await send(server.port, raw, "bounce@relayed.spf.example",
                          xforward=xforward) == reply
        spf_looked_up = ("relayed.spf.example", "TXT") in dns.queries
        assert spf_looked_up == (spf != "none")
        if reply != replies.ACCEPTED:
            assert server.posts() == []
            return
        [(status, _, stored, _)] = server.posts()
        assert status == "accepted"
        results = our_header(stored)
        assert f"spf={spf} smtp.mailfrom=relayed.spf.example" in results
        assert "dkim=none" in results
        assert forged.encode() not in stored
        assert stored.endswith(raw.replace(forged.encode(), b""))
