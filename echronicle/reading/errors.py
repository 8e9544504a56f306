"""Editor-facing errors that name the issue file and line at fault (pure)."""

from __future__ import annotations


class IssueError(Exception):
    """A mistake in an issue file (or an unknown issue id), worded for the editor."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {message}")


class UnknownIssue(IssueError):
    """An issue id that is malformed or has no file: the command was used wrongly."""
