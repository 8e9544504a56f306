"""Editor-facing errors that name the issue file and line at fault, and the collector that
gathers every one of them from a file before reporting (pure)."""

from __future__ import annotations

from collections.abc import Iterable

# More than this many lines of problems is a wrong file (or a paste gone astray), not a list
# to read: the rest are counted.
SHOWN = 50


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


class IssueProblems(IssueError):
    """Every mistake found in one issue's file(s), in file and line order; it reads as the
    first one (`source`, `line`, `message`) and prints them all, one a line."""

    def __init__(self, errors: Iterable[IssueError]) -> None:
        unique = {(e.source, e.line, e.message): e for e in errors}
        self.errors = tuple(sorted(unique.values(),
                                   key=lambda e: (e.source, e.line or 0)))
        if not self.errors:
            raise ValueError("IssueProblems needs at least one error")
        first = self.errors[0]
        super().__init__(first.source, first.line, first.message)
        lines = [str(e) for e in self.errors[:SHOWN]]
        if len(self.errors) > SHOWN:
            lines.append(f"... and {len(self.errors) - SHOWN} more problem(s)")
        self.args = ("\n".join(lines),)


def problems_of(error: IssueError) -> tuple[IssueError, ...]:
    """The single errors that `error` stands for."""
    return error.errors if isinstance(error, IssueProblems) else (error,)


class Findings:
    """Collects the mistakes of one file as parsing goes on, so an editor sees them all at
    once; `check()` raises them together."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[IssueError] = []

    def add(self, line: int | None, message: str) -> None:
        self.errors.append(IssueError(self.source, line, message))

    def extend(self, error: IssueError) -> None:
        self.errors.extend(problems_of(error))

    def check(self) -> None:
        if self.errors:
            raise IssueProblems(self.errors)
