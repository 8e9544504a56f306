"""Parse an issue's files (the main one and its translations) into one `Edition`, collecting
the mistakes of every file before raising them together (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from echronicle.reading.errors import IssueError, IssueProblems, problems_of
from echronicle.reading.model import Edition, Issue
from echronicle.reading.parse import parse_issue


@dataclass(frozen=True)
class IssueFile:
    """One issue file as read from the folder: its name, its text, and the SHA-256 of its
    bytes (what the listing cache is keyed by)."""

    name: str
    text: str
    digest: str

    @classmethod
    def of(cls, name: str, data: bytes) -> IssueFile:
        """Decode `data`; a byte order mark from a Windows editor is dropped."""
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise IssueError(name, None, f"the file is not UTF-8 text ({exc.reason})") from None
        return cls(name, text, hashlib.sha256(data).hexdigest())


def parse_edition(issue_id: str, files: Sequence[IssueFile]) -> Edition:
    """The edition whose main file comes first in `files`, its translations after it."""
    errors: list[IssueError] = []
    versions: list[Issue] = []
    for file in files:
        try:
            versions.append(parse_issue(file.name, file.text))
        except IssueError as exc:
            errors.extend(problems_of(exc))
    if errors:
        raise IssueProblems(errors)
    return edition_of(issue_id, versions)


def edition_of(issue_id: str, versions: Sequence[Issue]) -> Edition:
    """The versions as one edition, refusing two in one language or versions that disagree."""
    primary = versions[0]
    for translation in versions[1:]:
        if translation.lang == primary.lang:
            raise IssueError(translation.source, None, f"this translation is in "
                             f"'{primary.lang}', the same language as {primary.source}")
    edition = Edition(issue_id, tuple(versions))
    problems = edition.disagreements()
    if problems:
        # Subscribers of each language would get a different issue; nothing may use it.
        raise IssueError(versions[-1].source, None, "the language versions disagree: "
                         + "; ".join(problems))
    return edition
