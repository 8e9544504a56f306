"""Behind a real Postfix, set up exactly as the README's "Behind Postfix" section says.

Each test starts a private Postfix (tests/postfixkit.py) in front of `ccrlist serve`,
with Maildirs for the members on it and a recording SMTP server standing in for the
rest of the Internet, and talks to Postfix's MX port with smtplib, as a sender's MTA
would. The client runs in a thread: `ccrlist serve` answers Postfix from this loop.

Where a test shows that something did not happen (a bounce, a queued message), it
first waits for a later message to arrive: Postfix has then handled the earlier one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import smtplib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    Running,
    add_members,
    free_port,
    message,
    serving,
    start_relay,
    subscribe_newsletter,
    wait_for,
)
from click.testing import CliRunner
from dnsstub import StubDns
from postfixkit import MEMBER_DOMAIN, Ports, PrivatePostfix, readme_settings, skip_reason
from webkit import confirm_token

from ccrlist.config.parse import parse_settings
from ccrlist.config.settings import DeliverySettings, Settings, SiteSettings, WebSettings
from ccrlist.copies.long_lines import has_long_line
from ccrlist.intake import replies
from echronicle.commands import chronicle

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

ALICE, BOB, CAROL = (f"{n}@{MEMBER_DOMAIN}" for n in ("alice", "bob", "carol"))
MEMBERS = [ALICE, BOB, CAROL]
STRANGER = f"stranger@{MEMBER_DOMAIN}"  # has a mailbox here, is no member
NEWBIE = f"newbie@{MEMBER_DOMAIN}"
READERS = [(f"ana@{MEMBER_DOMAIN}", "en"), (f"remi@{MEMBER_DOMAIN}", "fr")]
GONE = "jo@elsewhere.example.net"  # a member whose provider refuses the list copy
LIST = f"ccrlist@{DOMAIN}"
ROOT = Path(__file__).resolve().parent.parent
WAIT = 30.0  # seconds for mail to go through; on a busy machine Postfix can take a while


@pytest.fixture
def internet() -> Iterator[tuple[RecordingRelay, Controller]]:
    """Every other domain's MX; refuses GONE, as a provider that closed the mailbox."""
    relay = RecordingRelay(rcpt_replies={GONE: f"550 5.1.1 <{GONE}>: mailbox unavailable"})
    controller = start_relay(relay)
    yield relay, controller
    controller.stop()


@pytest.fixture(scope="module")
def spool() -> Iterator[Path]:
    """A queue directory made once; each instance starts from a copy of it."""
    template = PrivatePostfix(DOMAIN, Ports(0, 0, 0, 0), [])
    try:
        template.check()
        yield template.spool
    finally:
        template.stop()


@pytest.fixture
def postfix(internet: tuple[RecordingRelay, Controller],
            spool: Path) -> Iterator[PrivatePostfix]:
    ports = Ports(mx=free_port(), relay=free_port(), ccrlist=free_port(),
                  internet=internet[1].port)
    mailboxes = [*MEMBERS, STRANGER, NEWBIE, *(a for a, _ in READERS)]
    instance = PrivatePostfix(DOMAIN, ports, mailboxes, spool)
    try:
        instance.start()
        yield instance
    finally:
        print(f"--- Postfix's log ---\n{instance.maillog()}")  # shown for a failed test
        instance.stop()


@pytest.fixture
def dns() -> Iterator[StubDns]:
    stub = StubDns().start()
    yield stub
    stub.stop()


@pytest.fixture
def settings(postfix: PrivatePostfix, dns: StubDns, tmp_path: Path) -> Settings:
    """The README's ccr.toml; data in tmp_path, DNS from the stub."""
    base = parse_settings(readme_settings(DOMAIN, postfix.ports), "README.md")
    return dataclasses.replace(
        base, data_dir=tmp_path / "var", issues_dir=tmp_path / "issues",
        site=SiteSettings(output_dir=tmp_path / "site"), web=WebSettings(port=0),
        delivery=DeliverySettings(retry_base_seconds=0.2),
        # The stub always answers; a slow machine must not turn that into a DNS timeout.
        auth=dataclasses.replace(base.auth, nameservers=(dns.address,), timeout=5.0))


