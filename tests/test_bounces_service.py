"""Bounce handling on a real store: VERP attribution, scoring, disabling, one owner notice, CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from webkit import FakeClock, admin_mail, installation_verp_key, queued, status_of, text_of

from ccrlist.admin.handler import AdminContext
from ccrlist.bounces.service import Bounces
from ccrlist.config.loader import load_settings
from ccrlist.config.settings import Settings
from ccrlist.delivery.verp import unverp, verp_sender
from ccrlist.intake import replies
from cli import ccrlist
from subscribers.bounces import BounceStore
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember
from subscribers.owners import OwnerStore

SAMPLES = Path(__file__).parent / "data" / "dsn"
DAY = 86400.0
MEMBERS = ["dead@example.net", "slow@example.com", "gone@example.org",
           "nobody.here@gmail.com", "former.staff@ccr-member.ca", "full.box@gmail.com"]


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[AdminContext]:
    conn = await open_database(settings.database_path)
    await MemberStore(conn).add("ccrlist", [NewMember(a) for a in MEMBERS])
    await OwnerStore(conn).add("ccrlist", "owner@example.org")
    yield AdminContext(conn, settings, installation_verp_key(settings), FakeClock())
    await conn.close()


def signed(local: str, settings: Settings) -> str:
    """`ccrlist-bounces+jo=example.org` as our worker writes it: with its MAC."""
    base, plus, tag = local.partition("+")
    if not plus:
        return local
    rlocal, _, rdomain = tag.rpartition("=")
    sender = verp_sender(f"{base}@x", f"{rlocal}@{rdomain}", installation_verp_key(settings))
    return sender.rpartition("@")[0]


async def bounce(ctx: AdminContext, sample: str, local: str, sign: bool = True) -> str:
    """Send `sample` to `local`, its VERP tag signed like ours unless `sign` is False."""
    to = signed(local, ctx.settings) if sign else local
    return await admin_mail(to, "", (SAMPLES / sample).read_bytes(), ctx)


def clock_of(ctx: AdminContext) -> FakeClock:
    assert isinstance(ctx.clock, FakeClock)
    return ctx.clock


@pytest.mark.parametrize(("sample", "local", "address"), [
    ("postfix_user_unknown.eml", "ccrlist-bounces+dead=example.net", "dead@example.net"),
    ("exim_failed.eml", "ccrlist-bounces+gone=example.org", "gone@example.org"),
    ("gmail_no_such_user.eml", "ccrlist-bounces+nobody.here=gmail.com",
     "nobody.here@gmail.com"),
    ("microsoft_recipient_not_found.eml", "ccrlist-bounces+former.staff=ccr-member.ca",
     "former.staff@ccr-member.ca"),
])
async def test_hard_bounces_disable_after_threshold(ctx: AdminContext, sample: str, local: str,
                                                    address: str) -> None:
    for day in range(3):  # threshold 3 distinct days
        assert await status_of(ctx.conn, "ccrlist", address) == "active"
        assert await bounce(ctx, sample, local) == replies.BOUNCE_RECEIVED
        assert await bounce(ctx, sample, local) == replies.BOUNCE_RECEIVED  # same day
        clock_of(ctx).advance(DAY)
        assert len(await queued(ctx.conn)) == (1 if day == 2 else 0)
    assert await status_of(ctx.conn, "ccrlist", address) == "disabled"
    [(notice, rcpts)] = await queued(ctx.conn)
    assert rcpts == ["owner@example.org"]
    assert address in str(notice["Subject"])
    assert "ccrlist members enable" in text_of(notice)
    # More bounces after disabling: no second notice.
    await bounce(ctx, sample, local)
    assert len(await queued(ctx.conn)) == 1
    others = [a for a in MEMBERS if a != address]
    assert [await status_of(ctx.conn, "ccrlist", a) for a in others] == ["active"] * 5


async def test_enable_starts_the_score_again(ctx: AdminContext) -> None:
    local = "ccrlist-bounces+dead=example.net"
    for _ in range(3):
        await bounce(ctx, "postfix_user_unknown.eml", local)
        clock_of(ctx).advance(DAY)
    assert await status_of(ctx.conn, "ccrlist", "dead@example.net") == "disabled"
    assert await BounceStore(ctx.conn).enable("ccrlist", "dead@example.net",
                                              clock_of(ctx)()) == "enabled"
    clock_of(ctx).advance(1)
    await bounce(ctx, "postfix_user_unknown.eml", local)
    assert await status_of(ctx.conn, "ccrlist", "dead@example.net") == "active"


async def test_old_bounces_fall_out_of_the_window(ctx: AdminContext) -> None:
    local = "ccrlist-bounces+dead=example.net"
    for _ in range(3):
        await bounce(ctx, "postfix_user_unknown.eml", local)
        clock_of(ctx).advance(20 * DAY)  # window is 30 days: never three at once
    assert await status_of(ctx.conn, "ccrlist", "dead@example.net") == "active"


async def test_soft_bounces_count_only_when_they_persist(ctx: AdminContext) -> None:
    local = "ccrlist-bounces+slow=example.com"
    for _ in range(4):  # days 0..3: shorter than soft_persist_days (5)
        await bounce(ctx, "postfix_delayed.eml", local)
        clock_of(ctx).advance(DAY)
    assert await status_of(ctx.conn, "ccrlist", "slow@example.com") == "active"
    clock_of(ctx).advance(2 * DAY)
    await bounce(ctx, "postfix_delayed.eml", local)  # day 6: persisted
    assert await status_of(ctx.conn, "ccrlist", "slow@example.com") == "disabled"


async def test_mailbox_full_is_soft(ctx: AdminContext) -> None:
    for _ in range(3):
        await bounce(ctx, "gmail_mailbox_full.eml", "ccrlist-bounces+full.box=gmail.com")
        clock_of(ctx).advance(DAY)
    assert await status_of(ctx.conn, "ccrlist", "full.box@gmail.com") == "active"


async def test_non_members_and_junk_are_ignored(ctx: AdminContext) -> None:
    for _ in range(4):
        await bounce(ctx, "postfix_user_unknown.eml", "ccrlist-bounces+stranger=example.org")
        await admin_mail("ccrlist-bounces+dead=example.net", "x@example.org",
                                   b"Subject: out of office\r\n\r\nI am away.\r\n", ctx)
        clock_of(ctx).advance(DAY)
    assert await status_of(ctx.conn, "ccrlist", "dead@example.net") == "active"
    assert await queued(ctx.conn) == []


def test_cli_disabled_reason_and_enable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "ccr.toml"
    config.write_text('data_dir = "var"\n[bounces]\nthreshold = 1\n', encoding="utf-8")
    monkeypatch.delenv("CCR_CONFIG", raising=False)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(ccrlist, ["--config", str(config), *args])
        return result.exit_code, result.output

    assert run("members", "add", "dead@example.net")[0] == 0
    assert run("lists", "owners", "add", "ccrlist", "Boss@Example.org") == (
        0, "Boss@example.org: now an owner of ccrlist\n")
    assert run("lists", "owners", "list", "ccrlist")[1].startswith("Boss@example.org\n")

    async def deliver() -> None:
        settings = load_settings(config)
        conn = await open_database(settings.database_path)
        try:
            await admin_mail(
                signed("ccrlist-bounces+dead=example.net", settings), "",
                (SAMPLES / "postfix_user_unknown.eml").read_bytes(),
                AdminContext(conn, settings, installation_verp_key(settings)))
        finally:
            await conn.close()

    asyncio.run(deliver())
    code, out = run("members", "list", "--status", "disabled")
    assert code == 0
    assert "dead@example.net" in out and "disabled" in out
    assert "User unknown in virtual mailbox table" in out
    assert run("members", "enable", "dead@example.net") == (
        0, "dead@example.net: enabled on ccrlist\n")
    code, out = run("members", "enable", "dead@example.net")
    assert code == 1 and "is not disabled" in out and "Traceback" not in out
    code, out = run("members", "enable", "who@example.net")
    assert code == 1 and "is not a member" in out
    assert "active" in run("members", "list", "--status", "active")[1]
    assert run("lists", "owners", "remove", "ccrlist", "boss@example.org")[0] == 0
    code, out = run("lists", "owners", "remove", "ccrlist", "boss@example.org")
    assert code == 1 and "is not an owner" in out
    code, out = run("lists", "owners", "add", "nolist", "boss@example.org")
    assert code == 1 and "no list named" in out


async def test_assess_bounces_recorded_elsewhere(ctx: AdminContext) -> None:
    """The delivery worker records 5xx replies itself; `assess` applies the same threshold."""
    bounces = Bounces(ctx.conn, ctx.settings, ctx.clock)
    store = BounceStore(ctx.conn)
    for _ in range(3):
        await store.record("ccrlist", "gone@example.org", "hard", "550 5.1.1 no such user",
                           clock_of(ctx)())
        assert await status_of(ctx.conn, "ccrlist", "gone@example.org") == "active"
        clock_of(ctx).advance(DAY)
    assert await bounces.assess("ccrlist", "gone@example.org", "550 5.1.1 no such user")
    assert not await bounces.assess("ccrlist", "gone@example.org", "550 5.1.1 no such user")
    assert await status_of(ctx.conn, "ccrlist", "gone@example.org") == "disabled"
    assert len(await queued(ctx.conn)) == 1


async def test_resubscribing_after_disable_clears_the_score(ctx: AdminContext) -> None:
    local = "ccrlist-bounces+dead=example.net"
    for _ in range(3):
        await bounce(ctx, "postfix_user_unknown.eml", local)
        clock_of(ctx).advance(DAY)
    assert await status_of(ctx.conn, "ccrlist", "dead@example.net") == "disabled"
    request = b"From: dead@example.net\r\nSubject: subscribe\r\n\r\n"
    await admin_mail("ccrlist-request", "dead@example.net", request, ctx)
    confirmation = (await queued(ctx.conn))[-1][0]
    reply_to = str(confirmation["Reply-To"]).split("@")[0]
    await admin_mail(reply_to, "dead@example.net", b"Subject: Re: confirm\r\n\r\n", ctx)
    assert await status_of(ctx.conn, "ccrlist", "dead@example.net") == "active"
    clock_of(ctx).advance(1)
    await bounce(ctx, "postfix_user_unknown.eml", local)
    assert await status_of(ctx.conn, "ccrlist", "dead@example.net") == "active"


@pytest.mark.parametrize(("local", "sign"), [
    ("ccrlist-bounces", False),  # the plain address: anyone can name anyone in a report
    ("ccrlist-bounces+dead=example.net", False),  # a VERP address we did not sign
    ("ccrlist-bounces+dead=example.net.aaaaaaaa", False),  # a made-up MAC
])
async def test_reports_that_prove_nothing_are_not_counted(ctx: AdminContext, local: str,
                                                          sign: bool) -> None:
    for _ in range(3):
        assert await bounce(ctx, "postfix_user_unknown.eml", local, sign) == \
            replies.BOUNCE_RECEIVED
        clock_of(ctx).advance(DAY)
    assert await status_of(ctx.conn, "ccrlist", "dead@example.net") == "active"
    assert await BounceStore(ctx.conn).events("ccrlist", "dead@example.net", 0.0) == []


def test_a_verp_address_names_its_recipient_only_with_our_mac() -> None:
    key = b"k"
    sender = verp_sender("ccrlist-bounces@lists.example.org", "Jo.Doe@example.org", key)
    local = sender.rpartition("@")[0]
    assert unverp(local, key) == "Jo.Doe@example.org"
    assert unverp(local.lower(), key) == "jo.doe@example.org"  # an MTA lower-cased it
    assert unverp(local, b"another key") is None
    assert unverp("ccrlist-bounces+jo.doe=example.org.ééééé", key) is None  # no TypeError
    assert unverp(local.replace("jo.doe", "al.doe", 1).replace("Jo.Doe", "Al.Doe"), key) is None
