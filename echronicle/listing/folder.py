"""List every issue of the issues folder for the indexes and feeds: an issue's listing comes
from the cache while its files are unchanged, and a broken or oversized issue is set aside
with the reason, so it never blocks or slows the publishing of another issue."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from echronicle.listing.cache import Listing, ListingCache
from echronicle.listing.entries import listed_edition
from echronicle.listing.manifest import Manifest
from echronicle.listing.model import ListedEdition, newest_first
from echronicle.reading.edition import parse_edition
from echronicle.reading.errors import IssueError, problems_of
from echronicle.reading.library import folder_editions, read_file, too_large


@dataclass
class FolderListing:
    editions: list[ListedEdition] = field(default_factory=list)
    left_out: list[IssueError] = field(default_factory=list)  # one reason per issue
    keys: set[str] = field(default_factory=set)  # of the cached listings it used


def list_issues(issues_dir: Path, max_bytes: int, cache: ListingCache, site_root: str,
                skip: str = "", feed_entries: int | None = None) -> FolderListing:
    """Every issue but `skip`, listed or set aside. With `feed_entries`, only the newest
    `feed_entries` issues' listings are read whole: the others' `rss` and `atom` are empty
    (the feeds never show them), so an old issue costs a small read, not its 30 KB."""
    found = FolderListing()
    manifest = cache.manifest()
    folder = {issue_id: paths for issue_id, paths in folder_editions(issues_dir).items()
              if issue_id != skip}
    feeds = feed_entries is None
    listed: dict[str, ListedEdition] = {}
    for issue_id, paths in folder.items():
        listing = _listing(issue_id, paths, max_bytes, cache, manifest, site_root, found.keys,
                           feeds)
        if isinstance(listing, IssueError):
            found.left_out.append(listing)
        else:
            listed[issue_id] = listing
    while not feeds:  # until the newest all have their feed entries
        short = [e for e in newest_first(listed.values())[:feed_entries] if not e.rss]
        if not short:
            break
        for edition in short:
            listing = _listing(edition.id, folder[edition.id], max_bytes, cache, manifest,
                               site_root, found.keys, True)
            if isinstance(listing, IssueError):  # changed and broken since the first look
                found.left_out.append(listing)
                del listed[edition.id]
            else:
                listed[edition.id] = listing
    found.editions = list(listed.values())
    manifest.save()
    return found


def _listing(issue_id: str, paths: list[Path], max_bytes: int, cache: ListingCache,
             manifest: Manifest, site_root: str, keys: set[str], feeds: bool) -> Listing:
    try:
        stats = [path.stat() for path in paths]
    except OSError as exc:  # removed or renamed while we look: its next publish lists it
        return _unreadable(exc, paths[0])
    for path, stat in zip(paths, stats, strict=True):
        if stat.st_size > max_bytes:
            return too_large(path.name, stat.st_size, max_bytes)  # never read
    digests = [manifest.digest(path, stat) for path, stat in zip(paths, stats, strict=True)]
    if all(digests):  # unchanged since hashed: no need to read them
        key = cache.key([(p.name, str(d)) for p, d in zip(paths, digests, strict=True)],
                        site_root)
        cached = cache.get(key, feeds)
        if cached is not None:
            keys.add(key)
            return cached
    try:
        files = [read_file(path, max_bytes) for path in paths]
    except IssueError as exc:
        return exc
    except OSError as exc:
        return _unreadable(exc, paths[0])
    for path, stat, file in zip(paths, stats, files, strict=True):
        manifest.record(path, stat, file.digest)
    key = cache.key(files, site_root)
    keys.add(key)
    cached = cache.get(key, feeds)
    if cached is not None:
        return cached
    listing: Listing
    try:
        listing = listed_edition(parse_edition(issue_id, files), site_root)
    except IssueError as exc:
        listing = exc
    cache.put(key, listing)  # a broken issue is not parsed again until a file changes
    return listing


def _unreadable(exc: OSError, path: Path) -> IssueError:
    return IssueError(Path(exc.filename or path).name, None,
                      f"cannot be read: {exc.strerror or exc}")


def left_out_note(error: IssueError) -> str:
    """One line for the editor: which file is left out of the index and feeds, and why."""
    problems = problems_of(error)
    more = (f" (and {len(problems) - 1} more problem(s); `chronicle check` lists them)"
            if len(problems) > 1 else "")
    return f"Left out of the index and feeds until it is fixed: {problems[0]}{more}"
