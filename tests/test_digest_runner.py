"""The digest runner on a real SQLite file, with an injected clock: digests at the right
hour across daylight saving changes, early when they grow, numbered per list, and every
post in exactly one digest per member whatever they switch to in the middle."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ccrlist_helpers import make_settings
from digestkit import DAILY, EACH, WEEKLY, Posting, members, queued, received, utc
from webkit import FakeClock

from ccrlist.config.settings import DigestSettings, Settings
from ccrlist.digests.runner import DigestRunner
from subscribers.db import Connection, open_database
from subscribers.digests import DigestStore
from subscribers.members import MemberStore
from subscribers.models import Delivery

# Friday 6 March 2026, 12:00 UTC (7:00 in Toronto); clocks go forward on Sunday the 8th.
START = utc(2026, 3, 6, 12)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(make_settings(tmp_path, None),
                               digest=DigestSettings(hour=8, weekday="monday",
                                                     max_bytes=1_000_000))


@pytest.fixture
async def conn(settings: Settings) -> AsyncIterator[Connection]:
    c = await open_database(settings.database_path)
    yield c
    await c.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def runner(conn: Connection, settings: Settings, clock: FakeClock) -> DigestRunner:
    r = DigestRunner(conn, settings, clock=clock)
    assert await r.send_due() == []  # the first look starts the list's schedule
    return r


async def test_daily_digests_at_8_local_time_across_the_change_to_summer_time(
        conn: Connection, settings: Settings, clock: FakeClock, runner: DigestRunner) -> None:
    await members(conn, {"d@example.org": DAILY, "e@example.org": EACH})
    posting = Posting(conn, settings)
    first = await posting.send(2)
    clock.now = utc(2026, 3, 6, 12, 59)  # 7:59 EST
    assert await runner.send_due() == []
    clock.now = utc(2026, 3, 6, 13, 0)  # 8:00 EST
    [sent] = await runner.send_due()
    assert (sent.issue.volume, sent.issue.number, sent.members, sent.posts) == (1, 1, 1, 2)
    assert await runner.send_due() == []  # once
    second = await posting.send(1)
    clock.now = utc(2026, 3, 7, 13, 0)  # Saturday 8:00 EST
    [saturday] = await runner.send_due()
    third = await posting.send(1)
    # Sunday: summer time from 2:00, so 8:00 is 12:00 UTC, 23 hours after Saturday's.
    clock.now = utc(2026, 3, 8, 11, 59)
    assert await runner.send_due() == []
    clock.now = utc(2026, 3, 8, 12, 0)
    [sunday] = await runner.send_due()
    assert [saturday.issue.number, sunday.issue.number] == [2, 3]
    singles, digests = await queued(conn)
    assert digests["d@example.org"] == [first, second, third]
    assert "d@example.org" not in singles  # a digest member gets no individual copies
    assert singles["e@example.org"] == first + second + third
    assert "e@example.org" not in digests


async def test_the_change_back_to_winter_time(conn: Connection, settings: Settings,
                                              clock: FakeClock) -> None:
    clock.now = utc(2026, 10, 31, 11)
    runner = DigestRunner(conn, settings, clock=clock)
    await runner.send_due()
    await members(conn, {"d@example.org": DAILY})
    posting = Posting(conn, settings)
    await posting.send(1)
    clock.now = utc(2026, 10, 31, 12)  # 8:00 EDT
    assert len(await runner.send_due()) == 1
    await posting.send(1)
    clock.now = utc(2026, 11, 1, 12, 30)  # 7:30 EST: 24.5 hours later, not yet 8:00
    assert await runner.send_due() == []
    clock.now = utc(2026, 11, 1, 13)
    assert len(await runner.send_due()) == 1


async def test_weekly_digests_on_their_weekday(conn: Connection, settings: Settings,
                                               clock: FakeClock, runner: DigestRunner) -> None:
    await members(conn, {"w@example.org": WEEKLY, "d@example.org": DAILY})
    posting = Posting(conn, settings)
    week = await posting.send(2)
    for day in (6, 7, 8):  # Friday to Sunday: the daily member's digests only
        clock.now = utc(2026, 3, day, 13)
        await runner.send_due()
        week += await posting.send(1)
    clock.now = utc(2026, 3, 9, 11, 59)  # Monday 7:59 EDT
    await runner.send_due()
    _, digests = await queued(conn)
    assert "w@example.org" not in digests
    clock.now = utc(2026, 3, 9, 12)
    await runner.send_due()
    _, digests = await queued(conn)
    assert digests["w@example.org"] == [week]
    assert [m for d in digests["d@example.org"] for m in d] == week


async def test_a_digest_that_grows_past_max_bytes_goes_at_once(
        conn: Connection, settings: Settings, clock: FakeClock) -> None:
    small = dataclasses.replace(settings, digest=DigestSettings(max_bytes=3000))
    runner = DigestRunner(conn, small, clock=clock)
    await runner.send_due()
    await members(conn, {"w@example.org": WEEKLY, "d@example.org": DAILY})
    posting = Posting(conn, small)
    body = "x" * 70 + "\r\n"
    first = await posting.send(2, body=body * 13)  # about 1 KB each
    assert await runner.send_due() == []
    first += await posting.send(1, body=body * 13)  # past 3,000 bytes
    [sent] = await runner.send_due()
    assert sent.members == 2
    rest = await posting.send(1, body=body * 13)
    assert await runner.send_due() == []
    clock.now = utc(2026, 3, 6, 13)  # the daily digest holds what came after
    await runner.send_due()
    _, digests = await queued(conn)
    assert digests["d@example.org"] == [first, rest]
    assert digests["w@example.org"] == [first]


async def test_mode_switches_in_the_middle_of_a_period_miss_nothing_and_repeat_nothing(
        conn: Connection, settings: Settings, clock: FakeClock, runner: DigestRunner) -> None:
    people = {"a@example.org": EACH, "b@example.org": DAILY, "c@example.org": DAILY,
              "d@example.org": WEEKLY, "e@example.org": DAILY}
    await members(conn, people)
    store = MemberStore(conn)
    posting = Posting(conn, settings)
    sent = await posting.send(2)
    await store.set_delivery("ccrlist", "a@example.org", DAILY)  # each -> daily
    await store.set_delivery("ccrlist", "b@example.org", EACH)  # daily -> each
    await store.set_delivery("ccrlist", "c@example.org", WEEKLY)  # daily -> weekly
    await store.set_delivery("ccrlist", "d@example.org", DAILY)  # weekly -> daily
    sent += await posting.send(2)
    await runner.send_due()  # b's held posts go at once, as its last digest
    _, digests = await queued(conn)
    assert digests["b@example.org"] == [sent[:2]]
    await store.set_delivery("ccrlist", "e@example.org", WEEKLY)
    await store.set_delivery("ccrlist", "e@example.org", DAILY)  # and back
    sent += await posting.send(1)
    for day in (6, 7, 8, 9):  # through Monday 8:00, when weekly digests go
        clock.now = utc(2026, 3, day, 13)
        await runner.send_due()
    singles, digests = await queued(conn)
    for address in people:
        assert sorted(received(singles, digests, address)) == sorted(sent), address
    assert singles["a@example.org"] == sent[:2]
    assert singles["b@example.org"] == sent[2:]
    assert digests["c@example.org"] == [sent]  # one weekly digest, on Monday
    assert digests["d@example.org"] == [sent]  # the daily one on Friday
    assert digests["e@example.org"] == [sent]


async def test_a_pause_holds_nothing_and_ends_by_itself(
        conn: Connection, settings: Settings, clock: FakeClock, runner: DigestRunner) -> None:
    """Whether a pause is over is SQLite's clock (the `receivers` view): no injected clock
    can move it, so the test moves the pause's end instead of the time."""
    await members(conn, {"p@example.org": DAILY, "q@example.org": EACH,
                         "d@example.org": DAILY})
    posting = Posting(conn, settings)
    before = await posting.send(1)
    far, near = time.time() + 10 * 86400, utc(2000, 1, 1)  # SQLite's clock is the real one
    store = MemberStore(conn)
    await store.set_delivery("ccrlist", "p@example.org", Delivery("nomail", far, "daily"))
    await store.set_delivery("ccrlist", "q@example.org", Delivery("nomail", far, "each"))
    during = await posting.send(2)
    clock.now = utc(2026, 3, 6, 13)
    await runner.send_due()
    singles, digests = await queued(conn)
    assert digests["d@example.org"] == [before + during]  # the others' digest went
    assert "p@example.org" not in digests  # held, not sent, while paused
    assert singles["q@example.org"] == before
    # The end date passes; nothing runs, and the rows still say 'nomail'.
    await conn.execute("UPDATE memberships SET paused_until = ? WHERE paused_until = ?",
                       (near, far))
    await conn.commit()
    assert [m.delivery_mode for m in await store.members("ccrlist")] == [
        "daily", "daily", "each"]
    rows = await conn.execute_fetchall("SELECT DISTINCT delivery_mode FROM memberships "
                                       "WHERE paused_until IS NOT NULL")
    assert [r[0] for r in rows] == ["nomail"]
    after = await posting.send(1)
    clock.now = utc(2026, 3, 7, 13)
    await runner.send_due()
    singles, digests = await queued(conn)
    assert digests["p@example.org"] == [before + after]  # what was held, then the new one
    assert singles["q@example.org"] == before + after


