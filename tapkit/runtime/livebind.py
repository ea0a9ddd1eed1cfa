"""The target-variable binder of live probes: `$var`, `$return`, entry values and SDT `$argN` per site.

The compiler asks `binder.variable(site, name)` once per (site, name) when the program is
instantiated (tapkit.runtime.compiler, targets.py); each answer is resolved against the site's
DWARF here, before the run starts, so a variable the probe cannot see fails the run up front with
stap's words. At each hit the access reads the live process through tapkit.runtime.live.variables.
Reading errors at a hit become handler errors (StapError), as stap's deref faults do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tapkit.runtime.arith import wrap
from tapkit.runtime.errors import StapError, read_fault
from tapkit.runtime.live.dwarfexpr import LocationError
from tapkit.runtime.live.variables import TargetVariableError, resolve_return, resolve_variable
from tapkit.runtime.memory import MemoryFault

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo, Function, Variable
    from tapkit.runtime.context import Context
    from tapkit.runtime.live import LiveContext


class LiveBindError(Exception):
    """A target variable a live probe cannot have, or a global it cannot place (stap's pass-2 words)."""


@dataclass(eq=False)
class SitePlan:
    """What the binder needs to know about one live site: how it fires and where."""

    kind: str  # "entry" "return" "address" "inline" "mark" "event" "symbol"
    info: Debuginfo | None = None
    function: Function | None = None
    addresses: tuple[int, ...] = ()  # link-time pcs of address probes
    inline_variables: dict[int, tuple[Variable, ...]] = field(default_factory=dict)  # inline entry -> variables
    entry_reads: dict[str, Any] = field(default_factory=dict)  # return probes: $param saved at entry
    entry_exprs: list[Callable[[Context], Any]] = field(default_factory=list)  # return probes: @entry(expr)
    bias_of: Callable[[LiveContext], int] | None = None
    returns: bool = False  # kind "symbol": a .return probe on an ELF symbol (no DWARF)

    def save_entry(self, ctx: LiveContext) -> dict[str, object]:
        """on_entry of a return probe: the entry values its handler reads as $param."""
        saved: dict[str, object] = {}
        for name, var in self.entry_reads.items():
            try:
                saved[name] = var.read(ctx)
            except (MemoryFault, LocationError, TargetVariableError, OverflowError) as exc:
                saved[name] = exc
        for i, evaluate in enumerate(self.entry_exprs):
            try:
                saved[f"@entry{i}"] = evaluate(ctx)
            except StapError as exc:
                saved[f"@entry{i}"] = exc
        return saved

    @property
    def saves_at_entry(self) -> bool:
        return bool(self.entry_reads or self.entry_exprs)


def _hit_error(name: str, exc: Exception) -> StapError:
    if isinstance(exc, MemoryFault):
        return StapError(read_fault(exc.addr))
    return StapError(f"cannot read ${name}: {exc}")


class _Checked:
    """A resolved variable whose hit-time failures are handler errors."""

    def __init__(self, name: str, var: Any) -> None:
        self.name, self.var = name, var

    def read(self, ctx: Context) -> int:
        try:
            return wrap(self.var.read(ctx))
        except (MemoryFault, LocationError, TargetVariableError) as exc:
            raise _hit_error(self.name, exc) from None

    def address(self, ctx: Context) -> int:
        try:
            return wrap(self.var.address(ctx))
        except LocationError as exc:
            if getattr(self.var.vtype, "kind", "") != "aggregate":
                raise _hit_error(self.name, exc) from None
            return self._in_registers(ctx)
        except (MemoryFault, TargetVariableError) as exc:
            raise _hit_error(self.name, exc) from None

    def _in_registers(self, ctx: Context) -> int:
        """A struct held in registers (a small parameter at the function's entry): its bytes are laid
        over the hit's memory at an address no process uses, so `$s->member` reads them there."""
        from tapkit.runtime.pretty import OVERLAY_BASE

        overlays = getattr(ctx.memory, "overlays", None)
        if overlays is None:
            raise StapError(f"cannot take the address of ${self.name}: it is in registers here")
        data = self.read_bytes(ctx)
        base = OVERLAY_BASE + (id(self) & 0xFFFFFF) * 0x100  # one slot per variable, refreshed at each use
        overlays[base] = data
        return wrap(base)

    def read_bytes(self, ctx: Context) -> bytes:
        try:
            data: bytes = self.var.read_bytes(ctx)
        except (MemoryFault, LocationError, TargetVariableError) as exc:
            raise _hit_error(self.name, exc) from None
        return data

    def write(self, ctx: Context, value: int) -> None:
        try:
            self.var.write(ctx, value)
        except (MemoryFault, LocationError, TargetVariableError) as exc:
            raise StapError(f"cannot write ${self.name}: {exc}") from None


class _ByAddress:
    """A variable of a probe with several addresses (statement lines, inline copies): one location each."""

    def __init__(self, name: str, per_pc: dict[int, _Checked], bias_of: Callable[[LiveContext], int]) -> None:
        self.name, self.per_pc, self.bias_of = name, per_pc, bias_of

    def _at(self, ctx: Context) -> _Checked:
        live: LiveContext = ctx  # type: ignore[assignment]
        found = self.per_pc.get(live.pc - self.bias_of(live))
        if found is None:
            raise StapError(f"${self.name} is not accessible at this address (pc: {live.pc:#x})")
        return found

    def read(self, ctx: Context) -> int:
        return self._at(ctx).read(ctx)

    def address(self, ctx: Context) -> int:
        return self._at(ctx).address(ctx)

    def read_bytes(self, ctx: Context) -> bytes:
        return self._at(ctx).read_bytes(ctx)

    def write(self, ctx: Context, value: int) -> None:
        self._at(ctx).write(ctx, value)


class _AtEntry:
    """`$param` in a .return probe: its value when the call began (saved by SitePlan.save_entry); read
    at the entry itself (inside an @entry expression being saved), the variable as it is then."""

    def __init__(self, name: str, var: Any) -> None:
        self.name, self.var = name, _Checked(name, var)

    def read(self, ctx: Context) -> int:
        if getattr(ctx, "return_frame", None) is None:
            return self.var.read(ctx)
        saved = getattr(ctx, "entry", None)
        value = saved.get(self.name) if isinstance(saved, dict) else None
        if isinstance(value, Exception):
            raise _hit_error(self.name, value)
        if value is None:
            raise StapError(f"${self.name}: no value saved at the call's entry")
        return wrap(int(value))

    def address(self, ctx: Context) -> int:
        if getattr(ctx, "return_frame", None) is None:
            return self.var.address(ctx)
        raise StapError(f"cannot take the address of ${self.name} in a return probe (its entry value is a copy)")

    def write(self, ctx: Context, value: int) -> None:
        raise StapError(f"cannot write ${self.name} in a return probe (only $return)")


class _EntryExpression:
    def __init__(self, key: str) -> None:
        self.key = key

    def read(self, ctx: Context) -> Any:
        saved = getattr(ctx, "entry", None)
        if not isinstance(saved, dict) or self.key not in saved:
            raise StapError("@entry: no value saved at the call's entry")
        value = saved[self.key]
        if isinstance(value, StapError):
            raise value
        return value


class _MarkArgument:
    def __init__(self, n: int) -> None:
        self.n = n

    def read(self, ctx: Context) -> int:
        try:
            return wrap(ctx.mark_argument(self.n))  # type: ignore[attr-defined]
        except (MemoryFault, LocationError, IndexError) as exc:
            raise _hit_error(f"arg{self.n}", exc) from None

    def address(self, ctx: Context) -> int:
        raise StapError(f"cannot take the address of $arg{self.n}")

    def write(self, ctx: Context, value: int) -> None:
        raise StapError(f"cannot write $arg{self.n}")


class LiveBinder:
    """TargetBinder for live probes (see the module docstring)."""

    def __init__(self, plans: dict[int, SitePlan], symbol_address: Callable[[str, str], int],
                 symbol_resolver: Callable[[str, str], Callable[[Context], int]]) -> None:
        self.plans = plans
        self.symbol_address = symbol_address
        self.symbol_resolver = symbol_resolver

    def variable(self, site: int, name: str) -> Any:
        plan = self.plans.get(site)
        if plan is None:
            raise LiveBindError(f"probe {site} has no target variables")
        if plan.kind == "mark":
            if name.startswith("arg") and name[3:].isdigit():
                return _MarkArgument(int(name[3:]))
            raise LiveBindError(f"SDT markers have $arg1...$argN, not ${name}")
        info, fn = plan.info, plan.function
        if info is None or fn is None:
            raise LiveBindError(f"target variable ${name} needs DWARF (this probe was placed from ELF symbols)")
        try:
            return self._resolve(plan, info, fn, name)
        except TargetVariableError as exc:
            raise LiveBindError(str(exc)) from None

    def _resolve(self, plan: SitePlan, info: Debuginfo, fn: Function, name: str) -> Any:
        if name == "return":
            if plan.kind != "return":
                raise TargetVariableError("invalid use of $return in a non-return probe")
            return _Checked(name, resolve_return(info, fn))
        if plan.kind == "return":
            if name not in plan.entry_reads:
                plan.entry_reads[name] = resolve_variable(info, fn, name, fn.entry_address or 0)
            return _AtEntry(name, plan.entry_reads[name])
        if plan.kind == "entry":
            return _Checked(name, resolve_variable(info, fn, name, fn.entry_address or 0))
        assert plan.bias_of is not None
        per_pc: dict[int, _Checked] = {}
        if plan.kind == "inline":
            for pc, variables in plan.inline_variables.items():
                per_pc[pc] = _Checked(name, resolve_variable(info, fn, name, pc, variables))
        else:
            for pc in plan.addresses:
                per_pc[pc] = _Checked(name, resolve_variable(info, fn, name, pc))
        return _ByAddress(name, per_pc, plan.bias_of)

    def entry_value(self, site: int, evaluate: Callable[[Context], Any]) -> Any:
        plan = self.plans.get(site)
        if plan is None or not (plan.kind == "return" or (plan.kind == "symbol" and plan.returns)):
            raise LiveBindError("@entry is for return probes")
        plan.entry_exprs.append(evaluate)
        return _EntryExpression(f"@entry{len(plan.entry_exprs) - 1}")

    def global_address(self, module: str, name: str) -> int:
        return self.symbol_address(module, name)

    def global_resolver(self, module: str, name: str) -> Callable[[Context], int]:
        return self.symbol_resolver(module, name)


__all__ = ["LiveBindError", "LiveBinder", "SitePlan"]

