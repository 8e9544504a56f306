"""Delivery modes and digests through the CLI (click's CliRunner): `members set`, the mode in
`members list`, `export` and `import`, and `digests show` and `digests send`."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from digestkit import Posting, posts_in

from ccrlist.config.loader import load_settings
from ccrlist.digests.schedule import local_day
from cli import ccrlist, chronicle
from subscribers.db import open_database


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ccr.toml"
    path.write_text('data_dir = "var"\n', encoding="utf-8")
    monkeypatch.delenv("CCR_CONFIG", raising=False)
    return path


def invoke(config: Path, group: click.Group, *args: str) -> Result:
    return CliRunner().invoke(group, ["--config", str(config), *args])


def day_after_tomorrow(config: Path) -> str:
    settings = load_settings(config)
    return (local_day(time.time(), settings.digest.zone) + timedelta(days=2)).isoformat()


def lines(result: Result) -> list[str]:
    return result.stdout.strip().splitlines()


def test_members_set_and_list(config: Path) -> None:
    assert invoke(config, ccrlist, "members", "add", "jo@example.org").exit_code == 0
    done = invoke(config, ccrlist, "members", "set", "jo@example.org", "--mode", "daily",
                  "--format", "plain")
    assert done.exit_code == 0, done.output
    assert done.stdout == "jo@example.org on ccrlist: daily, plain text\n"
    until = day_after_tomorrow(config)
    done = invoke(config, ccrlist, "members", "set", "jo@example.org", "--pause-until", until,
                  "--lang", "fr")
    assert done.stdout == (f"jo@example.org on ccrlist: nomail until {until}, then daily, "
                           "plain text; language fr\n")
    assert lines(invoke(config, ccrlist, "members", "list")) == [
        f"jo@example.org\t\tfr\tactive\tnomail until {until}, then daily, plain text"]
    done = invoke(config, ccrlist, "members", "set", "jo@example.org", "--resume")
    assert done.stdout == "jo@example.org on ccrlist: daily, plain text\n"
    done = invoke(config, ccrlist, "members", "set", "jo@example.org", "--pause")
    assert done.stdout == "jo@example.org on ccrlist: nomail, then daily, plain text\n"


@pytest.mark.parametrize(("args", "code", "message"), [
    ((), 2, "nothing to change"),
    (("--mode", "hourly"), 2, "'hourly' is not one of 'each', 'daily', 'weekly'"),
    (("--pause-until", "2020-01-01"), 2, "the pause must end after today"),
    (("--pause-until", "tomorrowish"), 2, "does not match the format"),
    (("--pause", "--resume"), 2, "give only one of --pause-until, --pause and --resume"),
    (("--mode", "daily", "--list", "nope"), 1, "no list named 'nope'"),
    (("--mode", "daily", "--list", "echronicle"), 1, "echronicle offers no digests"),
])
def test_members_set_refuses_with_a_message(config: Path, args: tuple[str, ...], code: int,
                                            message: str) -> None:
    invoke(config, ccrlist, "members", "add", "jo@example.org")
    invoke(config, ccrlist, "members", "add", "jo@example.org", "--list", "echronicle")
    result = invoke(config, ccrlist, "members", "set", "jo@example.org", *args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    listing = invoke(config, ccrlist, "members", "list")
    assert listing.stdout == "jo@example.org\t\ten\tactive\teach\n"


def test_setting_a_stranger_is_an_error(config: Path) -> None:
    result = invoke(config, ccrlist, "members", "set", "who@example.org", "--mode", "daily")
    assert result.exit_code == 1
    assert "who@example.org is not a member of ccrlist" in result.output


def test_newsletter_subscribers_may_pause(config: Path) -> None:
    invoke(config, chronicle, "subscribers", "add", "jo@example.org")
    done = invoke(config, chronicle, "subscribers", "set", "jo@example.org", "--pause")
    assert done.exit_code == 0
    assert "nomail, then each" in done.stdout


def test_export_and_import_carry_the_mode(config: Path, tmp_path: Path) -> None:
    until = day_after_tomorrow(config)
    source = tmp_path / "in.csv"
    source.write_text("email,name,lang,mode,format,pause\n"
                      "a@example.org,A,en,daily,plain,no\n"
                      f"b@example.org,B,fr,weekly,,{until}\n"
                      "c@example.org,C,en,nomail\n"
                      "d@example.org,D,en\n"
                      "e@example.org,E,en,hourly\n"
                      "f@example.org,F,en,each,,2020-01-01\n", encoding="utf-8")
    result = invoke(config, ccrlist, "members", "import", str(source))
    assert result.exit_code == 1  # two bad rows, reported; the rest imported
    assert "in.csv:6: mode must be one of each, daily, weekly or nomail" in result.output
    assert "in.csv:7: the pause must end after today" in result.output
    assert "ccrlist: 4 added" in result.output
    assert lines(invoke(config, ccrlist, "members", "list")) == [
        "a@example.org\tA\ten\tactive\tdaily, plain text",
        f"b@example.org\tB\tfr\tactive\tnomail until {until}, then weekly",
        "c@example.org\tC\ten\tactive\tnomail, then each",
        "d@example.org\tD\ten\tactive\teach"]
    exported = invoke(config, ccrlist, "members", "export")
    assert exported.stdout == ("email,name,lang,mode,format,pause\n"
                               "a@example.org,A,en,daily,plain,no\n"
                               f"b@example.org,B,fr,weekly,mime,{until}\n"
                               "c@example.org,C,en,each,mime,yes\n"
                               "d@example.org,D,en,each,mime,no\n")
    # Into a fresh database, the export makes the same members.
    other = tmp_path / "other.toml"
    other.write_text('data_dir = "var2"\n', encoding="utf-8")
    back = tmp_path / "back.csv"
    back.write_text(exported.stdout, encoding="utf-8")
    assert invoke(other, ccrlist, "members", "import", str(back)).exit_code == 0
    assert invoke(other, ccrlist, "members", "export").stdout == exported.stdout
    assert "0 added, 0 updated, 4 unchanged" in invoke(
        config, ccrlist, "members", "import", str(back)).output
    # The newsletter list takes no digest modes.
    news = tmp_path / "news.csv"
    news.write_text("x@example.org,,,daily\n", encoding="utf-8")
    refused = invoke(config, ccrlist, "members", "import", str(news), "--list", "echronicle")
    assert refused.exit_code == 1 and "this list has no digests" in refused.output


def test_digests_show_and_send(config: Path) -> None:
    for address in ("d1@example.org", "d2@example.org", "w@example.org", "p@example.org"):
        invoke(config, ccrlist, "members", "add", address)
    invoke(config, ccrlist, "members", "set", "d1@example.org", "--mode", "daily")
    invoke(config, ccrlist, "members", "set", "d2@example.org", "--mode", "daily")
    invoke(config, ccrlist, "members", "set", "w@example.org", "--mode", "weekly")
    invoke(config, ccrlist, "members", "set", "p@example.org", "--mode", "daily")
    settings = load_settings(config)

    async def post() -> list[str]:
        conn = await open_database(settings.database_path)
        try:
            sent = await Posting(conn, settings).send(2)
            await conn.execute(
                "UPDATE memberships SET delivery_mode = 'nomail', resume_mode = 'daily' "
                "WHERE person_id = (SELECT id FROM people WHERE address = 'p@example.org')")
            await conn.commit()
            return sent
        finally:
            await conn.close()

    sent = asyncio.run(post())
    shown = invoke(config, ccrlist, "digests", "show", "--list", "ccrlist")
    assert shown.exit_code == 0, shown.output
    out = lines(shown)
    assert out[0] == "ccrlist: next issue Vol 1, Issue 1"
    assert out[1].startswith("  daily digest, en, MIME: 2 member(s), 2 post(s), ")
    assert out[2:4] == ["    1. Post 1 (author@example.org)", "    2. Post 2 (author@example.org)"]
    assert out[4].startswith("  weekly digest, en, MIME: 1 member(s), 2 post(s), ")
    assert out[-1] == "  paused: 1 member(s), 2 post(s) held for the first digest after their pause"
    # Not due yet (the schedule starts now), so nothing goes; with --all everything does.
    assert lines(invoke(config, ccrlist, "digests", "send")) == [
        "no digest is due (--all sends every held post now)"]
    done = invoke(config, ccrlist, "digests", "send", "--all", "--list", "ccrlist")
    assert done.exit_code == 0
    assert lines(done) == ["ccrlist: queued Vol 1, Issue 1: 2 post(s) to 3 member(s) in "
                           "2 message(s)"]
    assert lines(invoke(config, ccrlist, "digests", "send", "--all")) == [
        "no digest is due"]
    show_again = lines(invoke(config, ccrlist, "digests", "show"))
    assert show_again[0] == "ccrlist: next issue Vol 1, Issue 2"
    assert show_again[-1].startswith("echronicle: no post is held")

    async def digests() -> list[list[str]]:
        conn = await open_database(settings.database_path)
        try:
            rows = await conn.execute_fetchall(
                "SELECT body FROM outgoing WHERE source = 'digest' ORDER BY id")
            return [posts_in(bytes(r[0])) for r in rows]
        finally:
            await conn.close()

    assert asyncio.run(digests()) == [sent, sent]
    unknown = invoke(config, ccrlist, "digests", "show", "--list", "nope")
    assert unknown.exit_code == 1 and "no list named 'nope'" in unknown.output