async def test_members_who_leave_lose_what_was_held(conn: Connection, settings: Settings,
                                                    clock: FakeClock,
                                                    runner: DigestRunner) -> None:
    await members(conn, {"gone@example.org": DAILY, "d@example.org": DAILY})
    await Posting(conn, settings).send(2)
    assert await MemberStore(conn).remove("ccrlist", "gone@example.org")
    clock.now = utc(2026, 3, 6, 13)
    [sent] = await runner.send_due()
    assert sent.members == 1
    _, digests = await queued(conn)
    assert list(digests) == ["d@example.org"]
    assert await conn.execute_fetchall("SELECT 1 FROM digest_items") == []


async def test_members_in_french_and_in_plain_text_get_their_own_digest(
        conn: Connection, settings: Settings, clock: FakeClock, runner: DigestRunner) -> None:
    await members(conn, {"en1@example.org": DAILY, "en2@example.org": DAILY,
                         "fr@example.ca": DAILY,
                         "plain@example.org": Delivery("daily", None, "daily", "plain")},
                  lang={"fr@example.ca": "fr"})
    await Posting(conn, settings).send(2)
    clock.now = utc(2026, 3, 6, 13)
    [sent] = await runner.send_due()
    assert (sent.messages, sent.members) == (3, 4)
    rows = await conn.execute_fetchall(
        """SELECT o.body, group_concat(d.recipient) FROM outgoing o
             JOIN deliveries d ON d.outgoing_id = o.id WHERE o.source = 'digest'
            GROUP BY o.id ORDER BY o.id""")
    subjects = {str(r[1]): next(line for line in bytes(r[0]).split(b"\r\n")
                                if line.startswith(b"Subject:")) for r in rows}
    assert subjects["en1@example.org,en2@example.org"] == (
        b"Subject: [ccrlist] Digest, Vol 1, Issue 1")
    assert subjects["fr@example.ca"] == (
        b"Subject: =?utf-8?b?W2Njcmxpc3RdIENvbmRlbnPDqSwgdm9sLiAxLCBudW3DqXJvIDE=?=")
    assert b"Content-Type: text/plain" in next(bytes(r[0]) for r in rows
                                               if r[1] == "plain@example.org")


