"""What a printf format asks of its arguments, from tapkit.runtime's parser, remembered by format.

Pass 2 only needs, per conversion, the type it wants and whether a `*` width or precision takes
an argument too. The answers for formats already seen are kept in a small file under the cache
dir, so a warm check does not import the runtime library to parse formats it parsed before.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import NamedTuple

from tapkit.cache import cache_dir

FORMATS_VERSION = "1"


class Conversion(NamedTuple):
    wants: str  # "long" or "string"
    dynamic_width: bool
    dynamic_precision: bool


class FormatProblem(ValueError):
    """A format stap's parser rejects (a pass-1 error)."""


_memo: dict[str, list[list[object]] | str] | None = None
_dirty = False


def _path() -> str:
    return str(cache_dir("semantic") / f"formats-v{FORMATS_VERSION}.json")


def _load() -> dict[str, list[list[object]] | str]:
    global _memo
    if _memo is None:
        try:
            with open(_path(), encoding="utf-8") as fh:
                data = json.load(fh)
            _memo = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            _memo = {}
    return _memo


def conversions(fmt: str) -> tuple[Conversion, ...]:
    """The conversions of a printf format (as written, escapes undecoded), or FormatProblem."""
    global _dirty
    memo = _load()
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
        _dirty = True
    if isinstance(known, str):
        raise FormatProblem(known)
    return tuple(Conversion(str(w), bool(d), bool(p)) for w, d, p in known)


def save() -> None:
    """Write formats learnt in this process (called after an analysis)."""
    global _dirty
    if not _dirty or _memo is None:
        return
    path = _path()
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(_memo, fh)
        os.replace(tmp, path)
        _dirty = False
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
