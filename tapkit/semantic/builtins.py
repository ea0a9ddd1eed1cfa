"""The built-in probe families: binding them into the match tree and building derived probes.

Families that need no debuginfo are decided here (begin/end/error/never, timer.*, procfs,
perf, netfilter, process.begin/…, kernel.data); DWARF-backed points go to dwarfprobes, kernel
tracepoints to tracepoints. Each builder validates its parameters with stap's messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tapkit.semantic import ir
from tapkit.semantic.context import ContextVar, ProbeContext
from tapkit.semantic.errors import SemanticError
from tapkit.semantic.probe_types import PROBE_TYPES
from tapkit.semantic.probes import ArgLiteral, Body, Comp, MatchNode, Point, ProbeSpec, WithWrites
from tapkit.syntax import ast as A

if TYPE_CHECKING:
    from tapkit.semantic.session import DerivedProbe, Session

_COMPONENT = re.compile(r"([A-Za-z_][\w]*)(?:\((string|number)\))?")


def family_of(path: list[str]) -> str:
    first, rest = path[0], path[1:]
    if first in ("begin", "end", "error"):
        return "begin"
    if first == "never":
        return "never"
    if first == "timer":
        return "timer"
    if first == "procfs":
        return "procfs"
    if first == "perf":
        return "perf"
    if first == "netfilter":
        return "netfilter"
    if first == "kprobe":
        return "kprobe"
    if first == "kernel" and rest and rest[0] == "trace":
        return "tracepoint"
    if first == "kernel" and rest and rest[0] == "data":
        return "hwbkpt"
    if first == "kernel" and rest and rest[0] == "mark":
        return "mark"
    if first == "process":
        names = [p for p in rest if p != "library"]
        if names and names[0] in ("begin", "end", "thread", "syscall"):
            return "utrace"
        if names and names[0] == "insn":
            return "itrace"
        if "mark" in names:
            return "sdt"
        if names and names[0] == "plt":
            return "plt"
    return "dwarf"


def register_builtins(root: MatchNode) -> None:
    for line in PROBE_TYPES.strip().splitlines():
        node = root
        path = []
        for part in line.split("."):
            m = _COMPONENT.fullmatch(part)
            assert m is not None, line
            name, kind = m.group(1), m.group(2)
            path.append(name)
            node = node.bind((name, kind))
        node.ends.append(BuiltinBuilder(family_of(path)))


@dataclass(eq=False)
class BuiltinBuilder:
    family: str

    @property
    def name(self) -> str:
        return {"begin": "begin/end builder", "timer": "timer builder", "dwarf": "dwarf builder",
                "tracepoint": "tracepoint builder"}.get(self.family, f"{self.family} builder")

    def build(self, s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
              results: list[DerivedProbe]) -> None:
        handler = _HANDLERS.get(self.family)
        if handler is None:
            raise SemanticError("sem.no-match", "no match")
        handler(s, probe, loc, params, results)

    def build_with_suffix(self, s: Session, probe: ProbeSpec, loc: Point, suffix: list[Comp],
                          results: list[DerivedProbe]) -> None:
        raise SemanticError("sem.invalid-suffix", "invalid suffix for probe")


# ---------------------------------------------------------------- building a derived probe

def lower_body(s: Session, body: Body) -> ir.Block:
    if isinstance(body, A.Block):
        return s.lowering.block(body)
    if isinstance(body, WithWrites):
        saved = s.lowering.probewrites
        s.lowering.probewrites = body.written
        try:
            return s.lowering.block(body.block)
        finally:
            s.lowering.probewrites = saved
    parts: list[ir.Stmt] = [lower_body(s, part) for part in body]
    return ir.Block(parts[0].src, parts)


def lower_condition(s: Session, conditions: tuple[A.Expr, ...]) -> ir.Expr | None:
    cond: ir.Expr | None = None
    for c in conditions:
        e = s.lowering.expr(c)
        cond = e if cond is None else ir.Logical(c, "&&", cond, e)
    return cond


def make_derived(s: Session, probe: ProbeSpec, loc: Point, context: ProbeContext) -> DerivedProbe:
    from tapkit.semantic.session import DerivedProbe

    dp = DerivedProbe(probe, loc, context, lower_body(s, probe.body), lower_condition(s, loc.conditions))
    return dp


def number(params: dict[str, ArgLiteral | None], key: str) -> int | None:
    v = params.get(key)
    return v.value if isinstance(v, A.NumberLiteral) else None


def string(params: dict[str, ArgLiteral | None], key: str) -> str | None:
    v = params.get(key)
    return v.value if isinstance(v, A.StringLiteral) else None


# ---------------------------------------------------------------- families without debuginfo

def _begin(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
           results: list[DerivedProbe]) -> None:
    results.append(make_derived(s, probe, loc, ProbeContext(loc.comps[0].functor)))


def _never(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
           results: list[DerivedProbe]) -> None:
    results.append(make_derived(s, probe, loc, ProbeContext("never")))


_MAX_NS = 1_000_000_000 * 60 * 60 * 24
_MIN_NS = 100_000


def _timer(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
           results: list[DerivedProbe]) -> None:
    if "profile" in params:
        # Debian 6.1 kernels export neither register_timer_hook nor register_profile_notifier
        raise SemanticError("sem.timer", "profiling timer support (register_timer_hook) not found in kernel!")
    rand = number(params, "randomize") or 0
    jiffies = number(params, "jiffies")
    if jiffies is not None:
        if jiffies <= 0 or jiffies > 1_000_000:
            raise SemanticError("sem.timer", "invalid interval for jiffies timer")
        if rand < 0 or rand > jiffies:
            raise SemanticError("sem.timer", "invalid randomize for jiffies timer")
        results.append(make_derived(s, probe, loc, ProbeContext("timer")))
        return
    scale = 1
    hz = number(params, "hz")
    if hz is not None:
        if hz <= 0:
            raise SemanticError("sem.timer", "frequency must be greater than 0")
        period = (1_000_000_000 + hz - 1) // hz
    else:
        for keys, sc in ((("s", "sec"), 1_000_000_000), (("ms", "msec"), 1_000_000), (("us", "usec"), 1000),
                         (("ns", "nsec"), 1)):
            value = next((number(params, k) for k in keys if number(params, k) is not None), None)
            if value is not None:
                scale = sc
                period = value * sc
                rand *= sc
                break
        else:
            raise SemanticError("sem.timer", "unrecognized timer variant")
    if period < _MIN_NS or period > _MAX_NS:
        low = _MIN_NS // scale if scale < _MIN_NS else 1
        raise SemanticError("sem.timer", f"interval value out of range ({low}, {_MAX_NS // scale})")
    if rand < 0 or rand > period:
        raise SemanticError("sem.timer", "randomization value out of range")
    results.append(make_derived(s, probe, loc, ProbeContext("timer")))


def _procfs(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
            results: list[DerivedProbe]) -> None:
    from tapkit.semantic.session import ProcfsFile

    path = string(params, "procfs") or "command"
    if path.startswith("/") or path.endswith("/") or "//" in path or path in (".", ".."):
        raise SemanticError("sem.procfs", f"procfs path \"{path}\" contains invalid characters")
    write = "write" in params
    ctx = ProbeContext("procfs", family_label="procfs")
    ctx.variables["$value"] = ContextVar("$value", ir.STRING, writable=not write)
    dp = make_derived(s, probe, loc, ctx)
    dp.procfs = ProcfsFile(path, write)
    results.append(dp)


def _perf(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
          results: list[DerivedProbe]) -> None:
    results.append(make_derived(s, probe, loc, ProbeContext("perf")))


_NETFILTER_VARS = {"$hooknum": ir.LONG, "$skb": ir.LONG, "$in": ir.LONG, "$out": ir.LONG, "$indev": ir.LONG,
                   "$outdev": ir.LONG, "$okfn": ir.LONG, "$verdict": ir.LONG, "$indev_name": ir.STRING,
                   "$outdev_name": ir.STRING}


def _netfilter(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
               results: list[DerivedProbe]) -> None:
    ctx = ProbeContext("netfilter", family_label="netfilter probe")
    for name, t in _NETFILTER_VARS.items():
        ctx.variables[name] = ContextVar(name, t, writable=name == "$verdict")
    results.append(make_derived(s, probe, loc, ctx))


def _utrace(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
            results: list[DerivedProbe]) -> None:
    ctx = ProbeContext("utrace", family_label="utrace")
    if "syscall" in params:
        ctx.is_return = "return" in params
        ctx.variables["$syscall"] = ContextVar("$syscall", ir.LONG)
        for i in range(1, 7):
            ctx.variables[f"$arg{i}"] = ContextVar(f"$arg{i}", ir.LONG)
        if ctx.is_return:
            ctx.variables["$return"] = ContextVar("$return", ir.LONG)
    results.append(make_derived(s, probe, loc, ctx))


Handler = Callable[["Session", ProbeSpec, Point, dict[str, "ArgLiteral | None"], "list[DerivedProbe]"], None]


def _accept(family: str) -> Handler:
    def handler(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
                results: list[DerivedProbe]) -> None:
        results.append(make_derived(s, probe, loc, ProbeContext(family)))
    return handler


def _no_symbols(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
                results: list[DerivedProbe]) -> None:
    # kprobe.* and kernel markers resolve against the kernel's symbol table, which stap cannot read
    # for another release (and markers are gone from modern kernels): nothing matches
    raise SemanticError("sem.no-match", "no match")


def _dwarf(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
           results: list[DerivedProbe]) -> None:
    from tapkit.semantic.dwarfprobes import build_dwarf

    build_dwarf(s, probe, loc, params, results)


def _tracepoint(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
                results: list[DerivedProbe]) -> None:
    from tapkit.semantic.tracepoints import build_tracepoint

    build_tracepoint(s, probe, loc, params, results)


def _process_elf(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
                 results: list[DerivedProbe]) -> None:
    from tapkit.semantic.dwarfprobes import build_process_elf

    build_process_elf(s, probe, loc, params, results)


_HANDLERS: dict[str, Handler] = {
    "begin": _begin, "never": _never, "timer": _timer, "procfs": _procfs, "perf": _perf, "netfilter": _netfilter,
    "utrace": _utrace, "hwbkpt": _accept("hwbkpt"), "itrace": _accept("itrace"), "kprobe": _no_symbols,
    "mark": _no_symbols, "dwarf": _dwarf, "tracepoint": _tracepoint, "sdt": _process_elf, "plt": _process_elf,
}
