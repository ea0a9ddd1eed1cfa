"""What a derived probe offers its body: its family, and the target variables it can resolve.

begin/end/timer probes have no `$variables`; a DWARF probe has the probed function's parameters
and locals (and `$return` in .return probes); a tracepoint has its TP_PROTO arguments; procfs
probes have `$value`, netfilter hooks `$hooknum`, `$skb`, ….
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo, Function


@dataclass(frozen=True, slots=True)
class ContextVar:
    """A `$name` a non-DWARF probe provides: its stap type and whether the body may assign it."""

    name: str
    type: str  # "long" or "string"
    writable: bool = False
    c_type: str = ""  # the C type it has (tracepoint arguments), for hover


@dataclass(eq=False)
class ProbeContext:
    """family: begin, end, error, never, timer, procfs, perf, netfilter, tracepoint, dwarf, kprobe,
    utrace, hwbkpt, mark, plt; display_point: the derived location as stap prints it."""

    family: str
    display_point: str | None = None
    is_return: bool = False
    module: str = ""  # "kernel", a module name or a process path (DWARF probes)
    function: Function | None = None
    debuginfo: Debuginfo | None = None
    variables: dict[str, ContextVar] = field(default_factory=dict)
    tracepoint: Any = None  # tapkit.semantic.tracepoints.Tracepoint
    family_label: str = ""  # stap's name for the family in messages ("tracepoint", "procfs", …)
    statement: bool = False  # a .statement probe (fires inside the function, not at its entry)

    @property
    def has_dwarf(self) -> bool:
        return self.family == "dwarf" and self.function is not None
