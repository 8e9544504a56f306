"""Write rendered files under the site folder, atomically; the only module that writes the site."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


class UnsafePath(ValueError):
    """A rendered path that would land outside the output folder."""


@dataclass
class WriteReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


def target(root: Path, relative: str) -> Path:
    """`root / relative`, refusing absolute paths, `..` and anything that escapes `root`."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or not rel.parts or any(p in ("", ".", "..") for p in rel.parts):
        raise UnsafePath(f"refusing to write {relative!r}")
    path = root.joinpath(*rel.parts)
    if not path.resolve().is_relative_to(root.resolve()):
        raise UnsafePath(f"refusing to write {relative!r} outside {root}")
    return path


def write_file(path: Path, data: bytes, durable: bool = True) -> bool:
    """Replace `path` with `data` in one step; False (and no write) when it already holds it.

    `durable=False` skips the fsync, for a cache: after a crash the file may be empty or
    missing, which its reader must take for a miss.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def write_tree(root: Path, files: Mapping[str, bytes]) -> WriteReport:
    """Write every file (paths relative to `root`, '/'-separated), in sorted order."""
    report = WriteReport()
    paths = {relative: target(root, relative) for relative in files}
    for relative in sorted(files):
        path = paths[relative]
        (report.written if write_file(path, files[relative]) else report.unchanged).append(path)
    return report
