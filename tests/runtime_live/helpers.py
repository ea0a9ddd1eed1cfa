"""Shared pieces of the live-probe tests: running a program plainly, and probing it with LiveEngine."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tapkit.debuginfo import Debuginfo, open_debuginfo
from tapkit.runtime.live import LiveContext, LiveEngine
from tapkit.runtime.live.variables import resolve_return, resolve_variable


def plain(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """The program's own output and exit code, with no tracer."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def info(path: Path) -> Debuginfo:
    return open_debuginfo(str(path))


def counter(engine: LiveEngine, path: Path, names: list[str], kind: str = "entry") -> Counter[str]:
    """Count entries (or returns) of the named functions."""
    counts: Counter[str] = Counter()
    di = info(path)
    for name in names:
        engine.add_function(str(path), di.function(name), lambda ctx, n=name: counts.update([n]),
                            kind=kind)  # type: ignore[arg-type]
    return counts


def record_param(engine: LiveEngine, path: Path, function: str, param: str) -> list[int]:
    """Every value of $param at the function's entry."""
    di = info(path)
    fn = di.function(function)
    var = resolve_variable(di, fn, param, fn.entry_address or 0)
    values: list[int] = []
    engine.add_function(str(path), fn, lambda ctx: values.append(var.read(ctx)))
    return values


def record_return(engine: LiveEngine, path: Path, function: str,
                  then: Callable[[LiveContext], None] | None = None) -> list[int]:
    """Every $return of the function."""
    di = info(path)
    fn = di.function(function)
    rv = resolve_return(di, fn)
    values: list[int] = []

    def hit(ctx: LiveContext) -> None:
        values.append(rv.read(ctx))
        if then is not None:
            then(ctx)

    engine.add_function(str(path), fn, hit, kind="return")
    return values
