"""What a printf format asks of its arguments, from tapkit.runtime's parser, remembered by format.

Pass 2 only needs, per conversion, the type it wants and whether a `*` width or precision takes
an argument too. The answers for formats already seen are kept in small files under the cache
dir (sharded by a hash of the format), so a warm check neither imports the runtime library to
parse formats it parsed before nor reads the answers for formats it does not meet.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import NamedTuple

from tapkit.cache import cache_dir, store

FORMATS_VERSION = "1"


class Conversion(NamedTuple):
    wants: str  # "long" or "string"
    dynamic_width: bool
    dynamic_precision: bool


class FormatProblem(ValueError):
    """A format stap's parser rejects (a pass-1 error)."""


FormatMemo = dict[str, "list[list[object]] | str"]
_shards: dict[str, FormatMemo] = {}  # shard name -> format -> conversions (or the error)
_dirty: set[str] = set()
SHARDS = 64  # one small file per shard: a check reads only the shards of the formats it meets


def _shard(fmt: str) -> str:
    return f"{zlib.crc32(fmt.encode('utf-8', 'surrogateescape')) % SHARDS:02x}"


def _path(shard: str) -> str:
    return str(cache_dir("semantic", f"formats-v{FORMATS_VERSION}") / f"{shard}.json")


def _load(shard: str) -> FormatMemo:
    memo = _shards.get(shard)
    if memo is None:
        try:
            with open(_path(shard), encoding="utf-8") as fh:
                data = json.load(fh)
            memo = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            memo = {}
        _shards[shard] = memo
    return memo


def conversions(fmt: str) -> tuple[Conversion, ...]:
    """The conversions of a printf format (as written, escapes undecoded), or FormatProblem."""
    shard = _shard(fmt)
    memo = _load(shard)
    known = memo.get(fmt)
    if known is None:
        from tapkit.runtime.printf import DYNAMIC, LITERAL, STRING, FormatError, parse_format

        try:
            comps = parse_format(fmt)
            known = [["string" if c.kind == STRING else "long", c.width_kind == DYNAMIC, c.precision_kind == DYNAMIC]
                     for c in comps if c.kind != LITERAL]
        except FormatError as exc:
            known = str(exc)
        memo[fmt] = known
        _dirty.add(shard)
    if isinstance(known, str):
        raise FormatProblem(known)
    return tuple(Conversion(str(w), bool(d), bool(p)) for w, d, p in known)


def save() -> None:
    """Write formats learnt in this process (called after an analysis)."""
    for shard in sorted(_dirty):
        store(Path(_path(shard)), json.dumps(_shards[shard]))
    _dirty.clear()
