"""Read issue files from the issues folder into editions (reading only; never writes)."""

from __future__ import annotations

from pathlib import Path

from echronicle.reading.errors import IssueError, UnknownIssue
from echronicle.reading.model import Edition, Issue, is_issue_id
from echronicle.reading.parse import parse_issue, split_file_name


def check_id(issue_id: str) -> str:
    """Refuse anything but a plain issue id, so no path outside the folders is ever formed."""
    if not is_issue_id(issue_id):
        raise UnknownIssue(issue_id, None, "not a valid issue id: use lower-case letters then "
                         "digits, with optional '-parts', like vol12-2")
    return issue_id


def issue_ids(issues_dir: Path) -> list[str]:
    """The ids of every primary issue file, sorted."""
    if not issues_dir.is_dir():
        return []
    ids = set()
    for path in issues_dir.glob("*.md"):
        try:
            issue_id, lang = split_file_name(path.name)
        except IssueError:
            continue  # e.g. a README.md next to the issues
        if lang is None:
            ids.add(issue_id)
    return sorted(ids)


def _read(path: Path) -> Issue:
    try:
        text = path.read_text(encoding="utf-8-sig")  # Windows editors may start with a BOM
    except UnicodeDecodeError as exc:
        raise IssueError(path.name, None, f"the file is not UTF-8 text ({exc.reason})") from None
    return parse_issue(path.name, text)


def load_edition(issues_dir: Path, issue_id: str) -> Edition:
    """Parse `<id>.md` and its translations `<id>.<lang>.md`."""
    check_id(issue_id)
    primary_path = issues_dir / f"{issue_id}.md"
    if not primary_path.is_file():
        known = ", ".join(issue_ids(issues_dir)) or "none yet"
        raise UnknownIssue(str(primary_path), None,
                           f"there is no issue '{issue_id}' (issues: {known})")
    primary = _read(primary_path)
    versions = [primary]
    for path in sorted(issues_dir.glob(f"{issue_id}.*.md")):
        translation = _read(path)
        if translation.lang == primary.lang:
            raise IssueError(path.name, None, f"this translation is in '{primary.lang}', "
                             f"the same language as {primary_path.name}")
        versions.append(translation)
    edition = Edition(issue_id, tuple(versions))
    problems = edition.disagreements()
    if problems:
        # Subscribers of each language would get a different issue; nothing may use it.
        raise IssueError(versions[-1].source, None, "the language versions disagree: "
                         + "; ".join(problems))
    return edition


def load_all(issues_dir: Path) -> list[Edition]:
    """Every edition in the folder, in id order."""
    return [load_edition(issues_dir, issue_id) for issue_id in issue_ids(issues_dir)]
