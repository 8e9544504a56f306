"""The listing cache under `data_dir`: each issue's listing (or the mistakes that keep it out),
in one file named by a hash of its files' names and contents and of the site's address, so a
publish parses and renders only the issues whose files changed.

The cache lives in a folder named for the code that makes the listings (the reading, listing
and rendering modules and templates, and the versions of the libraries they use): another
version of the software starts a folder of its own and never reads an old listing. A file
holds one line of JSON (the facts, and the length of each piece), then the pieces as they
are, which read back in a few microseconds however long they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import markdown_it

import echronicle.listing
import echronicle.reading
import echronicle.rendering
from echronicle.listing.manifest import Manifest
from echronicle.listing.model import ListedEdition
from echronicle.reading.edition import IssueFile
from echronicle.reading.errors import IssueError, IssueProblems, problems_of
from echronicle.reading.model import LANGS
from echronicle.writer import write_file

FORMAT = 1
_SOURCES = (echronicle.reading, echronicle.rendering, echronicle.listing)
_KINDS = ("index", "rss", "atom")

Listing = ListedEdition | IssueError


def code_fingerprint() -> str:
    """Changes whenever the code that makes a listing may have."""
    digest = hashlib.sha256(f"{FORMAT}:{markdown_it.__version__}:{jinja2.__version__}".encode())
    for package in _SOURCES:
        folder = Path(str(package.__file__)).parent
        for path in sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".j2")):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class ListingCache:
    """Listings under `root/<code fingerprint>/`; one that cannot be read back is a miss."""

    def __init__(self, root: Path, fingerprint: str | None = None) -> None:
        self.root = root
        self.folder = root / (fingerprint or code_fingerprint())

    @staticmethod
    def key(files: Sequence[IssueFile | tuple[str, str]], site_root: str) -> str:
        """Of the files' names and contents (given as files, or as names and digests; an id
        and a language come from a name) and the site's address (every link in a listing
        starts with it)."""
        digest = hashlib.sha256(site_root.encode() + b"\0")
        for file in files:
            name, content = (file.name, file.digest) if isinstance(file, IssueFile) else file
            digest.update(f"{name}\0{content}\0".encode())
        return digest.hexdigest()

    def manifest(self) -> Manifest:
        """Which issue files are unchanged since they were hashed (kept with the listings)."""
        return Manifest(self.folder)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.listing"

    def get(self, key: str, feeds: bool = True) -> Listing | None:
        """The listing kept under `key`, or None. Without `feeds`, only its facts and index
        entries are read (a few hundred bytes of the 30 KB that the feed entries, each the
        whole issue, take): its `rss` and `atom` are then empty."""
        try:
            return _read(self._path(key), feeds)
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None  # never written, or damaged: made again

    def put(self, key: str, listing: Listing) -> None:
        write_file(self._path(key), _encode(listing), durable=False)  # a lost one is a miss

    def prune(self, keep: set[str]) -> int:
        """Delete the listings whose key is not in `keep`, and the folders of other code."""
        removed = 0
        if self.root.is_dir():
            for other in self.root.iterdir():
                if other != self.folder and other.is_dir():
                    shutil.rmtree(other, ignore_errors=True)
        if self.folder.is_dir():
            for path in self.folder.glob("*.listing"):
                if path.stem not in keep:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed


def _encode(listing: Listing) -> bytes:
    if isinstance(listing, IssueError):
        errors = [[e.source, e.line, e.message] for e in problems_of(listing)]
        return json.dumps({"format": FORMAT, "errors": errors}).encode() + b"\n"
    # Each piece's length, or, for a language whose piece is another's (the feeds of a
    # language the issue was not written in carry the version it has), that language.
    sizes: list[int | str] = []
    pieces: list[bytes] = []
    for kind in _KINDS:
        by_lang: dict[str, bytes] = getattr(listing, kind)
        for lang in LANGS:
            same = next((other for other in LANGS[:LANGS.index(lang)]
                         if by_lang[other] == by_lang[lang]), None)
            sizes.append(same if same is not None else len(by_lang[lang]))
            if same is None:
                pieces.append(by_lang[lang])
    head = {"format": FORMAT, "id": listing.id, "date": listing.date.isoformat(),
            "volume": listing.volume, "number": listing.number, "sizes": sizes}
    return json.dumps(head).encode() + b"\n" + b"".join(pieces)


_HEAD_READ = 4096  # the facts line and the index entries, usually


def _read(path: Path, feeds: bool) -> Listing:
    with path.open("rb") as stream:
        total = os.fstat(stream.fileno()).st_size
        data = stream.read(total if feeds else min(total, _HEAD_READ))
        if b"\n" not in data:
            data += stream.read()
        end = data.index(b"\n")
        head: dict[str, Any] = json.loads(data[:end])
        if head["format"] != FORMAT:
            raise ValueError("another format")
        if "errors" in head:
            errors = [IssueError(str(source), line, str(message))
                      for source, line, message in head["errors"]]
            return errors[0] if len(errors) == 1 else IssueProblems(errors)
        sizes: list[int | str] = head["sizes"]
        if len(sizes) != len(_KINDS) * len(LANGS):
            raise ValueError("not a listing")
        if end + 1 + sum(n for n in sizes if not isinstance(n, str)) != total:
            raise ValueError("cut short")
        # The index entries come first: each kind's pieces in the order of LANGS.
        needed = total if feeds else end + 1 + sum(
            n for n in sizes[:len(LANGS)] if not isinstance(n, str))
        if len(data) < needed:
            data += stream.read(needed - len(data))
    if len(data) < needed:
        raise ValueError("cut short")
    kinds = _KINDS if feeds else _KINDS[:1]
    by_kind: dict[str, dict[str, bytes]] = {kind: {} for kind in _KINDS}
    rest = memoryview(data)[end + 1:]  # the pieces are copied once, each on its own
    at = 0
    for n, size in enumerate(sizes[:len(kinds) * len(LANGS)]):
        kind, lang = _KINDS[n // len(LANGS)], LANGS[n % len(LANGS)]
        if isinstance(size, str):
            by_kind[kind][lang] = by_kind[kind][size]
        else:
            by_kind[kind][lang] = bytes(rest[at:at + size])
            at += size
    return ListedEdition(id=str(head["id"]), date=date.fromisoformat(head["date"]),
                         volume=int(head["volume"]), number=int(head["number"]),
                         index=by_kind["index"], rss=by_kind["rss"], atom=by_kind["atom"])
