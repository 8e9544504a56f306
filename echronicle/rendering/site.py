"""Render the whole web archive as a map of relative path -> bytes, ready for the writer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ccrlist.config.settings import Settings
from echronicle.reading.model import LANGS, Edition, lang_prefix
from echronicle.rendering.email import render_web_copy, site_root
from echronicle.rendering.feeds import render_atom, render_rss
from echronicle.rendering.pages import render_index, render_issue_page


def newest_first(editions: Iterable[Edition]) -> list[Edition]:
    return sorted(editions, key=lambda e: (e.primary.date, e.primary.volume,
                                           e.primary.number, e.id), reverse=True)


def edition_files(edition: Edition, settings: Settings) -> dict[str, bytes]:
    """The page and the web copy of the email of every version of one issue."""
    root = site_root(settings)
    files: dict[str, bytes] = {}
    for issue in edition.versions:
        files[issue.path + "index.html"] = render_issue_page(edition, issue, root).encode()
        files[issue.path + "email.html"] = render_web_copy(issue, settings)
    return files


def shared_files(editions: Sequence[Edition], settings: Settings) -> dict[str, bytes]:
    """Per language, the index and the RSS and Atom feeds, which list every issue."""
    root = site_root(settings)
    ordered = newest_first(editions)
    files: dict[str, bytes] = {}
    for lang in LANGS:
        folder = lang_prefix(lang)
        files[folder + "index.html"] = render_index(ordered, root, lang).encode()
        files[folder + "feed.xml"] = render_rss(ordered, root, lang)
        files[folder + "atom.xml"] = render_atom(ordered, root, lang)
    return files


def render_site(editions: Sequence[Edition], settings: Settings) -> dict[str, bytes]:
    """Every file of the archive; the same editions always give the same bytes."""
    files = shared_files(editions, settings)
    for edition in editions:
        files.update(edition_files(edition, settings))
    return files
