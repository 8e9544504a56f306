"""Tie reading, rendering and writing together for the build, publish, preview and new commands."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from ccrlist.config.settings import Settings
from echronicle.reading.errors import IssueError
from echronicle.reading.library import check_id, issue_ids, load_all, load_edition
from echronicle.reading.model import Edition
from echronicle.rendering.email import render_email, render_web_copy, site_root
from echronicle.rendering.pages import render_issue_page
from echronicle.rendering.site import edition_files, render_site, shared_files
from echronicle.rendering.templates import environment
from echronicle.writer import WriteReport, target, write_file, write_tree


def build_all(settings: Settings) -> tuple[list[Edition], WriteReport]:
    """Render every issue file and write the whole archive."""
    editions = load_all(settings.issues_dir, settings.limits.max_issue_bytes)
    return editions, write_tree(settings.site.output_dir, render_site(editions, settings))


def publish_files(settings: Settings, edition: Edition) -> WriteReport:
    """Write one issue's pages and email copies, and the indexes and feeds listing every issue."""
    others = [load_edition(settings.issues_dir, other, settings.limits.max_issue_bytes)
              for other in issue_ids(settings.issues_dir) if other != edition.id]
    files = shared_files([*others, edition], settings)
    files.update(edition_files(edition, settings))
    return write_tree(settings.site.output_dir, files)


def preview_dir(settings: Settings, issue_id: str) -> Path:
    return target(settings.data_dir, f"preview/{check_id(issue_id)}")


def write_preview(settings: Settings, issue_id: str, now: datetime) -> list[Path]:
    """Each version's email HTML, text, whole message (dated `now`) and archive page, under
    data_dir/preview."""
    edition = load_edition(settings.issues_dir, issue_id, settings.limits.max_issue_bytes)
    root = site_root(settings)
    files: dict[str, bytes] = {}
    for issue in edition.versions:
        email = render_email(issue, settings, now)
        prefix = "" if issue.primary else f"{issue.lang}/"
        files[prefix + "email.html"] = render_web_copy(issue, settings)
        files[prefix + "email.txt"] = email.text.encode("utf-8")
        files[prefix + "message.eml"] = email.message
        files[prefix + "index.html"] = render_issue_page(edition, issue, root).encode("utf-8")
    folder = preview_dir(settings, issue_id)
    write_tree(folder, files)
    return [folder / name for name in sorted(files)]


def write_skeleton(settings: Settings, issue_id: str, lang: str, volume: int, number: int,
                   day: date) -> Path:
    """A new issue file to fill in, in `lang`; never overwrites one that exists.

    When `<id>.md` exists in another language, this writes its translation
    `<id>.<lang>.md`, with the volume, number and date the versions must share.
    """
    path = target(settings.issues_dir, f"{check_id(issue_id)}.md")
    if path.exists():
        edition = load_edition(settings.issues_dir, issue_id,
                               settings.limits.max_issue_bytes)
        if edition.has(lang):
            raise IssueError(str(path), None, f"issue '{issue_id}' already has a version in "
                             f"'{lang}'; edit it instead")
        primary = edition.primary
        path = target(settings.issues_dir, f"{issue_id}.{lang}.md")
        volume, number, day = primary.volume, primary.number, primary.date
    text = environment().get_template(f"skeleton.{lang}.md.j2").render(
        volume=volume, number=number, date=day.isoformat())
    write_file(path, text.encode("utf-8"))
    return path
