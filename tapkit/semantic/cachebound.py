"""A size and age bound on the semantic cache directory (least recently used files go first).

Every tapset library (system tapsets plus each set of -I directories, per release) leaves an index
of ~0.8 MB there, so test runs over temporary directories and release switches grow it without end.
Entries are used through their mtime: a cache hit touches its file (at most once an hour), and
after each write the directory is cut back to MAX_BYTES and MAX_AGE, oldest first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

MAX_BYTES = 64 << 20  # ~80 library indexes: every release and include-dir set a user switches between
MAX_AGE = 30 * 86400.0  # seconds; an index unused for a month is cheaper to rebuild than to keep
_TOUCH_AFTER = 3600.0  # a hit refreshes the mtime only when it is older than this (no write per start)
_STALE_TMP = 3600.0  # a writer's temporary file this old belongs to a process that died


def touch(path: Path) -> None:
    """Mark a cache file as just used (a hit), so pruning keeps it over older ones."""
    try:
        if time.time() - path.stat().st_mtime > _TOUCH_AFTER:
            os.utime(path)
    except OSError:
        pass


def prune(directory: Path, max_bytes: int | None = None, max_age: float | None = None,
          keep: Iterable[Path] = ()) -> list[Path]:
    """Delete the directory's files (not its subdirectories) beyond max_bytes (default MAX_BYTES),
    newest kept first, and any older than max_age seconds (default MAX_AGE); keep names files never
    deleted (the ones just written). Returns what was deleted."""
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    max_age = MAX_AGE if max_age is None else max_age
    now = time.time()
    kept = {p.name for p in keep}
    entries: list[tuple[float, int, Path]] = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                entries.append((st.st_mtime, st.st_size, Path(entry.path)))
    except OSError:
        return []
    entries.sort(key=lambda e: e[0], reverse=True)
    total = sum(size for _, size, p in entries if p.name in kept)
    removed = []
    for mtime, size, path in entries:
        if path.name in kept:
            continue
        age = now - mtime
        temporary = path.name.endswith(".tmp")
        if (temporary and age > _STALE_TMP) or (not temporary and (age > max_age or total + size > max_bytes)):
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
            continue
        total += size
    return removed