async def test_everything_sends_what_is_held_now(conn: Connection, settings: Settings,
                                                 runner: DigestRunner) -> None:
    await members(conn, {"w@example.org": WEEKLY})
    held = await Posting(conn, settings).send(1)
    assert await runner.send_due() == []
    [sent] = await runner.send_due(everything=True)
    assert sent.posts == 1
    _, digests = await queued(conn)
    assert digests["w@example.org"] == [held]


async def test_two_runs_at_once_send_each_post_once(conn: Connection, settings: Settings,
                                                    clock: FakeClock, runner: DigestRunner,
                                                    tmp_path: Path) -> None:
    await members(conn, {"d@example.org": DAILY, "f@example.org": DAILY},
                  lang={"f@example.org": "fr"})
    await Posting(conn, settings).send(2)
    clock.now = utc(2026, 3, 6, 13)
    other = await open_database(settings.database_path)
    try:
        second = DigestRunner(other, settings, clock=clock)
        plan_a = await runner.plan("ccrlist")
        plan_b = await second.plan("ccrlist")
        assert plan_a.due and plan_b.due
        # Both decided and rendered; the first to commit wins, the other writes nothing.
        store_a, store_b = DigestStore(conn), DigestStore(other)
        run_a = await runner._run(plan_a)
        run_b = await second._run(plan_b)
        await store_a.commit(run_a)
        from subscribers.digests import DigestConflict
        with pytest.raises(DigestConflict):
            await store_b.commit(run_b)
        assert await second.send_due() == []
    finally:
        await other.close()
    _, digests = await queued(conn)
    assert [len(d) for d in digests.values()] == [1, 1]
    [(count,)] = await conn.execute_fetchall("SELECT count(*) FROM digests")
    assert count == 1


async def test_issue_numbers_run_on_and_a_new_year_starts_a_volume(
        conn: Connection, settings: Settings, clock: FakeClock) -> None:
    clock.now = utc(2026, 12, 30, 12)
    runner = DigestRunner(conn, settings, clock=clock)
    await runner.send_due()
    await members(conn, {"d@example.org": DAILY})
    posting = Posting(conn, settings)
    numbers = []
    for when in (utc(2026, 12, 30, 13), utc(2026, 12, 31, 13), utc(2027, 1, 1, 13),
                 utc(2027, 1, 2, 13)):
        await posting.send(1)
        clock.now = when
        [sent] = await runner.send_due()
        numbers.append((sent.issue.volume, sent.issue.number))
    assert numbers == [(1, 1), (1, 2), (2, 1), (2, 2)]
