"""Checks of the issue files themselves, each problem with its file and line: placeholder text
left in, and the mistakes that stopped a file from being read (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from echronicle.checks.rendered import Problem
from echronicle.reading.edition import IssueFile
from echronicle.reading.errors import IssueError, problems_of

PLACEHOLDER = re.compile(r"\bTK\b|\bTODO\b|\bFIXME\b|\bXXX\b|lorem ipsum", re.IGNORECASE)


def placeholders(file: IssueFile) -> list[Problem]:
    """Each line of the file (front matter included) that still holds placeholder text."""
    problems: list[Problem] = []
    for number, line in enumerate(file.text.splitlines(), start=1):
        for word in sorted({m.group(0) for m in PLACEHOLDER.finditer(line)}):
            problems.append(Problem(file.name, f"placeholder text {word!r} left in", number))
    return problems


def file_problems(error: IssueError) -> list[Problem]:
    """The editor errors `error` stands for, as problems to list."""
    return [Problem(e.source, e.message, e.line) for e in problems_of(error)]


def in_file_order(problems: Iterable[Problem]) -> list[Problem]:
    """By file, then line; a problem of the whole file first."""
    return sorted(problems, key=lambda p: (p.part, p.line or 0))
