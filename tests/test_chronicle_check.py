"""`chronicle check` and the check that `chronicle publish` runs before sending."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ccrlist.config.settings import Settings
from echronicle.commands import chronicle
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import NewMember
from subscribers.queue import QueueStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def chron(settings: Settings) -> Settings:
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ROOT / "issues" / "vol12-2.md", settings.issues_dir / "vol12-2.md")
    return settings


def run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(chronicle, list(args), obj=settings)


def _spoil(settings: Settings) -> None:
    path = settings.issues_dir / "vol12-2.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Resettle 20,000", "TK Resettle",
                                                             1), encoding="utf-8")


async def _subscribe_and_count(settings: Settings) -> int:
    conn = await open_database(settings.database_path)
    try:
        await MemberStore(conn).add("echronicle", [NewMember("ana@example.org")])
        return (await QueueStore(conn).counts()).pending
    finally:
        await conn.close()


def test_check_passes_the_real_issue(chron: Settings) -> None:
    result = run(chron, "check", "vol12-2")
    assert result.exit_code == 0, result.output
    assert "vol12-2: no problems found" in result.output


def test_check_lists_problems_and_fails(chron: Settings) -> None:
    _spoil(chron)
    result = run(chron, "check", "vol12-2")
    assert result.exit_code == 1
    assert "problem: email (en): placeholder text 'TK' left in" in result.output
    assert "problem: text (en): placeholder text 'TK' left in" in result.output
    assert "2 problem(s) found" in result.output


def test_check_unknown_issue_is_a_usage_error(chron: Settings) -> None:
    result = run(chron, "check", "vol99-9")
    assert result.exit_code == 2
    assert "vol12-2" in result.output  # the ids that exist are listed


def test_links_are_skipped_cleanly_without_network(chron: Settings) -> None:
    path = chron.issues_dir / "vol12-2.md"
    text = path.read_text(encoding="utf-8").replace("https://ccrweb.ca", "https://ccrweb.invalid")
    path.write_text(text, encoding="utf-8")
    chron_offline = dataclasses.replace(chron, site=dataclasses.replace(
        chron.site, base_url="https://lists.invalid/chronicle/"))
    result = run(chron_offline, "check", "vol12-2", "--links")
    assert "links not checked: no network" in result.output
    assert result.exit_code == 0, result.output


def test_publish_refuses_an_issue_with_problems(chron: Settings) -> None:
    _spoil(chron)
    asyncio.run(_subscribe_and_count(chron))
    result = run(chron, "publish", "vol12-2")
    assert result.exit_code == 1
    assert "was not published" in result.output
    assert not (chron.site.output_dir / "vol12-2").exists()
    assert asyncio.run(_subscribe_and_count(chron)) == 0
    assert not chron.outbox_dir.exists()


def test_publish_force_sends_anyway(chron: Settings) -> None:
    _spoil(chron)
    asyncio.run(_subscribe_and_count(chron))
    result = run(chron, "publish", "vol12-2", "--force")
    assert result.exit_code == 0, result.output
    assert "problem: email (en)" in result.output
    assert "Sent 1" in result.output
    assert len(list((chron.outbox_dir / "new").iterdir())) == 1


def test_publish_no_send_builds_with_warnings(chron: Settings) -> None:
    _spoil(chron)
    result = run(chron, "publish", "vol12-2", "--no-send")
    assert result.exit_code == 0, result.output
    assert "problem: text (en)" in result.output
    assert (chron.site.output_dir / "vol12-2" / "index.html").exists()


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html;base64,PHNjcmlwdD4=",
                                  "vbscript:msgbox", "//evil.example/x"])
def test_check_refuses_links_it_will_not_make_with_file_and_line(chron: Settings,
                                                                 link: str) -> None:
    path = chron.issues_dir / "vol12-2.md"
    text = path.read_text(encoding="utf-8")
    line = text[:text.index("Resettle 20,000")].count("\n") + 1
    path.write_text(text.replace("Resettle 20,000", f"[Resettle]({link}) 20,000", 1), "utf-8")
    result = run(chron, "check", "vol12-2")
    assert result.exit_code == 1, result.output
    assert f"vol12-2.md:{line}: the link '{link}'" in result.output
    assert "no problems found" not in result.output
