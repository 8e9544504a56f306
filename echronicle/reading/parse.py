"""Parse one issue file's text into an `Issue`, or raise an `IssueError` naming file and line
(pure)."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from echronicle.reading.errors import IssueError
from echronicle.reading.frontmatter import FrontMatter, split_front_matter
from echronicle.reading.markdown import CONTROL, IMAGE_SCHEMES, parse_body, url_problem
from echronicle.reading.model import LANGS, Issue, Item, Lang, Meeting, Section, is_issue_id

FIELDS = ("title", "volume", "number", "date", "lang", "summary", "meetings", "image",
          "image_alt")
REQUIRED = ("title", "volume", "number", "date", "summary")
MEETING_FIELDS = ("name", "start", "end", "place")


def _no_control(name: str, line: int | None, text: str, what: str = "") -> None:
    """Refuse a control character in a line of the file, or (`what`) in a front-matter
    value, where only a YAML escape in quotes (like \\e) can have put it."""
    found = CONTROL.search(text)
    if found is None:
        return
    char = f"the invisible control character U+{ord(found.group()):04X}"
    if what:
        message = f"{what} contains {char}, made by an escape in quotes (like \\e); remove it"
    else:
        message = f"this line contains {char}; delete it (most editors do not show it)"
    raise IssueError(name, line, message + ": email, web pages and feeds cannot carry it")


def split_file_name(name: str) -> tuple[str, Lang | None]:
    """`vol12-2.md` -> ("vol12-2", None); `vol12-2.fr.md` -> ("vol12-2", "fr")."""
    stem = name.removesuffix(".md")
    issue_id, dot, lang = stem.partition(".")
    if name == stem or not is_issue_id(issue_id) or (dot and lang not in LANGS):
        raise IssueError(name, None, "an issue file must be named <id>.md or <id>.<lang>.md, "
                         "with an id like vol12-2 and lang en or fr")
    return issue_id, lang if dot else None  # type: ignore[return-value]


def parse_issue(name: str, text: str) -> Issue:
    """Parse the issue file called `name` (e.g. "vol12-2.md") whose content is `text`."""
    issue_id, file_lang = split_file_name(name)
    found = CONTROL.search(text)
    if found is not None:
        _no_control(name, text.count("\n", 0, found.start()) + 1, found.group())
    fm = split_front_matter(name, text)
    for key in fm.values:
        if key not in FIELDS:
            raise IssueError(name, fm.line(key), f"unknown field '{key}' "
                             f"(the fields are: {', '.join(FIELDS)})")
    for key in REQUIRED:
        if fm.values.get(key) in (None, ""):
            raise IssueError(name, None if key not in fm.lines else fm.line(key),
                             f"the front matter has no '{key}'")
    lang = _lang(name, fm, file_lang)
    image = _text(name, fm, "image")
    image_alt = _text(name, fm, "image_alt")
    if image and not image_alt:
        raise IssueError(name, fm.line("image"), "'image' needs an 'image_alt' describing it")
    if image and url_problem(image, IMAGE_SCHEMES, "image"):
        raise IssueError(name, fm.line("image"), url_problem(image, IMAGE_SCHEMES, "image"))
    sections = parse_body(name, fm.body, fm.body_line)
    intro = sections[0].blocks
    items = tuple(Item(n, s.title, s.blocks)
                  for n, s in enumerate((s for s in sections if s.level == 2), start=1))
    closing = tuple(Section(s.title, s.blocks) for s in sections if s.level == 1)
    for earlier, later in itertools.pairwise(sections):
        if earlier.level == 1 and later.level == 2:
            raise IssueError(name, later.line, "numbered items ('## ') must come before the "
                             "closing sections ('# ')")
    return Issue(
        id=issue_id, lang=lang, primary=file_lang is None,
        title=_text(name, fm, "title"), volume=_int(name, fm, "volume"),
        number=_int(name, fm, "number"), date=_date(name, fm.line("date"), fm.values["date"]),
        summary=_text(name, fm, "summary"), source=name, intro=intro, items=items,
        sections=closing, meetings=_meetings(name, fm), image=image, image_alt=image_alt,
    )


def _text(name: str, fm: FrontMatter, key: str) -> str:
    value = fm.values.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise IssueError(name, fm.line(key), f"'{key}' must be text")
    text = " ".join(str(value).split())
    _no_control(name, fm.line(key), text, f"'{key}'")
    return text


def _int(name: str, fm: FrontMatter, key: str) -> int:
    value = fm.values[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise IssueError(name, fm.line(key), f"'{key}' must be a whole number, like 12")
    return value


def _lang(name: str, fm: FrontMatter, file_lang: Lang | None) -> Lang:
    value = fm.values.get("lang", file_lang or "en")
    if value not in LANGS:
        raise IssueError(name, fm.line("lang"), f"'lang' must be en or fr, not {value!r}")
    if file_lang is not None and value != file_lang:
        raise IssueError(name, fm.line("lang"), f"this file is named for '{file_lang}' "
                         f"but says lang: {value}")
    lang: Lang = value
    return lang


def _date(name: str, line: int, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise IssueError(name, line, f"bad date {value!r}: write it as YYYY-MM-DD, like 2017-10-03")


def _meetings(name: str, fm: FrontMatter) -> tuple[Meeting, ...]:
    raw = fm.values.get("meetings") or []
    line = fm.line("meetings")
    if not isinstance(raw, list):
        raise IssueError(name, line, "'meetings' must be a list of '- name: ...' entries")
    meetings: list[Meeting] = []
    for index, entry in enumerate(raw, start=1):
        where = f"meeting {index}"
        line = fm.lines.get(f"meetings[{index}]", fm.line("meetings"))
        if not isinstance(entry, dict):
            raise IssueError(name, line, f"{where} must have name, start, end and place fields")
        for key in entry:
            if key not in MEETING_FIELDS:
                raise IssueError(name, line, f"{where}: unknown field '{key}' "
                                 f"(the fields are: {', '.join(MEETING_FIELDS)})")
        if not entry.get("name") or not entry.get("start"):
            raise IssueError(name, line, f"{where} needs a name and a start date")
        start = _date(name, line, entry["start"])
        end = None if entry.get("end") is None else _date(name, line, entry["end"])
        if end is not None and end < start:
            raise IssueError(name, line, f"{where} ends before it starts")
        meeting_name = " ".join(str(entry["name"]).split())
        place = " ".join(str(entry.get("place") or "").split())
        _no_control(name, line, meeting_name + place, where)
        meetings.append(Meeting(meeting_name, start, end, place))
    return tuple(meetings)
