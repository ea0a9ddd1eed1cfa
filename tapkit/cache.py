"""Where tapkit keeps what it can compute again: parsed files, debuginfo indexes, built fixtures."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """$TAPKIT_CACHE_DIR, else $XDG_CACHE_HOME/tapkit, else ~/.cache/tapkit; created on demand."""
    base = os.environ.get("TAPKIT_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "tapkit")
    path = Path(base, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


try:  # the same blake2b as hashlib's, without hashlib's start-up cost (it loads OpenSSL: ~3 ms)
    from _blake2 import blake2b as blake2b
except ImportError:  # pragma: no cover - a Python built without _blake2
    from hashlib import blake2b as blake2b


def content_hash(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return blake2b(data, digest_size=16).hexdigest()


def store(path: Path, data: bytes | str) -> bool:
    """Write a cache file atomically: a concurrent reader sees the old file or the new one, never half of
    one. False (and nothing left behind) when it cannot be written: a cache that fails to save is only slower."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data)
        else:
            tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True
