"""`chronicle check` and the check that `chronicle publish` runs before sending."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ccrlist.config.settings import LimitSettings, Settings
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


def _line_of(settings: Settings, words: str) -> int:
    text = (settings.issues_dir / "vol12-2.md").read_text(encoding="utf-8")
    return text[:text.index(words)].count("\n") + 1


def test_check_lists_problems_and_fails(chron: Settings) -> None:
    _spoil(chron)
    result = run(chron, "check", "vol12-2")
    assert result.exit_code == 1
    line = _line_of(chron, "TK Resettle")
    assert f"problem: vol12-2.md:{line}: placeholder text 'TK' left in" in result.output
    assert "1 problem(s) found" in result.output


def test_check_reports_every_problem_of_a_file_at_once(chron: Settings) -> None:
    """An image without alt text, a relative link and a leftover TODO: one run shows all three
    (and more), each with its line, parse errors included."""
    path = chron.issues_dir / "vol12-2.md"
    text = path.read_text(encoding="utf-8")
    text = text.replace("Resettle 20,000", "![](https://ccrweb.ca/x.png) Resettle 20,000", 1)
    text = text.replace("Niagara Falls", "Niagara Falls\n    room: 4", 1)
    text = text.replace("## Take Action", "## Take Action\n\nSee [our page](/about).", 1)
    text = text.replace("# Join the CCR", "TODO: check the fee\n\n> a quote\n\n# Join the CCR")
    text = text.replace("volume: 12", "volume: twelve", 1)
    path.write_text(text, encoding="utf-8")
    result = run(chron, "check", "vol12-2")
    assert result.exit_code == 1, result.output
    expected = [
        (_line_of(chron, "volume: twelve"), "'volume' must be a whole number"),
        (_line_of(chron, "  - name: CCR Fall"), "meeting 1: unknown field 'room'"),
        (_line_of(chron, "![](https://ccrweb.ca/x.png)"), "has no alt text"),
        (_line_of(chron, "See [our page]"), "the link '/about' is not an absolute URL"),
        (_line_of(chron, "TODO: check"), "placeholder text 'TODO' left in"),
        (_line_of(chron, "> a quote"), "(blockquote) is not supported"),
    ]
    problems = [line for line in result.output.splitlines() if line.startswith("problem: ")]
    assert len(problems) == len(expected), result.output
    for (line, message), shown in zip(sorted(expected), problems, strict=True):
        assert shown.startswith(f"problem: vol12-2.md:{line}: "), (shown, line)
        assert message in shown
    assert "vol12-2: 6 problem(s) found" in result.output


def test_check_reports_problems_in_every_language_version(chron: Settings) -> None:
    shutil.copy(ROOT / "issues" / "vol12-2.fr.md", chron.issues_dir / "vol12-2.fr.md")
    for name in ("vol12-2.md", "vol12-2.fr.md"):
        path = chron.issues_dir / name
        path.write_text(path.read_text("utf-8").replace("summary:", "colour: red\nsummary:"),
                        "utf-8")
    result = run(chron, "check", "vol12-2")
    assert result.exit_code == 1, result.output
    assert "problem: vol12-2.fr.md:" in result.output and "problem: vol12-2.md:" in result.output
    assert "2 problem(s) found" in result.output
    published = run(chron, "publish", "vol12-2", "--no-send")  # refused, naming both
    assert published.exit_code == 1
    assert "vol12-2.fr.md:" in published.output and "vol12-2.md:" in published.output


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
    assert "placeholder text 'TK' left in" in result.output
    assert "Sent 1" in result.output
    assert len(list((chron.outbox_dir / "new").iterdir())) == 1


def test_publish_no_send_builds_with_warnings(chron: Settings) -> None:
    _spoil(chron)
    result = run(chron, "publish", "vol12-2", "--no-send")
    assert result.exit_code == 0, result.output
    assert f"problem: vol12-2.md:{_line_of(chron, 'TK Resettle')}: placeholder" in result.output
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


def test_an_issue_file_over_max_issue_bytes_is_an_editor_error(chron: Settings) -> None:
    size = (chron.issues_dir / "vol12-2.md").stat().st_size
    small = dataclasses.replace(chron, limits=LimitSettings(max_issue_bytes=size - 1))
    for args in (["check", "vol12-2"], ["publish", "vol12-2", "--no-send"],
                 ["preview", "vol12-2"], ["build"]):
        result = run(small, *args)
        assert result.exit_code == 1, (args, result.output)
        assert (f"vol12-2.md: the file is {size:,} bytes, more than the {size - 1:,} an issue "
                "may have ([limits] max_issue_bytes)") in result.output, args
        assert "Traceback" not in result.output
    assert not (chron.site.output_dir / "vol12-2").exists()  # build left it out
    assert run(dataclasses.replace(chron, limits=LimitSettings(max_issue_bytes=size)),
               "check", "vol12-2").exit_code == 0


def test_a_huge_issue_file_is_refused_without_being_read(chron: Settings) -> None:
    huge = chron.issues_dir / "vol99-1.md"
    with huge.open("wb") as out:  # 24 MB, as in the issue, but sparse: quick to make
        out.truncate(24 * 1024 * 1024)
    result = run(chron, "check", "vol99-1")
    assert result.exit_code == 1
    assert "vol99-1.md: the file is 25,165,824 bytes, more than the 1,048,576" in result.output
