"""Pass 2 for a live run on this host: process .return probes are available.

`tapkit check` judges a script as stap -p2 does for the target release, and stap 4.8 refuses
process(...).function(...).return for the Debian release it targets here ("process return probes
not available", it cannot read that kernel's uretprobe exports). `tapkit run` places return probes
itself (tapkit.runtime.live), so its pass 2 derives them: `uretprobes_available()` wraps the DWARF
probe builder for the length of one analysis, deriving the probe as a `.call` and then marking it a
return probe (the same functions stap's .return matches: those with an out-of-line body).

Interim: the semantic package should take this as an analysis option (the kernel offers uretprobes)
instead; then this module goes away.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_lock = threading.Lock()


@contextlib.contextmanager
def uretprobes_available() -> Iterator[None]:
    from tapkit.semantic import dwarfprobes

    original = dwarfprobes.build_dwarf

    def build(s: Any, probe: Any, loc: Any, params: dict[str, Any], results: list[Any]) -> None:
        if "return" not in params or "process" not in params or "module" in params:
            original(s, probe, loc, params, results)
            return
        call = {k: v for k, v in params.items() if k != "return"}
        call["call"] = None
        start = len(results)
        original(s, probe, loc, call, results)
        for dp in results[start:]:
            dp.context.is_return = True
            if dp.context.display_point:
                dp.context.display_point += ".return"

    with _lock:
        dwarfprobes.build_dwarf = build
        try:
            yield
        finally:
            dwarfprobes.build_dwarf = original
