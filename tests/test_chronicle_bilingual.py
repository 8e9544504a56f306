"""Bilingual issues: the real French vol12-2, per-language delivery, fallback and refusals."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import shutil
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ccrlist.config.settings import Settings
from echronicle.commands import chronicle
from echronicle.plan import Fallback, fallbacks, plan_deliveries
from echronicle.reading.errors import IssueError
from echronicle.reading.library import load_edition
from echronicle.reading.model import LANGS, Block, Edition, Issue, ListBlock
from echronicle.reading.parse import parse_issue
from echronicle.rendering.email import render_email
from echronicle.rendering.email_text import blocks_text
from echronicle.rendering.labels import CATALOGUE, format_date, format_range, only_in, words
from subscribers.db import open_database
from subscribers.members import MemberStore
from subscribers.models import Member, NewMember
from subscribers.queue import QueueStore

ROOT = Path(__file__).resolve().parent.parent
QUEUED = datetime(2026, 11, 24, 12, tzinfo=UTC)
ISSUES = ROOT / "issues"


# --- the French sample issue ---------------------------------------------------------------

@pytest.fixture(scope="module")
def real() -> Edition:
    return load_edition(ISSUES, "vol12-2")


def test_real_issue_has_a_complete_french_version(real: Edition) -> None:
    en, fr = real.version("en"), real.version("fr")
    assert (en.lang, fr.lang) == ("en", "fr") and fr.source == "vol12-2.fr.md"
    assert (fr.volume, fr.number, fr.date) == (en.volume, en.number, en.date)
    assert len(fr.items) == len(en.items) == 5
    assert len(fr.meetings) == len(en.meetings)
    assert [(m.start, m.end, m.place) for m in fr.meetings] == \
        [(m.start, m.end, m.place) for m in en.meetings]
    assert [s.title for s in fr.sections] == ["Devenez membre du CCR"]
    assert bool(fr.image) and fr.image_alt == "Chronique du CCR"
    # Every item keeps its shape: same number of paragraphs, lists and bullets.
    for mine, theirs in zip(fr.items, en.items, strict=True):
        assert [type(b).__name__ for b in mine.blocks] == \
            [type(b).__name__ for b in theirs.blocks]
        assert _bullets(mine.blocks) == _bullets(theirs.blocks)
    # Every link target of the English version is there, or its ccrweb.ca/fr/ equivalent.
    for url in _urls(en):
        assert url in _urls(fr) or url.replace("ccrweb.ca/en/", "ccrweb.ca/fr/") in _urls(fr)
    assert "Conseil canadien pour les réfugiés (CCR)" in _all_text(fr)


def _bullets(blocks: tuple[Block, ...]) -> list[int]:
    return [len(b.items) for b in blocks if isinstance(b, ListBlock)]


def _all_text(issue: Issue) -> str:
    parts = [blocks_text(issue.intro)]
    parts += [blocks_text(item.blocks) for item in issue.items]
    parts += [blocks_text(section.blocks) for section in issue.sections]
    return "\n".join(parts)


def _urls(issue: Issue) -> set[str]:
    return set(re.findall(r"(?:https://|mailto:)[^\s>)]+", _all_text(issue)))


def test_french_email_uses_the_catalogue(real: Edition) -> None:
    rendered = render_email(real.version("fr"), Settings(), QUEUED)
    for text in ("DANS CE NUMÉRO", "RÉUNIONS À VENIR", "3 octobre 2017",
                 "30 novembre \u2013 2 décembre 2017", "Voir ce numéro dans votre navigateur :",
                 "Se désabonner : ", "Montréal (Québec)"):
        assert text in rendered.text, text
    for english in ("In this issue", "Upcoming meetings", "View this issue", "Unsubscribe",
                    "October", "December"):
        assert english.lower() not in rendered.text.lower(), english
    msg = email.message_from_bytes(rendered.message, policy=email.policy.default)
    assert msg["Content-Language"] == "fr"
    assert msg["Subject"].startswith("Chronique électronique Vol. 12 no 2")
    assert "Chronique électronique du CCR" in msg["List-Id"]


# --- the catalogue -------------------------------------------------------------------------

def test_catalogue_has_every_language_and_no_empty_entry() -> None:
    assert sorted(CATALOGUE) == sorted(LANGS)
    for lang, entry in CATALOGUE.items():
        assert entry.lang == lang
        for field in fields(entry):
            assert getattr(entry, field.name), (lang, field.name)
        assert sorted(entry.language_names) == sorted(LANGS)
        assert len(set(entry.months)) == 12


@pytest.mark.parametrize(("start", "end", "lang", "expected"), [
    ("2017-10-03", None, "en", "3 October 2017"),
    ("2017-10-03", None, "fr", "3 octobre 2017"),
    ("2018-02-01", None, "fr", "1er février 2018"),
    ("2018-02-01", None, "en", "1 February 2018"),
    ("2018-02-23", "2018-02-24", "fr", "23\u201324 février 2018"),
    ("2017-11-30", "2017-12-02", "fr", "30 novembre \u2013 2 décembre 2017"),
])
def test_dates_per_locale(start: str, end: str | None, lang: str, expected: str) -> None:
    first = date.fromisoformat(start)
    if end is None:
        assert format_date(first, lang) == expected
    assert format_range(first, date.fromisoformat(end) if end else None, lang) == expected


def test_only_in_speaks_the_readers_language() -> None:
    assert only_in("fr", "en") == "(en anglais seulement)"
    assert only_in("en", "fr") == "(in French only)"
    assert words("fr").read_in == "Lire en français" and words("en").read_in == "Read in English"


# --- planning who gets which version (pure) ------------------------------------------------

HEAD = """---
title: T
volume: 12
number: 3
date: 2017-11-07
lang: {lang}
summary: S.
---

