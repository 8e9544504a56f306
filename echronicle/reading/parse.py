"""Parse one issue file's text into an `Issue`, or raise an `IssueProblems` naming the file and
the line of every mistake in it (pure)."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from echronicle.reading.errors import Findings, IssueError
from echronicle.reading.frontmatter import FrontMatter, split_front_matter
from echronicle.reading.markdown import CONTROL, IMAGE_SCHEMES, parse_body, url_problem
from echronicle.reading.model import LANGS, Issue, Item, Lang, Meeting, Section, is_issue_id

FIELDS = ("title", "volume", "number", "date", "lang", "summary", "meetings", "image",
          "image_alt")
REQUIRED = ("title", "volume", "number", "date", "summary")
MEETING_FIELDS = ("name", "start", "end", "place")
# What a field with a mistake reads as while the rest of the file is checked; never published.
_NO_DATE = date(1970, 1, 1)
_REPLACEMENT = "\ufffd"


def _control(char: str) -> str:
    return f"the invisible control character U+{ord(char):04X}"


def split_file_name(name: str) -> tuple[str, Lang | None]:
    """`vol12-2.md` -> ("vol12-2", None); `vol12-2.fr.md` -> ("vol12-2", "fr")."""
    stem = name.removesuffix(".md")
    issue_id, dot, lang = stem.partition(".")
    if name == stem or not is_issue_id(issue_id) or (dot and lang not in LANGS):
        raise IssueError(name, None, "an issue file must be named <id>.md or <id>.<lang>.md, "
                         "with an id like vol12-2 and lang en or fr")
    return issue_id, lang if dot else None  # type: ignore[return-value]


def _without_control(text: str, found: Findings) -> str:
    """Note every line of the file holding a control character, and read on with each one
    replaced, so that it is reported once, by its line, and not again by YAML or Markdown."""
    line, seen = 1, 0
    for match in CONTROL.finditer(text):
        line += text.count("\n", seen, match.start())
        seen = match.start()
        found.add(line, f"this line contains {_control(match.group())}; delete it (most "
                  "editors do not show it): email, web pages and feeds cannot carry it")
    return CONTROL.sub(_REPLACEMENT, text)


def parse_issue(name: str, text: str) -> Issue:
    """Parse the issue file called `name` (e.g. "vol12-2.md") whose content is `text`.

    Every mistake is collected, front matter and body alike, and raised together.
    """
    issue_id, file_lang = split_file_name(name)
    found = Findings(name)
    fm = split_front_matter(_without_control(text, found), found)
    fields = _Fields(fm, found)
    if fm.read:
        for key in fm.values:
            if key not in FIELDS:
                found.add(fm.line(key), f"unknown field '{key}' "
                          f"(the fields are: {', '.join(FIELDS)})")
        for key in REQUIRED:
            if fm.values.get(key) in (None, ""):
                found.add(None if key not in fm.lines else fm.line(key),
                          f"the front matter has no '{key}'")
    lang = fields.lang(file_lang)
    image = fields.text("image")
    image_alt = fields.text("image_alt")
    if image and not image_alt:
        found.add(fm.line("image"), "'image' needs an 'image_alt' describing it")
    if image and url_problem(image, IMAGE_SCHEMES, "image"):
        found.add(fm.line("image"), url_problem(image, IMAGE_SCHEMES, "image"))
    sections = parse_body(fm.body, fm.body_line, found)
    intro = sections[0].blocks
    items = tuple(Item(n, s.title, s.blocks)
                  for n, s in enumerate((s for s in sections if s.level == 2), start=1))
    closing = tuple(Section(s.title, s.blocks) for s in sections if s.level == 1)
    for earlier, later in itertools.pairwise(sections):
        if earlier.level == 1 and later.level == 2:
            found.add(later.line, "numbered items ('## ') must come before the closing "
                      "sections ('# ')")
    issue = Issue(
        id=issue_id, lang=lang, primary=file_lang is None,
        title=fields.text("title"), volume=fields.number("volume"),
        number=fields.number("number"), date=fields.day("date"),
        summary=fields.text("summary"), source=name, intro=intro, items=items,
        sections=closing, meetings=fields.meetings(), image=image, image_alt=image_alt,
    )
    found.check()
    return issue


class _Fields:
    """The front matter's values, each checked once as it is read; a value with a mistake is
    noted and read as a harmless default, so the rest of the file is still checked."""

    def __init__(self, fm: FrontMatter, found: Findings) -> None:
        self.fm = fm
        self.found = found

    def _no_control(self, line: int, text: str, what: str) -> None:
        """Only a YAML escape in quotes (like \\e) can put one in a value: the file's own
        control characters were reported and replaced before."""
        control = CONTROL.search(text)
        if control is not None:
            self.found.add(line, f"{what} contains {_control(control.group())}, made by an "
                           "escape in quotes (like \\e); remove it: email, web pages and "
                           "feeds cannot carry it")

    def text(self, key: str) -> str:
        value = self.fm.values.get(key, "")
        if value is None:
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.found.add(self.fm.line(key), f"'{key}' must be text")
            return ""
        text = " ".join(str(value).split())
        self._no_control(self.fm.line(key), text, f"'{key}'")
        return text

    def number(self, key: str) -> int:
        value = self.fm.values.get(key)
        if value is None:
            return 1  # reported as missing
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.found.add(self.fm.line(key), f"'{key}' must be a whole number, like 12")
            return 1
        return value

    def lang(self, file_lang: Lang | None) -> Lang:
        value = self.fm.values.get("lang", file_lang or "en")
        if value not in LANGS:
            self.found.add(self.fm.line("lang"), f"'lang' must be en or fr, not {value!r}")
            return file_lang or "en"
        if file_lang is not None and value != file_lang:
            self.found.add(self.fm.line("lang"), f"this file is named for '{file_lang}' but "
                           f"says lang: {value}")
            return file_lang
        lang: Lang = value
        return lang

    def day(self, key: str) -> date:
        value = self.fm.values.get(key)
        return _NO_DATE if value is None else self.date_of(self.fm.line(key), value)

    def date_of(self, line: int, value: Any) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        self.found.add(line, f"bad date {value!r}: write it as YYYY-MM-DD, like 2017-10-03")
        return _NO_DATE

    def meetings(self) -> tuple[Meeting, ...]:
        raw = self.fm.values.get("meetings") or []
        if not isinstance(raw, list):
            self.found.add(self.fm.line("meetings"),
                           "'meetings' must be a list of '- name: ...' entries")
            return ()
        meetings: list[Meeting] = []
        for index, entry in enumerate(raw, start=1):
            meeting = self.meeting(index, entry)
            if meeting is not None:
                meetings.append(meeting)
        return tuple(meetings)

    def meeting(self, index: int, entry: Any) -> Meeting | None:
        where = f"meeting {index}"
        line = self.fm.lines.get(f"meetings[{index}]", self.fm.line("meetings"))
        if not isinstance(entry, dict):
            self.found.add(line, f"{where} must have name, start, end and place fields")
            return None
        for key in entry:
            if key not in MEETING_FIELDS:
                self.found.add(line, f"{where}: unknown field '{key}' "
                               f"(the fields are: {', '.join(MEETING_FIELDS)})")
        if not entry.get("name") or not entry.get("start"):
            self.found.add(line, f"{where} needs a name and a start date")
            return None
        start = self.date_of(line, entry["start"])
        end = None if entry.get("end") is None else self.date_of(line, entry["end"])
        if end is not None and end < start:
            self.found.add(line, f"{where} ends before it starts")
        name = " ".join(str(entry["name"]).split())
        place = " ".join(str(entry.get("place") or "").split())
        self._no_control(line, name + place, where)
        return Meeting(name, start, end, place)
