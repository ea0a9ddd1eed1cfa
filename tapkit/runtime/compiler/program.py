"""compile_program: the checked program (pass 2's Analysis) to one Python factory, and its probe sites.

The generated source defines module-level constants (stap's `near` token texts, compiled formats,
regexes) and one factory:

    def __program(_session, _targets, _G):
        g_counts = LongArray(None, False)          # globals: closure variables of the handlers
        TV_adc = _targets.variable(3, 'adc')       # target-variable accessors from the engine's binder
        def f_helper(ctx, l_x): ...                # one function per script function
        def probe_0(ctx): ...                      # one per derived probe
        return (probe_0, probe_1, ...)

CompiledProgram.instantiate(session, binder, overrides) runs the factory for one session and returns
the handlers in ProbeSite order; engines decide when each site fires.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tapkit.runtime.compiler.analysis import nesting_info
from tapkit.runtime.compiler.display import display_function, displayed_globals
from tapkit.runtime.compiler.emitter import Lines
from tapkit.runtime.compiler.namespace import base_namespace
from tapkit.runtime.compiler.statements import compile_function, compile_probe
from tapkit.runtime.compiler.targets import NoTargets, TargetBinder, TargetCompiler
from tapkit.runtime.compiler.unit import CompileError, CompileUnit, Limits
from tapkit.semantic import ir

if TYPE_CHECKING:
    from tapkit.runtime.session import Session
    from tapkit.semantic.analysis import Analysis
    from tapkit.semantic.session import DerivedProbe

Handler = Any  # Callable[[Context], None]; kept loose for the exec'd functions

MAX_RUNNABLE_NESTING = 20000  # Python frames per nested call; deeper recursion would overflow the C stack
TIMER_UNITS_NS = {"s": 1_000_000_000, "sec": 1_000_000_000, "ms": 1_000_000, "msec": 1_000_000, "us": 1_000,
                  "usec": 1_000, "ns": 1, "nsec": 1}


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """A timer probe's period: interval_ns (or hz / jiffies resolved by the engine) and randomize."""

    unit: str  # s ms us ns hz jiffies profile
    count: int
    randomize: int = 0

    def interval_ns(self, hz: int) -> int:
        if self.unit in TIMER_UNITS_NS:
            return self.count * TIMER_UNITS_NS[self.unit]
        if self.unit == "hz":
            return 1_000_000_000 // self.count
        if self.unit == "jiffies":
            return self.count * 1_000_000_000 // hz
        return 1_000_000_000 // hz  # profile: every tick

    def randomize_ns(self, hz: int) -> int:
        if self.unit in TIMER_UNITS_NS:
            return self.randomize * TIMER_UNITS_NS[self.unit]
        if self.unit == "jiffies":
            return self.randomize * 1_000_000_000 // hz
        return 0


@dataclass(eq=False)
class ProbeSite:
    """One derived probe: what fires it (family and parameters) and its handler's position."""

    index: int
    family: str
    point: str  # pp()
    name: str  # pn()
    priority: int = 0
    timer: TimerSpec | None = None
    synthetic: bool = False
    probe: DerivedProbe | None = field(default=None, repr=False)

    @property
    def module(self) -> str:
        return self.probe.context.module if self.probe is not None else ""

    @property
    def is_return(self) -> bool:
        return self.probe.context.is_return if self.probe is not None else False


@dataclass(frozen=True, slots=True)
class GlobalInfo:
    name: str
    python: str
    type: str
    arity: int


@dataclass(eq=False)
class CompiledProgram:
    source: str
    sites: list[ProbeSite]
    globals: dict[str, GlobalInfo]
    limits: Limits
    maxnesting: int | None = None  # when functions count their nesting (recursion, -D MAXNESTING)
    code: Any = field(repr=False, default=None)

    def __post_init__(self) -> None:
        self.code = compile(self.source, "<tapkit program>", "exec")

    def instantiate(self, session: Session, binder: TargetBinder | None = None,
                    overrides: Mapping[str, int | str] | None = None) -> list[Handler]:
        if self.maxnesting is not None:  # each script call is one Python frame (two through a dispatcher)
            sys.setrecursionlimit(max(sys.getrecursionlimit(), 2 * self.maxnesting + 200))
        namespace = base_namespace()
        exec(self.code, namespace)
        factory = namespace["__program"]
        handlers: list[Handler] = list(factory(session, binder or NoTargets(), dict(overrides or {})))
        return handlers