## Item

Text.
"""


def _edition(*langs: str) -> Edition:
    versions = [parse_issue("vol12-3.md" if n == 0 else f"vol12-3.{lang}.md",
                            HEAD.format(lang=lang)) for n, lang in enumerate(langs)]
    return Edition("vol12-3", tuple(versions))


def _member(address: str, lang: str, status: str = "active", mode: str = "each") -> Member:
    return Member("echronicle", address, "", lang, status, mode,  # type: ignore[arg-type]
                  f"tok-{address}", None, None)


# The receivers of the list, as the store gives them (who receives is decided there, once).
MEMBERS = [_member("a@x.org", "en"), _member("b@x.org", "fr"), _member("c@x.org", "fr"),
           _member("d@x.org", "fr"), _member("e@x.org", "en")]


@pytest.mark.parametrize(("langs", "groups", "fallen"), [
    (("en", "fr"), {"en": ["a", "e"], "fr": ["b", "c", "d"]}, []),
    (("en",), {"en": ["a", "b", "c", "d", "e"]}, [Fallback("fr", "en", 3)]),
    (("fr",), {"fr": ["a", "b", "c", "d", "e"]}, [Fallback("en", "fr", 2)]),
    (("fr", "en"), {"fr": ["b", "c", "d"], "en": ["a", "e"]}, []),
])
def test_each_member_gets_their_language_else_the_other(
        langs: tuple[str, ...], groups: dict[str, list[str]], fallen: list[Fallback]) -> None:
    edition = _edition(*langs)
    planned = {d.lang: sorted(r.address.split("@")[0] for r in d.recipients)
               for d in plan_deliveries(edition, MEMBERS)}
    assert planned == groups
    assert fallbacks(edition, MEMBERS) == fallen


def test_fallback_is_described_with_its_count() -> None:
    assert Fallback("fr", "en", 3).describe("vol12-3") == \
        "3 subscriber(s) prefer fr but vol12-3 has no fr version; they get en"


# --- versions that disagree ----------------------------------------------------------------

@pytest.mark.parametrize(("field", "old", "new"), [
    ("volume", "volume: 12", "volume: 13"),
    ("number", "number: 3", "number: 4"),
    ("date", "date: 2017-11-07", "date: 2017-11-08"),
])
def test_versions_that_disagree_cannot_be_loaded(tmp_path: Path, field: str, old: str,
                                                 new: str) -> None:
    (tmp_path / "vol12-3.md").write_text(HEAD.format(lang="en"), "utf-8")
    (tmp_path / "vol12-3.fr.md").write_text(HEAD.format(lang="fr").replace(old, new), "utf-8")
    with pytest.raises(IssueError) as caught:
        load_edition(tmp_path, "vol12-3")
    message = str(caught.value)
    assert message.startswith("vol12-3.fr.md: the language versions disagree")
    assert f"says {field} {new.split(': ')[1]} but vol12-3.md says {old.split(': ')[1]}" \
        in message


# --- the publish command -------------------------------------------------------------------

def run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(chronicle, list(args), obj=settings)


def _subscribe(settings: Settings, people: list[tuple[str, str]]) -> None:
    async def go() -> None:
        conn = await open_database(settings.database_path)
        try:
            await MemberStore(conn).add("echronicle", [NewMember(a, "", lang)  # type: ignore[arg-type]
                                                       for a, lang in people])
        finally:
            await conn.close()
    asyncio.run(go())


def _queued(settings: Settings) -> int:
    async def go() -> int:
        conn = await open_database(settings.database_path)
        try:
            return (await QueueStore(conn).counts()).pending
        finally:
            await conn.close()
    return asyncio.run(go())


PEOPLE = [("ana@example.org", "en"), ("bob@example.net", "fr"), ("cy@example.com", "fr"),
          ("di@example.com", "fr")]


def test_publish_sends_each_subscriber_their_language(settings: Settings) -> None:
    shutil.copytree(ISSUES, settings.issues_dir)
    _subscribe(settings, PEOPLE)
    result = run(settings, "publish", "vol12-2")
    assert result.exit_code == 0, result.output
    assert "Sent 4" in result.output and "prefer" not in result.output
    languages = sorted(_content_languages(settings))
    assert languages == ["en", "fr", "fr", "fr"]
    site = settings.site.output_dir
    for name in ("index.html", "fr/index.html", "feed.xml", "atom.xml", "fr/feed.xml",
                 "fr/atom.xml", "vol12-2/index.html", "vol12-2/fr/index.html"):
        assert (site / name).is_file(), name


def _content_languages(settings: Settings) -> list[str]:
    langs = []
    for path in (settings.outbox_dir / "new").iterdir():
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        langs.append(str(msg["Content-Language"]))
    return langs


def test_publish_says_how_many_get_the_other_language(settings: Settings) -> None:
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ISSUES / "vol12-2.md", settings.issues_dir / "vol12-3.md")
    _subscribe(settings, PEOPLE)
    result = run(settings, "publish", "vol12-3")
    assert result.exit_code == 0, result.output
    assert "3 subscriber(s) prefer fr but vol12-3 has no fr version; they get en" \
        in result.output
    assert "Sent 4" in result.output
    assert sorted(_content_languages(settings)) == ["en"] * 4


def test_test_copy_in_a_missing_language_says_so(settings: Settings) -> None:
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ISSUES / "vol12-2.md", settings.issues_dir / "vol12-2.md")
    result = run(settings, "publish", "vol12-2", "--to", "editor@example.org", "--lang", "fr")
    assert result.exit_code == 0, result.output
    assert "vol12-2 has no fr version; the test copy is in en" in result.output


@pytest.mark.parametrize(("old", "new"), [
    ("volume: 12", "volume: 11"), ("number: 2", "number: 3"),
    ("date: 2017-10-03", "date: 2017-10-04"),
])
@pytest.mark.parametrize("extra", [[], ["--force"], ["--no-send"]])
def test_publish_refuses_versions_that_disagree(settings: Settings, old: str, new: str,
                                                extra: list[str]) -> None:
    shutil.copytree(ISSUES, settings.issues_dir)
    french = settings.issues_dir / "vol12-2.fr.md"
    text = french.read_text("utf-8")
    assert old in text
    french.write_text(text.replace(old, new, 1), "utf-8")
    _subscribe(settings, PEOPLE)
    result = run(settings, "publish", "vol12-2", *extra)
    assert result.exit_code == 1, result.output
    assert "vol12-2.fr.md: the language versions disagree" in result.output
    assert "Traceback" not in result.output
    assert not settings.site.output_dir.exists()
    assert not settings.outbox_dir.exists()
    assert _queued(settings) == 0


def test_french_list_id_keeps_the_list_id_outside_the_encoded_phrase() -> None:
    issues = Path(__file__).resolve().parent.parent / "issues"
    french = load_edition(issues, "vol12-2").version("fr")
    raw = render_email(french, Settings(), QUEUED).message
    header = next(line for line in raw.split(b"\r\n") if line.startswith(b"List-Id:"))
    assert header.endswith(b" <echronicle.lists.example.org>")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["List-Id"]) == "Chronique électronique du CCR <echronicle.lists.example.org>"
