"""`ccrlist deliveries`, `retry`, `status` and `members show` through click's CliRunner on a
real SQLite file, and the pure helpers they write and read with."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from pathlib import Path

import pytest
from ccrlist_helpers import DOMAIN, message
from click.testing import CliRunner, Result

from ccrlist.commands.delivery_text import age, parse_since
from ccrlist.commands.status import describe_lists, describe_replies
from ccrlist.config.loader import load_settings
from ccrlist.copies.expander import Expander
from cli import ccrlist
from subscribers.bounces import BounceStore
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember
from subscribers.operator_models import ListFigures, ReplyCount
from subscribers.owners import OwnerStore
from subscribers.post_models import NewPost, Outcome
from subscribers.posts import PostStore
from subscribers.queue import QueueStore

MEMBERS = ["ana@example.org", "ben@example.org", "cy@example.org", "di@example.org"]
NOW = time.time()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "ccr.toml"
    path.write_text(f'domain = "{DOMAIN}"\ndata_dir = "{tmp_path / "var"}"\n',
                    encoding="utf-8")
    asyncio.run(seed(path))
    return path


async def seed(path: Path) -> None:
    """Post 1 went to four members: ana sent, ben refused (550), cy deferred (451), di
    refused with a reply a spreadsheet would run; post 2 is held."""
    settings = load_settings(path)
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).add("ccrlist", [NewMember(a) for a in MEMBERS])
        await OwnerStore(conn).add("ccrlist", "owner@example.net")
        posts = PostStore(conn)
        await posts.store_batch([
            NewPost("ccrlist", "<p1@example.org>", "ana@example.org", "Budget",
                    "ana@example.org", message(message_id="<p1@example.org>"), "accepted"),
            NewPost("ccrlist", "<p2@example.org>", "x@example.com", "Spam", "x@example.com",
                    message(message_id="<p2@example.org>"), "held", "nonmember")])
        await Expander(posts, settings, lambda: None).expand_pending()
        await QueueStore(conn).record([
            Outcome(1, "ana@example.org", "sent", "250 2.0.0 ok"),
            Outcome(1, "ben@example.org", "failed", "550 5.1.1 user unknown", bounce=True),
            Outcome(1, "cy@example.org", "deferred", "451 4.7.1 greylisted",
                    next_try_at=NOW + 3600),
            Outcome(1, "di@example.org", "failed", "=cmd|' /C calc'!A0"),
        ], now=NOW - 60)
    finally:
        await conn.close()


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(ccrlist, ["--config", str(config), *args])


def lines(result: Result) -> list[list[str]]:
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_deliveries_one_line_per_recipient_with_the_last_reply(config: Path) -> None:
    result = run(config, "deliveries")
    found = lines(result)
    assert [(r[2], r[3], r[4]) for r in found] == [
        ("ana@example.org", "sent", "1"), ("ben@example.org", "failed", "1"),
        ("cy@example.org", "deferred", "1"), ("di@example.org", "failed", "1")]
    by_recipient = {r[2]: r for r in found}
    assert by_recipient["ben@example.org"][7] == "550 5.1.1 user unknown"
    assert by_recipient["ben@example.org"][5] == "-"  # no next try for a failure
    assert by_recipient["cy@example.org"][5].endswith("Z")
    assert all(r[0].startswith("post 1 (ccrlist/") and r[1] == "ccrlist" for r in found)
    assert "4 deliveries (1 deferred, 2 failed, 1 sent)" in result.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (("--status", "failed"), ["ben@example.org", "di@example.org"]),
    (("--to", "CY@example.org"), ["cy@example.org"]),
    (("--post", "1", "--status", "sent"), ["ana@example.org"]),
    (("--since", "2h"), MEMBERS),
    (("--since", "2099-01-01"), []),
    (("--to", "nobody@example.org"), []),
])
def test_deliveries_filters(config: Path, args: tuple[str, ...], expected: list[str]) -> None:
    assert [r[2] for r in lines(run(config, "deliveries", *args))] == expected


def test_deliveries_by_permalink_and_of_a_post_without_deliveries(config: Path) -> None:
    permalink = lines(run(config, "deliveries"))[0][0].split("(")[1].rstrip(")")
    assert len(lines(run(config, "deliveries", "--post", permalink))) == 4
    held = run(config, "deliveries", "--post", "2")
    assert held.exit_code == 0 and held.stdout == ""
    assert "post 2 has no deliveries: it is held" in held.stderr


@pytest.mark.parametrize(("args", "code", "says"), [
    (("deliveries", "--post", "99"), 1, "no post '99'"),
    (("deliveries", "--status", "lost"), 2, "'lost' is not one of"),
    (("deliveries", "--since", "yesterday"), 2, "is not a date"),
    (("deliveries", "--to", "not an address"), 2, "Invalid value for '--to'"),
    (("retry", "--post", "nope/1"), 1, "no post 'nope/1'"),
    (("members", "show", "stranger@example.org"), 1, "is not on any list"),
])
def test_bad_input_is_a_clean_error(config: Path, args: tuple[str, ...], code: int,
                                    says: str) -> None:
    result = run(config, *args)
    assert result.exit_code == code and says in result.output
    assert "Traceback" not in result.output


def test_deliveries_csv_for_spreadsheets(config: Path) -> None:
    result = run(config, "deliveries", "--csv")
    assert result.exit_code == 0
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["recipient"] for r in table] == MEMBERS
    assert table[1]["last_reply"] == "550 5.1.1 user unknown"
    assert table[3]["last_reply"] == "'=cmd|' /C calc'!A0"  # shown as text, never run
    done = [r for r in table if r["status"] in ("sent", "failed")]
    assert done and all(r["next_try"] == "" for r in done)  # empty, not "-" (read as "'-")
    assert list(table[0]) == ["message", "list", "recipient", "status", "attempts", "next_try",
                              "last_change", "last_reply"]


async def states(config: Path) -> dict[str, tuple[str, float]]:
    conn = await open_database(load_settings(config).database_path)
    try:
        return {r[0]: (r[1], float(r[2])) for r in await conn.execute_fetchall(
            "SELECT recipient, status, next_try_at FROM deliveries")}
    finally:
        await conn.close()


def test_retry_makes_deferred_due_and_failed_only_with_failed(config: Path) -> None:
    result = run(config, "retry", "--to", "ben@example.org")
    assert result.exit_code == 0 and result.stdout == "0 deferred deliveries due now\n"
    before = time.time()
    result = run(config, "retry")
    assert result.stdout == "1 deferred delivery due now\n"
    assert "sends them within seconds" in result.stderr
    found = asyncio.run(states(config))
    assert found["cy@example.org"][0] == "deferred" and found["cy@example.org"][1] <= time.time()
    assert found["cy@example.org"][1] >= before - 1
    assert found["ben@example.org"][0] == "failed"
    result = run(config, "retry", "--post", "1", "--to", "ben@example.org", "--failed")
    assert result.stdout == "0 deferred deliveries due now, 1 failed one(s) queued again\n"
    found = asyncio.run(states(config))
    assert found["ben@example.org"][0] == "deferred"
    assert found["di@example.org"][0] == "failed"
    assert found["ana@example.org"][0] == "sent"


def test_status_per_list_oldest_deferred_and_replies_by_code(config: Path) -> None:
    result = run(config, "status")
    assert result.exit_code == 0
    out = result.stdout
    assert "posts held:             1" in out
    assert "  list        members  accepted  held  pending  deferred  failed  sent" in out
    assert "  ccrlist           4         1     1        0         1       2     1" in out
    assert "oldest deferred:        cy@example.org, post 1 (ccrlist/" in out
    assert "  last reply:           451 4.7.1 greylisted" in out
    assert "  550         1 failed       0 deferred" in out
    assert "  451         0 failed       1 deferred" in out


def test_members_show(config: Path) -> None:
    async def more() -> None:
        conn = await open_database(load_settings(config).database_path)
        try:
            await MemberStore(conn).add("echronicle", [NewMember("ben@example.org", "Ben B",
                                                                 "fr")])
            for day in (1, 2):
                await BounceStore(conn).record("ccrlist", "ben@example.org", "soft",
                                               f"452 4.2.2 mailbox full ({day})",
                                               NOW - day * 86400)
        finally:
            await conn.close()

    asyncio.run(more())
    out = run(config, "members", "show", "BEN@example.org").stdout
    assert out.startswith("address:   ben@example.org\nname:      Ben B\nlanguage:  fr\n")
    ccr = out.split("\nccrlist:\n")[1].split("\n\n")[0]
    assert "  status:         active" in ccr and "  delivery mode:  each" in ccr
    # The relay's 550 is a hard bounce (one day); soft ones only count once they last.
    assert "  bounce score:   1 (disabled at 3; bounce days in the last 30 days)" in ccr
    reports = ccr.split("  last reports:   ")[1].split("\n  last delivery")[0]
    assert [line.strip().split(" ", 1)[1] for line in reports.splitlines()] == [
        "hard: 550 5.1.1 user unknown", "soft: 452 4.2.2 mailbox full (1)",
        "soft: 452 4.2.2 mailbox full (2)"]
    assert "failed, post 1 (ccrlist/" in ccr and "1 attempt(s): 550 5.1.1 user unknown" in ccr
    assert "\nechronicle:\n" in out and "  last delivery:  -" in out.split("\nechronicle:\n")[1]
    owner = run(config, "members", "show", "owner@example.net")
    assert owner.exit_code == 0 and "owner of:  ccrlist" in owner.stdout


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-24", 1795478400.0),
    ("2026-11-24T10:00", 1795478400.0 + 36000),
    ("2026-11-24T10:00:00Z", 1795478400.0 + 36000),
    ("2026-11-24T10:00:00-05:00", 1795478400.0 + 54000),
    ("30m", 1_000_000.0 - 1800),
    ("24h", 1_000_000.0 - 86400),
    (" 7d ", 1_000_000.0 - 7 * 86400),
    ("2w", 1_000_000.0 - 14 * 86400),
])
def test_parse_since(text: str, expected: float) -> None:
    assert parse_since(text, 1_000_000.0) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "24", "h24", "2026-13-01", "7 days", "-1d"])
def test_parse_since_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        parse_since(text, 0.0)


@pytest.mark.parametrize(("seconds", "text"), [
    (-5, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3600 * 3 + 1200, "3 h 20 min"),
    (86400 * 2 + 3600 * 4 + 5, "2 d 4 h"),
])
def test_age(seconds: float, text: str) -> None:
    assert age(seconds) == text


def test_describe_lists_aligns_columns() -> None:
    table = describe_lists([ListFigures("ccrlist", 2001, 12, 0, 0, 3, 100, 1898),
                            ListFigures("echronicle", 5, 0, 0, 0, 0, 0, 0)])
    assert table == [
        "  list        members  accepted  held  pending  deferred  failed  sent",
        "  ccrlist        2001        12     0        0         3     100  1898",
        "  echronicle        5         0     0        0         0       0     0"]


def test_describe_replies() -> None:
    assert describe_replies([]) == ["last 24 h:              no delivery failed or was deferred"]
    assert describe_replies([ReplyCount("0", 0, 7)])[1] == (
        "  0           0 failed       7 deferred  (no answer: relay unavailable or timed out)")
