"""Read issue files from the issues folder into editions (reading only; never writes)."""

from __future__ import annotations

import os
from pathlib import Path

from ccrlist.config.settings import LimitSettings
from echronicle.reading.edition import IssueFile, parse_edition
from echronicle.reading.errors import IssueError, UnknownIssue
from echronicle.reading.model import Edition, is_issue_id


def check_id(issue_id: str) -> str:
    """Refuse anything but a plain issue id, so no path outside the folders is ever formed."""
    if not is_issue_id(issue_id):
        raise UnknownIssue(issue_id, None, "not a valid issue id: use lower-case letters then "
                         "digits, with optional '-parts', like vol12-2")
    return issue_id


def issue_ids(issues_dir: Path) -> list[str]:
    """The ids of every primary issue file, sorted."""
    return sorted(folder_editions(issues_dir))


def folder_editions(issues_dir: Path, only: str | None = None) -> dict[str, list[Path]]:
    """Every issue with a main file `<id>.md` in the folder (or only the issue `only`), by
    id, with its files: the main file, then every `<id>.<anything>.md` (a translation, or a
    misnamed file that reading refuses), from one reading of the folder."""
    if not issues_dir.is_dir():
        return {}
    primaries: dict[str, Path] = {}
    others: dict[str, list[Path]] = {}
    for entry in os.scandir(issues_dir):
        if only is not None and not entry.name.startswith(only + "."):
            continue
        stem = entry.name.removesuffix(".md")
        issue_id, dot, _ = stem.partition(".")
        if stem == entry.name or not is_issue_id(issue_id):
            continue  # e.g. a README.md next to the issues
        if dot:
            others.setdefault(issue_id, []).append(Path(entry.path))
        elif entry.is_file():
            primaries[issue_id] = Path(entry.path)
    return {issue_id: [path, *sorted(others.get(issue_id, []))]
            for issue_id, path in sorted(primaries.items())}


def edition_paths(issues_dir: Path, issue_id: str) -> list[Path]:
    """`<id>.md`, then its translations `<id>.<lang>.md`; an unknown id is a usage error."""
    check_id(issue_id)
    editions = folder_editions(issues_dir, only=issue_id)
    if issue_id not in editions:
        known = ", ".join(folder_editions(issues_dir)) or "none yet"
        raise UnknownIssue(str(issues_dir / f"{issue_id}.md"), None,
                           f"there is no issue '{issue_id}' (issues: {known})")
    return editions[issue_id]


MAX_ISSUE_BYTES = LimitSettings.max_issue_bytes  # `[limits] max_issue_bytes`'s default


def too_large(name: str, size: int, max_bytes: int) -> IssueError:
    return IssueError(name, None, f"the file is {size:,} bytes, more than the {max_bytes:,} "
                      "an issue may have ([limits] max_issue_bytes): make it smaller")


def read_file(path: Path, max_bytes: int = MAX_ISSUE_BYTES) -> IssueFile:
    """Read one issue file; a file over `max_bytes` is refused before it is read."""
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > max_bytes:
            raise too_large(path.name, size, max_bytes)
        data = stream.read(max_bytes + 1)  # it may have grown since
    if len(data) > max_bytes:
        raise too_large(path.name, max(size, len(data)), max_bytes)
    return IssueFile.of(path.name, data)


def read_edition(issues_dir: Path, issue_id: str,
                 max_bytes: int = MAX_ISSUE_BYTES) -> list[IssueFile]:
    """The files of one issue, main file first."""
    return [read_file(path, max_bytes) for path in edition_paths(issues_dir, issue_id)]


def load_edition(issues_dir: Path, issue_id: str, max_bytes: int = MAX_ISSUE_BYTES) -> Edition:
    """Parse `<id>.md` and its translations `<id>.<lang>.md`."""
    return parse_edition(issue_id, read_edition(issues_dir, issue_id, max_bytes))


def load_all(issues_dir: Path, max_bytes: int = MAX_ISSUE_BYTES) -> list[Edition]:
    """Every edition in the folder, in id order."""
    return [load_edition(issues_dir, issue_id, max_bytes) for issue_id in issue_ids(issues_dir)]
