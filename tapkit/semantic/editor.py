"""The editor's view of an analysis: every name's symbol and every expression's type, for all code.

stap's verdict needs the optimizer, which drops what has no effect; an editor needs the opposite:
a type for every expression, a symbol for every name, even in a probe the machine cannot resolve
(a kernel.function without kernel debuginfo). So analyze(..., editor=True) resolves every probe
body (those whose point fails get a context of their family's kind), skips the optimizer, infers
types to a fixed point without reporting, and collects the results here by syntax node.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tapkit.diagnostics import Span
from tapkit.semantic import ir
from tapkit.semantic.context import ProbeContext
from tapkit.semantic.errors import SemanticError
from tapkit.syntax import ast as A

if TYPE_CHECKING:
    from tapkit.semantic.infer import TypeResolver
    from tapkit.semantic.probes import ProbeSpec
    from tapkit.semantic.session import DerivedProbe, Session
    from tapkit.semantic.targets import TargetType


@dataclass(eq=False)
class Symbol:
    """A name's meaning: kind is "local", "param", "global", "function", "macro" or "alias".

    definition is where it is declared (a local: its first use, as stap decides); references are
    every use, definition included. scope is the probe or function a local or parameter belongs to.
    """

    kind: str
    name: str
    definition: Span | None
    references: list[Span] = field(default_factory=list)
    type: str = ir.UNKNOWN
    index_types: tuple[str, ...] = ()
    scope: Span | None = None
    detail: str = ""  # a function's signature, a global's declaration
    doc: str = ""
    library: bool = False
    target: TargetType | None = None  # a local holding a typed pointer (completion after `v->`)

    def __repr__(self) -> str:
        return f"<Symbol {self.kind} {self.name} at {self.definition}>"


@dataclass(frozen=True, slots=True)
class ExprType:
    """What the editor shows for an expression: stap's type, an array's index types, the C type."""

    type: str
    index_types: tuple[str, ...] = ()
    target: TargetType | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """A probe or function body and what is visible in it."""

    span: Span
    kind: str  # "probe" or "function"
    name: str
    locals: tuple[Symbol, ...]
    context: ProbeContext | None = None


@dataclass(eq=False)
class EditorModel:
    symbols: list[Symbol]
    at: dict[tuple[str, int, int], Symbol]  # the start of each reference -> its symbol
    types: dict[int, ExprType]  # id(syntax node) -> type, in the user's files (the queries read no other)
    nodes: list[A.Node]  # keeps the keyed syntax nodes alive
    scopes: list[Scope]
    files: dict[str, A.File]
    targets: dict[int, ir.Target] = field(default_factory=dict)  # id(syntax node) -> resolved target expression


# ---------------------------------------------------------------- analysing everything

FAMILY_OF_FIRST = {"begin": "begin", "end": "end", "error": "error", "never": "never", "timer": "timer",
                   "procfs": "procfs", "perf": "perf", "netfilter": "netfilter", "kernel": "dwarf",
                   "module": "dwarf", "process": "dwarf", "kprobe": "kprobe"}


def fallback_probe(s: Session, spec: ProbeSpec) -> DerivedProbe:
    """A stand-in for a probe whose point did not resolve, so that its body is still understood."""
    from tapkit.semantic.builtins import lower_body
    from tapkit.semantic.session import DerivedProbe

    point = spec.points[0]
    family = FAMILY_OF_FIRST.get(point.comps[0].functor if point.comps else "", "unresolved")
    ctx = ProbeContext(family, display_point=point.text(flags=False))
    return DerivedProbe(spec, point, ctx, lower_body(s, spec.body))


def infer_quietly(s: Session) -> None:
    """Type inference to its fixed point, reporting nothing (the editor's types).

    The sweeps of TypeResolver.sweep(final=False), each skipping the functions and probes whose visit would
    change nothing: their last visit resolved nothing, and no declaration they read (a variable, a called
    function or its parameters) changed since. That leaves every sweep's result, and the number of sweeps, as
    they were (a library's `probe init` filling a 1,700-entry table took ~4 ms of each of 5 or 6 sweeps)."""
    from tapkit.semantic.infer import TypeResolver

    saved = list(s.errors.errors)
    tr = TypeResolver(s)
    units = [_Unit(s.functions[key], None) for key in sorted(s.functions)] + [_Unit(None, dp) for dp in s.probes]
    decls = {k: d for u in units if u.reads is not None for k, d in u.reads.items()}
    for _ in range(64):
        tr.newly = tr.still = 0
        before = {k: _state(d) for k, d in decls.items()}
        with contextlib.suppress(SemanticError):
            for i, u in enumerate(units):
                if u.fd is None and (i == 0 or units[i - 1].fd is not None):
                    tr.current_function = None  # as sweep() does between the functions and the probes
                if u.settled:
                    continue
                start = tr.newly
                u.settled = False  # until the visit ends without raising
                u.visit(tr)
                u.settled = u.reads is not None and tr.newly == start
        tr.current_function = tr.current_probe = None
        if tr.newly == 0:
            break
        changed = {k for k, d in decls.items() if _state(d) != before[k]}
        for u in units:
            if u.settled and u.reads is not None and not changed.isdisjoint(u.reads):
                u.settled = False
    s.errors.errors[:] = saved


def _state(d: ir.VarDef | ir.FunctionDef) -> tuple[object, ...]:
    if isinstance(d, ir.VarDef):
        return d.type, tuple(d.index_types), id(d.details)
    return d.type, id(d.details)


def _statements(st: ir.Stmt) -> int:
    """The statements of st's nested blocks (a cheap measure of its size)."""
    return sum(_statements(x) for x in st.statements) if isinstance(st, ir.Block) else 1


SKIPPED_FROM = 100  # statements in a body from which its unit is skipped when settled (smaller: visited always)


class _Unit:
    """A function or probe as type inference visits it, and (for a large one) the declarations a visit of it
    reads; reads None: a small unit, visited in every sweep (tracking it would cost more than visiting it)."""

    def __init__(self, fd: ir.FunctionDef | None, dp: DerivedProbe | None) -> None:
        self.fd, self.dp = fd, dp
        self.settled = False
        self.reads: dict[int, ir.VarDef | ir.FunctionDef] | None = None
        body = fd.body if fd is not None else dp.body if dp is not None else None
        if body is None or _statements(body) < SKIPPED_FROM:
            return
        reads: list[ir.VarDef | ir.FunctionDef] = []
        roots: list[ir.Node] = []
        if fd is not None:
            reads += [fd, *fd.params]
            if fd.body is not None:
                roots.append(fd.body)
        elif dp is not None:
            roots.append(dp.body)
            if dp.condition is not None:
                roots.append(dp.condition)
        for root in roots:
            for n in ir.walk(root):
                if isinstance(n, ir.Sym):
                    if n.referent is not None:
                        reads.append(n.referent)
                elif isinstance(n, ir.Call):
                    for callee in n.referents:
                        reads += [callee, *callee.params]
        self.reads = {id(d): d for d in reads}

    def visit(self, tr: TypeResolver) -> None:
        """What TypeResolver.sweep(final=False) does for this unit."""
        if self.fd is not None:
            tr.current_function, tr.current_probe = self.fd, None
            tr.t = ir.UNKNOWN
            tr.stmt(self.fd.body)
            return
        dp = self.dp
        assert dp is not None
        tr.current_probe = dp
        tr.t = ir.UNKNOWN
        tr.stmt(dp.body)
        if dp.condition is not None:
            tr.current_probe = None
            tr.t = ir.LONG
            tr.expr(dp.condition)


# ---------------------------------------------------------------- collecting

class _Collector:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.symbols: dict[object, Symbol] = {}
        self.types: dict[int, ExprType] = {}
        self.nodes: list[A.Node] = []
        self.targets: dict[int, ir.Target] = {}

    def symbol(self, key: object, make: Symbol) -> Symbol:
        found = self.symbols.get(key)
        if found is None:
            found = self.symbols[key] = make
        return found

    def var(self, v: ir.VarDef, scope: A.Node | None, scope_span: Span | None) -> Symbol:
        key = (id(scope), v.name) if v.kind == "local" else id(v)
        span = getattr(v.src, "name_span", None) or v.src.span
        library = not any(sf.path == v.file for sf in self.s.user_files)
        sym = self.symbol(key, Symbol(v.kind, v.name, span, scope=scope_span if v.kind != "global" else None,
                                      library=library))
        if sym.type == ir.UNKNOWN:
            sym.type = v.type
            sym.index_types = tuple(v.index_types)
        if sym.target is None and v.details is not None:
            sym.target = v.details
        if v.kind == "global" and not sym.detail:
            sym.detail = f"global {v.name}" + ("[]" if v.arity > 0 else "")
        return sym

    def function(self, fd: ir.FunctionDef) -> Symbol:
        params = ", ".join(f"{p.name}:{p.type}" if p.type != ir.UNKNOWN else p.name for p in fd.params)
        ret = f":{fd.type}" if fd.type != ir.UNKNOWN else ""
        doc = ""
        if fd.decl.doc is not None:
            from tapkit.semantic.library import doc_summary

            doc = doc_summary(fd.decl.doc)
        library = not any(sf.path == fd.file for sf in self.s.user_files)
        return self.symbol(id(fd), Symbol("function", fd.name, fd.decl.name_span, type=fd.type,
                                          detail=f"{fd.name}{ret}({params})", doc=doc, library=library))

    def note_type(self, e: ir.Expr) -> None:
        key = id(e.src)
        old = self.types.get(key)
        if old is None or (old.type == ir.UNKNOWN and e.type != ir.UNKNOWN) or (old.target is None and e.details):
            self.types[key] = ExprType(e.type, self._index_types(e), e.details)
            self.nodes.append(e.src)
        if isinstance(e, ir.Target) and e.base is not None and key not in self.targets:
            self.targets[key] = e

    @staticmethod
    def _index_types(e: ir.Expr) -> tuple[str, ...]:
        if isinstance(e, ir.Sym) and e.referent is not None and e.referent.arity > 0:
            return tuple(e.referent.index_types)
        return ()

    def walk(self, root: ir.Node, scope: A.Node | None, scope_span: Span | None, locals_: list[Symbol],
             types: bool = True) -> None:
        """types=False: the names only (library code: queries read types in the user's files alone)."""
        for n in ir.walk(root):
            if types and isinstance(n, ir.Expr):
                self.note_type(n)
            if isinstance(n, ir.Sym) and n.referent is not None:
                sym = self.var(n.referent, scope, scope_span)
                span = getattr(n.src, "name_span", None) or n.src.span
                if isinstance(n.src, A.Var | A.Param | A.GlobalVar):
                    span = Span(span.file, span.line, span.column, span.line, span.column + len(n.name))
                sym.references.append(span)
                if n.referent.kind == "local" and sym not in locals_:
                    locals_.append(sym)
            elif isinstance(n, ir.Call):
                for fd in n.referents:
                    sym = self.function(fd)
                    name_span = getattr(n.src, "name_span", None)
                    if name_span is not None:
                        sym.references.append(name_span)


_LIBRARY_NAMES: contextvars.ContextVar[bool] = contextvars.ContextVar("library_names", default=True)


@contextlib.contextmanager
def user_code_only() -> Iterator[None]:
    """Models built inside leave the bodies of library probes and functions out: their names' uses there
    are not recorded (an editor asking only about the user's code; a tapset's `probe init` of 1,700 lines
    cost ~8 ms a model)."""
    token = _LIBRARY_NAMES.set(False)
    try:
        yield
    finally:
        _LIBRARY_NAMES.reset(token)


def build_model(s: Session) -> EditorModel:
    c = _Collector(s)
    scopes: list[Scope] = []
    per_decl: dict[int, tuple[Scope, list[Symbol]]] = {}
    user = {sf.path for sf in s.user_files}
    library_names = _LIBRARY_NAMES.get()
    for dp in s.probes:
        decl = dp.decl
        locals_: list[Symbol] = list(per_decl[id(decl)][1]) if id(decl) in per_decl else []
        mine = decl.span.file in user
        if mine or library_names:
            c.walk(dp.body, decl, decl.span, locals_, mine)
            if dp.condition is not None:
                c.walk(dp.condition, decl, decl.span, locals_, mine)
        for v in dp.locals:
            sym = c.var(v, decl, decl.span)
            if sym not in locals_:
                locals_.append(sym)
        scope = Scope(decl.span, "probe", dp.point.text(flags=False), tuple(locals_), dp.context)
        if id(decl) not in per_decl or per_decl[id(decl)][0].context is None:
            per_decl[id(decl)] = (scope, locals_)
        else:
            per_decl[id(decl)] = (Scope(decl.span, "probe", per_decl[id(decl)][0].name, tuple(locals_),
                                        per_decl[id(decl)][0].context), locals_)
    scopes += [sc for sc, _ in per_decl.values()]
    for fd in s.functions.values():
        locals_ = []
        fsym = c.function(fd)
        for p in fd.params:
            sym = c.var(p, fd.decl, fd.decl.span)
            sym.references.append(p.src.name_span if isinstance(p.src, A.Param) else p.src.span)
            locals_.append(sym)
        if fd.body is not None and (fd.file in user or library_names):
            c.walk(fd.body, fd.decl, fd.decl.span, locals_, fd.file in user)
        for v in fd.locals:
            sym = c.var(v, fd.decl, fd.decl.span)
            if sym not in locals_:
                locals_.append(sym)
        fsym.references.append(fd.decl.name_span)
        scopes.append(Scope(fd.decl.span, "function", fd.name, tuple(locals_)))
    for g in s.globals:
        sym = c.var(g, None, None)
        name_span = getattr(g.src, "name_span", None)
        if name_span is not None:
            sym.references.append(name_span)
    files = {sf.path: sf.tree for sf in s.user_files}
    _macros(c, s, files)
    at: dict[tuple[str, int, int], Symbol] = {}
    for sym in c.symbols.values():
        sym.references = sorted(set(sym.references), key=lambda sp: (sp.file, sp.line, sp.column))
        for sp in sym.references:
            at.setdefault((sp.file, sp.line, sp.column), sym)
    return EditorModel(list(c.symbols.values()), at, c.types, c.nodes, scopes, files, c.targets)


def _macros(c: _Collector, s: Session, files: dict[str, A.File]) -> None:
    for tree in files.values():
        for m in tree.macros:
            sym = c.symbol(("macro", m.name), Symbol("macro", m.name, m.name_span,
                                                     detail=f"@define {m.name}" +
                                                     (f"({', '.join(m.params)})" if m.params else "")))
            sym.references.append(m.name_span)
        for call in tree.macro_calls:
            key = ("macro", call.name)
            if key not in c.symbols:
                c.symbols[key] = Symbol("macro", call.name, call.definition, library=True,
                                        detail=f"@define {call.name}")
            sym = c.symbols[key]
            sp = call.span
            sym.references.append(Span(sp.file, sp.line, sp.column, sp.line, sp.column + 1 + len(call.name)))