def compile_program(analysis: Analysis, limits: Limits | None = None) -> CompiledProgram:
    """Compile pass 2's program; CompileError for what the builtin engine cannot run."""
    if not analysis.ok or analysis.session is None:
        raise CompileError("the program has errors (see tapkit check)")
    unit = CompileUnit(analysis, limits or Limits())
    _scan_statistics(unit, analysis)
    nesting = nesting_info(analysis.functions.values())
    if unit.limits.maxnesting is not None:
        unit.recursive_nesting = unit.limits.maxnesting
    elif nesting.recursive:
        unit.recursive_nesting = nesting.maxnesting
    targets = TargetCompiler(unit)

    functions: list[Lines] = []
    for fd in _needed_functions(unit, analysis):
        _check_runnable(unit, fd)
        functions.append(compile_function(unit, targets, fd))

    sites: list[ProbeSite] = []
    probes: list[Lines] = []
    for dp in analysis.probes:
        index = len(sites)
        site = _site(index, dp)
        name = unit.names.fresh(f"probe_{index}")
        targets.site, targets.probe = index, dp
        probes.append(compile_probe(unit, targets, name, dp.body, dp.locals))
        sites.append(site)
    targets.site, targets.probe = None, None
    for v in displayed_globals(analysis):
        index = len(sites)
        name = unit.names.fresh(f"display_{index}")
        probes.append(display_function(name, v, unit.global_name(v)))
        sites.append(ProbeSite(index, "end", "end", "end", synthetic=True))

    source = _assemble(unit, analysis, functions, probes, len(sites))
    infos = {v.name: GlobalInfo(v.name, unit.global_name(v), v.type, v.arity) for v in analysis.globals}
    if unit.recursive_nesting is not None and unit.recursive_nesting > MAX_RUNNABLE_NESTING:
        raise CompileError(f"MAXNESTING {unit.recursive_nesting} is deeper than tapkit can run "
                           f"(at most {MAX_RUNNABLE_NESTING} nested script calls)")
    return CompiledProgram(source, sites, infos, unit.limits, unit.recursive_nesting)


def _needed_functions(unit: CompileUnit, analysis: Analysis) -> list[ir.FunctionDef]:
    """Script functions the probes reach, not looking inside those an intrinsic replaces."""
    seen: dict[int, ir.FunctionDef] = {}
    work: list[ir.Node] = [dp.body for dp in analysis.probes]
    while work:
        for node in ir.walk(work.pop()):
            if not isinstance(node, ir.Call):
                continue
            for fd in node.referents:
                if id(fd) in seen or unit.intrinsic(fd) is not None:
                    continue
                seen[id(fd)] = fd
                if fd.body is not None:
                    work.append(fd.body)
    order = {id(fd): i for i, fd in enumerate(analysis.functions.values())}
    return sorted(seen.values(), key=lambda fd: order.get(id(fd), len(order)))


def _check_runnable(unit: CompileUnit, fd: ir.FunctionDef) -> None:
    from tapkit.runtime.compiler.intrinsics import UNSUPPORTED_REASONS, constant_for

    embedded = isinstance(fd.body, ir.EmbeddedCode) or (fd.body is not None and any(
        isinstance(n, ir.EmbeddedCode) or (isinstance(n, ir.EmbeddedExpr) and constant_for(n.code) is None)
        for n in ir.walk(fd.body)))
    if not embedded:
        return
    span = fd.decl.name_span
    reason = UNSUPPORTED_REASONS.get(fd.name)
    why = f" ({reason})" if reason else ""
    raise CompileError(f"tapset function '{fd.name}' ({fd.file}:{span.line}) has an embedded-C body with no tapkit "
                       f"intrinsic{why}; the stap engine can run it (--engine stap)", span)


def _scan_statistics(unit: CompileUnit, analysis: Analysis) -> None:
    roots: list[ir.Node] = [dp.body for dp in analysis.probes]
    roots += [fd.body for fd in analysis.functions.values() if fd.body is not None]
    for root in roots:
        for node in ir.walk(root):
            if isinstance(node, ir.HistOp | ir.StatOp):
                v = _stat_var(node.stat)
                if v is None:
                    continue
                if isinstance(node, ir.HistOp):
                    unit.note_hist(v, node)
                elif node.op == "variance":
                    unit.note_variance(v, node)


def _stat_var(e: ir.Expr) -> ir.VarDef | None:
    if isinstance(e, ir.Sym):
        return e.referent
    if isinstance(e, ir.ArrayIndex) and isinstance(e.base, ir.Sym):
        return e.base.referent
    return None


def probe_name(dp: DerivedProbe, point: str) -> str:
    """pn(), stap's script_location: the alias the script named, closest to the script first (when it
    names one without wildcards), else the point that fired as derived (the timer of `timer.ms(1),
    timer.ms(2)` that fired, a function with its file and line); never just the probe's first point."""
    for spec in reversed(dp.spec.chain()):
        if spec.alias_point is not None and spec.alias_point.well_formed:
            return spec.alias_point.text(flags=False)
    return point


def _site(index: int, dp: DerivedProbe) -> ProbeSite:
    family = dp.context.family
    comps = dp.point.comps
    point = dp.context.display_point or dp.point.text(flags=False)
    site = ProbeSite(index, family, point, probe_name(dp, point), probe=dp)
    if family in ("begin", "end", "error") and comps and comps[0].arg is not None:
        site.priority = _wrap_priority(int(comps[0].arg.value))
    elif family == "timer":
        site.timer = _timer_spec(dp)
    elif family == "perf" and _perf_cpu_clock(comps) is not None:
        # timer.profile on kernels without the profile tick is perf's software cpu clock: a period in ns
        site.family, site.timer = "timer", TimerSpec("ns", _perf_cpu_clock(comps) or 0)
    return site


