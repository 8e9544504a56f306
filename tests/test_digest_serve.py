"""Digests sent by `ccrlist serve` itself: posts in over real SMTP, a recording relay as the
far side, the digest runner's clock injected. Digest members get no individual copies;
at the hour each gets one digest, personalised, from their VERP address, DKIM-signed."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from pathlib import Path

from aiosmtpd.controller import Controller
from ccrlist_helpers import (
    DOMAIN,
    RecordingRelay,
    make_settings,
    message,
    queue_settled,
    rows,
    send,
    serving,
    wait_for,
    wait_until,
)
from digestkit import DAILY, members, posts_in, utc
from dkim_helpers import keygen, with_key
from webkit import FakeClock

from ccrlist.config.secret import load_or_create_secret
from ccrlist.config.settings import DigestSettings
from ccrlist.delivery.verp import unverp, verp_key
from subscribers.db import open_database
from subscribers.members import MemberStore


async def test_serve_sends_each_member_one_personal_signed_digest_at_the_hour(
        tmp_path: Path, relay: RecordingRelay, controller: Controller) -> None:
    key = keygen(tmp_path, DOMAIN)
    settings = with_key(dataclasses.replace(make_settings(tmp_path, controller.port),
                                            digest=DigestSettings(hour=8)), key)
    conn = await open_database(settings.database_path)
    try:
        await members(conn, {"each@example.org": dataclasses.replace(DAILY, mode="each",
                                                                     resume_mode="each"),
                             "d1@example.org": DAILY, "d2@example.org": DAILY})
        tokens = {m.address: m.token for m in await MemberStore(conn).members("ccrlist")}
    finally:
        await conn.close()
    clock = FakeClock(utc(2026, 3, 9, 11))  # Monday 7:00 in Toronto
    async with serving(settings, relay, clock=clock, digest_poll=0.05) as running:
        ids = []
        for n in (1, 2):
            mid = f"<serve-{n}@example.org>"
            code, _ = await send(running.port, message(author="each@example.org",
                                                       message_id=mid),
                                 sender="each@example.org")
            assert code == 250
            ids.append(mid)
        # The positive signal first: the member who takes each post has both copies.
        await wait_for(lambda: relay.recipients().count("each@example.org") == 2,
                       what="the individual copies")
        await wait_until(lambda: queue_settled(settings), what="the queue to settle")
        assert set(relay.recipients()) == {"each@example.org"}
        held = await rows(settings, "SELECT count(*) FROM digest_items")
        assert held == [(4,)]
        clock.now = utc(2026, 3, 9, 12)  # 8:00 EDT: the runner, polling, sees it
        await wait_for(lambda: {"d1@example.org", "d2@example.org"} <= set(relay.recipients()),
                       what="the digests")
        await wait_until(lambda: queue_settled(settings), what="the digests recorded")
    digests = [m for m in relay.messages if m.rcpt_tos != ["each@example.org"]]
    assert sorted(r for m in digests for r in m.rcpt_tos) == ["d1@example.org",
                                                              "d2@example.org"]
    vkey = verp_key(load_or_create_secret(settings.data_dir))
    for delivered in digests:
        [rcpt] = delivered.rcpt_tos
        assert key.verifies(delivered.content)
        local = delivered.mail_from.split("@")[0]
        assert unverp(local, vkey) == rcpt  # a signed VERP sender naming the member
        msg = email.message_from_bytes(delivered.content, policy=email.policy.default)
        assert msg["Subject"] == "[ccrlist] Digest, Vol 1, Issue 1"
        own = f"https://lists.example.org/u/{tokens[rcpt]}"
        assert msg["List-Unsubscribe"] == f"<{own}>, <mailto:ccrlist-leave@{DOMAIN}>"
        assert own.encode() in delivered.content.split(b"\r\n\r\n", 1)[1]
        other = next(t for a, t in tokens.items() if a not in (rcpt, "each@example.org"))
        assert other.encode() not in delivered.content
        assert posts_in(delivered.content) == ids
