"""Render the web archive as a map of relative path -> bytes, ready for the writer: each issue's
pages, the indexes that list every issue and the feeds of the newest ones (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from ccrlist.config.settings import Settings
from echronicle.listing.entries import listed_edition
from echronicle.listing.model import ListedEdition, newest_first
from echronicle.reading.model import LANGS, Edition, lang_prefix
from echronicle.rendering.email import render_web_copy, site_root
from echronicle.rendering.feeds import render_atom, render_rss
from echronicle.rendering.pages import render_index, render_issue_page


def edition_files(edition: Edition, settings: Settings) -> dict[str, bytes]:
    """The page and the web copy of the email of every version of one issue."""
    root = site_root(settings)
    files: dict[str, bytes] = {}
    for issue in edition.versions:
        files[issue.path + "index.html"] = render_issue_page(edition, issue, root).encode()
        files[issue.path + "email.html"] = render_web_copy(issue, settings)
    return files


def shared_files(editions: Sequence[ListedEdition], settings: Settings) -> dict[str, bytes]:
    """Per language, the index, which lists every issue, and the RSS and Atom feeds of the
    newest `[site] feed_entries` (a feed reader fetches the feed again and again: all 500
    issues of an archive would make it 4 MB)."""
    root = site_root(settings)
    ordered = newest_first(editions)
    newest = ordered[0].date if ordered else None
    fed = ordered[:settings.site.feed_entries]
    missing = [e.id for e in fed if not (e.rss and e.atom)]
    if missing:  # listed without their feed entries: a mistake of the caller's
        raise ValueError(f"the feeds need the feed entries of {', '.join(missing)}")
    files: dict[str, bytes] = {}
    for lang in LANGS:
        folder = lang_prefix(lang)
        files[folder + "index.html"] = render_index([e.index[lang] for e in ordered], root,
                                                    lang)
        files[folder + "feed.xml"] = render_rss([e.rss[lang] for e in fed], root, lang,
                                                newest)
        files[folder + "atom.xml"] = render_atom([e.atom[lang] for e in fed], root, lang,
                                                 newest)
    return files


def render_site(editions: Sequence[Edition], settings: Settings,
                listed: Sequence[ListedEdition] | None = None) -> dict[str, bytes]:
    """Every file of the archive; the same editions always give the same bytes. `listed` is
    `editions` as listed, when the caller has made that already."""
    root = site_root(settings)
    files = shared_files([listed_edition(e, root) for e in editions] if listed is None
                         else listed, settings)
    for edition in editions:
        files.update(edition_files(edition, settings))
    return files