def _perf_cpu_clock(comps: list[Any]) -> int | None:
    """The sample period of perf.type(1).config(0|1).sample(N) (software cpu-clock/task-clock), else None."""
    args = {c.functor: c.arg.value if c.arg is not None else None for c in comps}
    sample = args.get("sample")
    if args.get("type") == 1 and args.get("config") in (0, 1) and isinstance(sample, int):
        return sample
    return None


def _wrap_priority(value: int) -> int:
    from tapkit.runtime.arith import wrap

    return wrap(value)


def _timer_spec(dp: DerivedProbe) -> TimerSpec:
    comps = dp.point.comps
    unit = comps[1].functor if len(comps) > 1 else "profile"
    count = int(comps[1].arg.value) if len(comps) > 1 and comps[1].arg is not None else 0
    randomize = 0
    for c in comps[2:]:
        if c.functor == "randomize" and c.arg is not None:
            randomize = int(c.arg.value)
    if unit in ("profile", "tick", "freq"):
        return TimerSpec("profile", 0)
    if unit not in TIMER_UNITS_NS and unit not in ("hz", "jiffies"):
        raise CompileError(f"timer unit {unit} not supported", dp.point.src.span if dp.point.src else None)
    return TimerSpec(unit, count, randomize)


def _assemble(unit: CompileUnit, analysis: Analysis, functions: list[Lines], probes: list[Lines],
              count: int) -> str:
    out = Lines(0)
    out.add("# generated by tapkit: the compiled program")
    for line in unit.consts.lines:
        out.add(line)
    out.add("")
    out.add("def __program(_session, _targets, _G):")
    with out.indented():
        out.add("_write = _session.write")
        out.add("_exit = _session.exit")
        out.add("_abort = _session.abort")
        out.add("_warn = _session.warn")
        out.add("def _log(msg): _write(msg + '\\n')")
        for v in analysis.globals:
            out.add(f"{unit.global_name(v)} = {_global_init(unit, v)}")
        for line in unit.bindings:
            out.add(line)
        for fn in functions:
            out.extend(fn)
        for name, overloads, near in unit.dispatch:
            out.extend(_dispatcher(unit, name, overloads, near))
        for probe in probes:
            out.extend(probe)
        names = [line.split("(")[0][4:] for p in probes for line in p.lines[:1]]
        assert len(names) == count
        out.add("return (" + ", ".join(names) + ("," if len(names) == 1 else "") + ")")
    return out.text()


def _global_init(unit: CompileUnit, v: ir.VarDef) -> str:
    limits = unit.limits
    if v.arity > 0:
        maxsize = v.maxsize or None
        if v.type == ir.STATS:
            decl = unit.stat_decl(v)
            spec = _spec_source(decl.spec)
            make = f"StatArray({spec}, {decl.variance_shift!r}, {maxsize!r}, {v.wrap!r})"
        else:
            kind = "StringArray" if v.type == ir.STRING else "LongArray"
            make = f"{kind}({maxsize!r}, {v.wrap!r})"
        if maxsize is None and limits.maxmapentries != 2048:
            make = f"_sized({make}, {limits.maxmapentries})"
        return make
    if v.type == ir.STATS:
        decl = unit.stat_decl(v)
        return f"Stat({_spec_source(decl.spec)}, {decl.variance_shift!r})"
    default = '""' if v.type == ir.STRING else "0"
    if v.init is not None:
        from tapkit.runtime.arith import wrap
        from tapkit.runtime.compiler.expressions import literal
        from tapkit.syntax import ast as A

        init = v.init
        if isinstance(init, A.NumberLiteral):
            default = str(wrap(init.value))
        elif isinstance(init, A.StringLiteral):
            default = repr(literal(init.value, ir.String(init, init.value))[:limits.maxstringlen - 1])
    return f"_G.get({v.name!r}, {default})"


def _spec_source(spec: object) -> str:
    from tapkit.runtime.stats import HIST_LINEAR, HIST_LOG, HistSpec

    if spec is None:
        return "NO_HIST"
    assert isinstance(spec, HistSpec)
    if spec.kind == HIST_LOG:
        return "LOG_HIST"
    if spec.kind == HIST_LINEAR:
        return f"HistSpec.linear({spec.start}, {spec.stop}, {spec.interval})"
    return "NO_HIST"


def _dispatcher(unit: CompileUnit, name: str, overloads: list[ir.FunctionDef], near: str) -> Lines:
    params = [f"a{i}" for i in range(len(overloads[0].params))]
    out = Lines(0)
    out.add(f"def {name}({', '.join(['ctx', *params])}):")
    with out.indented():
        for fd in overloads:
            intrinsic = unit.intrinsic(fd)
            call = (intrinsic.render(params, "ctx", unit.decl_token(fd)) if intrinsic is not None
                    else f"{unit.function_name(fd)}({', '.join(['ctx', *params])})")
            out.add("try:")
            out.add(f"    return {call}")
            out.add("except _NextOverload:")
            out.add("    pass")
        out.add(f"raise StapError('all functions exhausted', {near})")
    return out

