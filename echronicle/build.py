"""Tie reading, rendering and writing together for the build, publish, preview and new commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ccrlist.config.settings import Settings
from echronicle.listing.cache import ListingCache
from echronicle.listing.entries import listed_edition
from echronicle.listing.folder import list_issues
from echronicle.listing.model import ListedEdition
from echronicle.reading.edition import IssueFile, parse_edition
from echronicle.reading.errors import IssueError
from echronicle.reading.library import check_id, folder_editions, load_edition, read_file
from echronicle.reading.model import Edition
from echronicle.rendering.email import render_email, render_web_copy, site_root
from echronicle.rendering.pages import render_issue_page
from echronicle.rendering.site import edition_files, render_site, shared_files
from echronicle.rendering.templates import environment
from echronicle.writer import WriteReport, target, write_file, write_tree


@dataclass
class BuildReport:
    editions: list[Edition] = field(default_factory=list)
    left_out: list[IssueError] = field(default_factory=list)  # broken issues, one reason each
    pages: WriteReport = field(default_factory=WriteReport)


def listing_cache(settings: Settings) -> ListingCache:
    return ListingCache(settings.data_dir / "cache" / "listing")


def build_all(settings: Settings) -> BuildReport:
    """Read, render and write the whole archive from every issue file, reading nothing from
    the listing cache; a broken issue is left out. The cache is refilled, and emptied of the
    listings of files that are gone or changed."""
    report = BuildReport()
    root = site_root(settings)
    cache = listing_cache(settings)
    listed: list[ListedEdition] = []
    keep: set[str] = set()
    found = folder_editions(settings.issues_dir)
    if not found:  # a wrong issues_dir must not blank the archive that readers see
        where = ("is not a folder" if not settings.issues_dir.is_dir()
                 else "holds no issue file (<id>.md)")
        raise IssueError(str(settings.issues_dir), None,
                         f"the issues folder ('issues_dir' in {settings.source}) {where}: "
                         f"nothing built, {settings.site.output_dir} left as it is")
    for issue_id, paths in found.items():
        try:
            files = [read_file(path, settings.limits.max_issue_bytes) for path in paths]
            edition = parse_edition(issue_id, files)
        except IssueError as exc:
            report.left_out.append(exc)
            continue
        report.editions.append(edition)
        listed.append(listed_edition(edition, root))
        key = cache.key(files, root)
        cache.put(key, listed[-1])
        keep.add(key)
    cache.prune(keep)
    pages = render_site(report.editions, settings, listed)
    report.pages = write_tree(settings.site.output_dir, pages)
    return report


def publish_files(settings: Settings, edition: Edition,
                  files: Sequence[IssueFile]) -> tuple[WriteReport, list[IssueError]]:
    """Write one issue's pages and email copies, and the indexes and feeds listing every issue
    (all but this one from the listing cache, unless their files changed). Returns what was
    written and the issues left out of the listing because they are broken."""
    root = site_root(settings)
    cache = listing_cache(settings)
    found = list_issues(settings.issues_dir, settings.limits.max_issue_bytes, cache, root,
                        skip=edition.id, feed_entries=settings.site.feed_entries)
    mine = listed_edition(edition, root)
    key = cache.key(files, root)
    cache.put(key, mine)
    cache.prune(found.keys | {key})  # the listings of files changed since are no more use
    pages = shared_files([*found.editions, mine], settings)
    pages.update(edition_files(edition, settings))
    return write_tree(settings.site.output_dir, pages), found.left_out


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
