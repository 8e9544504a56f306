"""`check_edition` on the real vol12-2 issue and on issues with an editor's mistakes."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ccrlist.config.settings import Settings
from echronicle.checks.preflight import check_edition, links_of
from echronicle.reading.library import load_edition, read_edition
from echronicle.reading.model import Edition
from echronicle.rendering.email import RenderedEmail, render_email, render_web_copy

ISSUES = Path(__file__).resolve().parent.parent / "issues"


def _settings(issues_dir: Path) -> Settings:
    return dataclasses.replace(Settings(), issues_dir=issues_dir)


def _emails(edition: Edition, settings: Settings) -> dict[str, RenderedEmail]:
    queued = datetime(2026, 11, 24, 12, tzinfo=UTC)
    return {issue.lang: render_email(issue, settings, queued) for issue in edition.versions}


def test_the_real_issue_passes_every_check() -> None:
    settings = _settings(ISSUES)
    edition = load_edition(ISSUES, "vol12-2")
    assert check_edition(edition, settings, _emails(edition, settings),
                         read_edition(ISSUES, "vol12-2")) == []


def test_placeholder_and_http_link_are_found(tmp_path: Path) -> None:
    shutil.copytree(ISSUES, tmp_path / "issues")
    source = (tmp_path / "issues" / "vol12-2.md")
    text = source.read_text(encoding="utf-8")
    text = text.replace("Resettle 20,000", "TODO Resettle 20,000", 1)
    source.write_text(text, encoding="utf-8")
    edition = load_edition(tmp_path / "issues", "vol12-2")
    settings = dataclasses.replace(_settings(tmp_path / "issues"),
                                   site=dataclasses.replace(Settings().site,
                                                            base_url="http://insecure.example/"))
    files = read_edition(tmp_path / "issues", "vol12-2")
    messages = [str(p) for p in check_edition(edition, settings, _emails(edition, settings),
                                              files)]
    line = text[:text.index("TODO")].count("\n") + 1
    assert messages[0] == f"vol12-2.md:{line}: placeholder text 'TODO' left in"
    assert any("http://insecure.example/" in m and "not an absolute https" in m
               for m in messages)


def test_links_of_lists_every_target() -> None:
    settings = _settings(ISSUES)
    edition = load_edition(ISSUES, "vol12-2")
    urls = links_of(render_web_copy(issue, settings) for issue in edition.versions)
    assert "https://lists.example.org/chronicle/vol12-2/" in urls
    assert all(u.startswith(("https:", "mailto:")) for u in urls)