@pytest.fixture
async def server(settings: Settings,
                 internet: tuple[RecordingRelay, Controller]) -> AsyncIterator[Running]:
    async with serving(settings, internet[0], MEMBERS) as running:
        yield running


def transaction(port: int, sender: str, rcpt: str, raw: bytes,
                source: str = "127.0.0.1") -> str:
    """One transaction with Postfix's MX port, as a sender's MTA at `source` would make
    it: the reply to DATA, or to the first command refused."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0),
                      local_hostname="mta.members.example.org") as smtp:
        smtp.ehlo()
        code, text = smtp.mail(sender)
        if code < 400:
            code, text = smtp.rcpt(rcpt)
        if code < 400:
            code, text = smtp.data(raw)
        return f"{code} {text.decode()}"


def offered(port: int) -> dict[str, str]:
    """The ESMTP extensions Postfix's MX port offers."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("mta.members.example.org")
        return dict(smtp.esmtp_features)


async def send(postfix: PrivatePostfix, raw: bytes, sender: str = ALICE, rcpt: str = LIST,
               source: str = "127.0.0.1") -> str:
    return await asyncio.to_thread(transaction, postfix.ports.mx, sender, rcpt, raw, source)


def parsed(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def rows(settings: Settings, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(settings.database_path) as conn:
        return conn.execute(query).fetchall()


def all_sent(settings: Settings) -> bool:
    """ccrlist has handed every delivery to Postfix."""
    return not rows(settings, "SELECT 1 FROM deliveries WHERE status != 'sent'")


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for mail to have gone through: WAIT seconds at most."""
    await wait_for(condition, timeout=WAIT, what=what)


async def settled(postfix: PrivatePostfix, settings: Settings, what: str) -> None:
    """Wait until ccrlist has sent everything and Postfix's queue is empty again."""
    await until(lambda: all_sent(settings) and not postfix.queued(), what)


async def test_a_members_post_reaches_every_members_mailbox_once(
        postfix: PrivatePostfix, server: Running) -> None:
    # Postfix would pass DSN's parameters on, and ccrlist takes none: not offered.
    features = await asyncio.to_thread(offered, postfix.ports.mx)
    assert "dsn" not in features and {"8bitmime", "smtputf8"} <= set(features)
    assert await send(postfix, message(author=ALICE)) == replies.ACCEPTED
    await until(lambda: all(postfix.mailbox(m) for m in MEMBERS), "every copy")
    await settled(postfix, server.settings, "the queues to empty")
    for member in MEMBERS:
        [copy] = postfix.mailbox(member)
        msg = parsed(copy)
        assert msg["Delivered-To"] == member
        assert msg["Return-Path"].startswith(f"<ccrlist-bounces+{member.replace('@', '=')}.")
        assert msg["List-Id"] == f"<ccrlist.{DOMAIN}>"
        assert msg["Subject"] == "[ccrlist] Hello"
        assert copy.endswith(b"\n\nHi all.\n")  # Maildir files end lines with LF
    # It came through Postfix's proxy: its Received field, naming the client's HELO.
    [(stored,)] = rows(server.settings, "SELECT raw FROM posts")
    assert b"Received: from mta.members.example.org" in bytes(stored)
    assert postfix.postqueue() == "Mail queue is empty"


async def test_a_non_member_is_refused_in_the_session_and_nothing_bounces(
        postfix: PrivatePostfix, server: Running) -> None:
    """The stranger's own MTA hears 550: Postfix queues nothing and bounces nothing, to the
    stranger (who has a mailbox on this Postfix, where a bounce would land) or anyone."""
    refused = await send(postfix, message(author=STRANGER), sender=STRANGER)
    assert refused == replies.NONMEMBER.format(request=f"ccrlist-request@{DOMAIN}")
    assert await send(postfix, message(author=STRANGER), sender=STRANGER,
                      rcpt=f"nosuch@{DOMAIN}") == replies.NO_SUCH_LIST
    # A member's post whose long line cannot be re-encoded: refused too, no bounce to her.
    unfit = message(author=ALICE, message_id="<unfit@members.example.org>",
                    extra="X-Tracking: " + "z" * 1500 + "\r\n")
    assert await send(postfix, unfit) == replies.LONG_LINE
    assert "proxy-reject: END-OF-MESSAGE: 550 5.7.1 Only subscribers" in postfix.maillog()

    # A member's post after them goes through: Postfix has handled everything before it.
    assert await send(postfix, message(author=ALICE)) == replies.ACCEPTED
    await until(lambda: all(postfix.mailbox(m) for m in MEMBERS), "the later post")
    await settled(postfix, server.settings, "the queues to empty")
    assert postfix.mailbox(STRANGER) == []
    assert [len(postfix.mailbox(m)) for m in MEMBERS] == [1, 1, 1]
    assert postfix.queued() == [] and postfix.postqueue() == "Mail queue is empty"
    assert "non-delivery notification" not in postfix.maillog()
    assert rows(server.settings, "SELECT author FROM posts") == [(ALICE,)]


async def test_while_ccrlist_is_down_postfix_defers_and_bounces_nothing(
        postfix: PrivatePostfix, internet: tuple[RecordingRelay, Controller]) -> None:
    """No ccrlist behind the proxy: the sender is told to try again later. Postfix tells
    its own postmaster (`notify_classes`: software), never the sender."""
    reply = await send(postfix, message(author=ALICE))
    assert reply.startswith("451 4.3.0 ")
    relay = internet[0]  # where mail for postmaster@<myhostname> goes in this instance
    await until(lambda: bool(relay.recipients()) and not postfix.queued(),
                "the postmaster's notice")
    assert relay.recipients() == ["postmaster@mx.example.net"]
    assert postfix.mailbox(ALICE) == [] and postfix.postqueue() == "Mail queue is empty"
    assert "non-delivery notification" not in postfix.maillog()


async def test_a_confirmation_reply_and_a_bounce_reach_ccrlist(
        postfix: PrivatePostfix, server: Running) -> None:
    """A subscription confirmed by replying to `-confirm+<token>@` takes the MX's way.
    Then GONE's provider refuses the copy of a post that Postfix queued for it: Postfix's
    bounce goes to the copy's VERP sender by the README's transport, and ccrlist records
    it."""
    join = f"ccrlist-join@{DOMAIN}"
    request = message(author=NEWBIE, subject="subscribe").replace(
        f"To: {LIST}".encode(), f"To: {join}".encode())
    assert await send(postfix, request, sender=NEWBIE, rcpt=join) == \
        replies.REQUEST_RECEIVED
    await until(lambda: bool(postfix.mailbox(NEWBIE)), "the confirmation request")
    [asking] = postfix.mailbox(NEWBIE)
    confirm = f"ccrlist-confirm+{confirm_token(parsed(asking))}@{DOMAIN}"
    assert parsed(asking)["Reply-To"] == confirm
    answer = message(author=NEWBIE, subject="Re: confirm",
                     message_id="<re@members.example.org>")
    assert await send(postfix, answer, sender=NEWBIE, rcpt=confirm) == \
        replies.REQUEST_RECEIVED
    assert rows(server.settings, f"""SELECT m.status FROM memberships m JOIN people p
        ON p.id = m.person_id WHERE p.address_key = '{NEWBIE}'""") == [("active",)]
    await until(lambda: len(postfix.mailbox(NEWBIE)) == 2, "the welcome")

    await add_members(server.settings, [GONE])
    assert await send(postfix, message(author=ALICE)) == replies.ACCEPTED

    def bounced() -> list[tuple[object, ...]]:
        return rows(server.settings, "SELECT address_key, kind, reply FROM bounces")

    await until(lambda: bool(bounced()), "the bounce in the database")
    [(address, kind, reply)] = bounced()
    assert (address, kind) == (GONE, "hard") and "5.1.1" in str(reply)
    await until(lambda: len(postfix.mailbox(NEWBIE)) == 3, "the new member's copy")
    await settled(postfix, server.settings, "the queues to empty")
    log = postfix.maillog()
    assert "to=<ccrlist-bounces+jo=elsewhere.example.net." in log  # the DSN, to VERP
    assert f"relay=127.0.0.1[127.0.0.1]:{postfix.ports.ccrlist}" in log  # the transport


async def test_long_lines_pass_postfix_and_arrive_re_encoded(
        postfix: PrivatePostfix, server: Running) -> None:
    html = "<p>" + "R\u00e9union du r\u00e9seau, " * 200 + "</p>\r\n"
    raw = message(author=ALICE, body=html, extra=(
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"))
    assert await send(postfix, raw) == replies.ACCEPTED
    [(stored,)] = rows(server.settings, "SELECT raw FROM posts")
    assert bytes(stored).endswith(raw)  # Postfix passed the 4,000 characters on whole
    await until(lambda: all(postfix.mailbox(m) for m in MEMBERS), "every copy")
    for member in MEMBERS:
        [copy] = postfix.mailbox(member)
        assert not has_long_line(copy)
        assert parsed(copy).get_content() == html.replace("\r\n", "\n")


async def test_spf_is_checked_for_the_client_postfix_names(
        postfix: PrivatePostfix, server: Running, dns: StubDns) -> None:
    """Postfix connects to ccrlist from 127.0.0.1 whoever its client is; with XFORWARD,
    SPF sees the client. dana's domain asks for p=reject and her SPF record names
    127.0.0.2 only: from there her unsigned post passes, from 127.0.0.1 it does not."""
    dana = "dana@spf.example.com"
    dns.add("_dmarc.spf.example.com", "TXT", "v=DMARC1; p=reject")
    dns.add("spf.example.com", "TXT", "v=spf1 ip4:127.0.0.2 -all")
    await add_members(server.settings, [dana])
    reply = await send(postfix, message(author=dana, message_id="<d1@spf.example.com>"),
                       sender=dana, source="127.0.0.2")
    assert reply == replies.ACCEPTED
    [(stored,)] = rows(server.settings, "SELECT raw FROM posts")
    assert b"spf=pass smtp.mailfrom=spf.example.com" in bytes(stored)
    reply = await send(postfix, message(author=dana, message_id="<d2@spf.example.com>"),
                       sender=dana, source="127.0.0.1")
    assert reply == replies.DMARC_FAILED


async def test_chronicle_publish_delivers_through_postfix(
        postfix: PrivatePostfix, settings: Settings) -> None:
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ROOT / "issues" / "vol12-2.md", settings.issues_dir / "vol12-2.md")
    tokens = await asyncio.to_thread(subscribe_newsletter, settings, READERS)
    result = await asyncio.to_thread(CliRunner().invoke, chronicle, ["publish", "vol12-2"],
                                     obj=settings)
    assert result.exit_code == 0, result.output
    readers = [a for a, _ in READERS]
    await until(lambda: all(postfix.mailbox(r) for r in readers), "the newsletter")
    await settled(postfix, settings, "the queues to empty")
    for reader in readers:
        [copy] = postfix.mailbox(reader)
        msg = parsed(copy)
        assert msg["Delivered-To"] == reader
        assert msg["From"].addresses[0].addr_spec == settings.newsletter.publisher
        assert tokens[reader] in str(msg["List-Unsubscribe"])
