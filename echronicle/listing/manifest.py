"""Which issue files are unchanged since their content was hashed, told from their size,
modification time and inode, as git's index does, so that a publish need not read and hash
every file of the archive to find its listing.

A file changed within two seconds before the manifest was written is never taken as
unchanged: a second edit in the same tick of a coarse file-system clock, keeping the size,
would look the same (git's "racily clean" entries).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from echronicle.writer import write_file

RACY_NS = 2_000_000_000  # FAT keeps times to 2 s; most file systems far finer


class Manifest:
    """`<folder>/files.json`: for each issue file's path, [size, mtime_ns, inode, digest]."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "files.json"
        self._recorded: dict[str, list[int | str]] = {}
        self._written_ns = 0
        self._seen: dict[str, list[int | str]] = {}
        self._hashed = False
        try:
            self._written_ns = self.path.stat().st_mtime_ns
            data = json.loads(self.path.read_bytes())
            if isinstance(data, dict):
                self._recorded = data
        except (OSError, ValueError):
            pass  # none yet, or damaged: every file is read and hashed once more

    def digest(self, path: Path, stat: os.stat_result) -> str | None:
        """The digest recorded for the file at `path`, if it is unchanged since."""
        known = self._recorded.get(str(path))
        if (isinstance(known, list) and len(known) == 4
                and known[:3] == [stat.st_size, stat.st_mtime_ns, stat.st_ino]
                and stat.st_mtime_ns < self._written_ns - RACY_NS
                and isinstance(known[3], str)):
            self._seen[str(path)] = known
            return known[3]
        return None

    def record(self, path: Path, stat: os.stat_result, digest: str) -> None:
        """`stat` is taken before the file was read: if it changed meanwhile, it differs."""
        self._seen[str(path)] = [stat.st_size, stat.st_mtime_ns, stat.st_ino, digest]
        self._hashed = True

    def save(self) -> None:
        """Keep what this run saw (files gone since are dropped). After any file was hashed
        the manifest's time moves on even if nothing else changed, so that a file too recent
        to be trusted this time is trusted the next."""
        data = json.dumps(self._seen, sort_keys=True).encode()
        if self._seen != self._recorded:
            write_file(self.path, data, durable=False)  # lost: the files are hashed again
        elif self._hashed:
            with contextlib.suppress(OSError):
                os.utime(self.path)
