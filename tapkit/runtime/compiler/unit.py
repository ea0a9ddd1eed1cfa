"""What compiling one program shares across its probes and functions: names, constants, options.

A CompileUnit knows the Python name of every global and function, the `near` token texts (stap's
last_stmt strings) as module constants, the statistics declarations (histogram kind and @variance
shift per statistics global, as stap's stat_decls), and the limits (-D) in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tapkit.diagnostics import Span
from tapkit.runtime.compiler.emitter import Constants, Names, py_ident
from tapkit.runtime.compiler.intrinsics import Intrinsic, intrinsic_for
from tapkit.runtime.stats import HistogramError, HistSpec
from tapkit.semantic import ir
from tapkit.semantic.analysis import Analysis
from tapkit.semantic.errors import Where
from tapkit.syntax.library import system_tapset_dir

DEFAULT_VARIANCE_SHIFT = 0


class CompileError(Exception):
    """A program the builtin engine cannot run, with the position it concerns."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span

    def __str__(self) -> str:
        if self.span is None:
            return self.message
        return f"{self.message} at {self.span.file}:{self.span.line}:{self.span.column}"


@dataclass(frozen=True)
class Limits:
    """The runtime limits stap takes from -D NAME=VALUE (runtime_defines.h defaults)."""

    maxnesting: int | None = None  # None: computed as stap does
    maxaction: int = 1000
    maxaction_interruptible: int | None = None  # None: 10 * maxaction
    maxmapentries: int = 2048
    maxerrors: int = 0
    maxskipped: int = 100
    maxstringlen: int = 512

    @property
    def probe_actions(self) -> int:
        return self.maxaction_interruptible if self.maxaction_interruptible is not None else self.maxaction * 10

    @classmethod
    def from_defines(cls, defines: Mapping[str, str]) -> Limits:
        """-D values; unknown names are the C compiler's business in stap and ignored here."""
        def num(name: str) -> int | None:
            text = defines.get(name)
            if text is None:
                return None
            try:
                return int(text, 0)
            except ValueError:
                raise CompileError(f"-D {name}={text}: not a number") from None

        base = cls()
        return cls(
            maxnesting=num("MAXNESTING"),
            maxaction=num("MAXACTION") or base.maxaction,
            maxaction_interruptible=num("MAXACTION_INTERRUPTIBLE"),
            maxmapentries=num("MAXMAPENTRIES") or base.maxmapentries,
            maxerrors=v if (v := num("MAXERRORS")) is not None else base.maxerrors,
            maxskipped=v if (v := num("MAXSKIPPED")) is not None else base.maxskipped,
            maxstringlen=num("MAXSTRINGLEN") or base.maxstringlen,
        )


@dataclass(eq=False)
class StatDecl:
    """One statistics global's shape: the histogram its @hist_* uses ask for, and @variance's shift."""

    spec: HistSpec | None = None
    spec_where: Span | None = None
    variance_shift: int | None = None


@dataclass(eq=False)
class CompileUnit:
    analysis: Analysis
    limits: Limits = field(default_factory=Limits)
    names: Names = field(default_factory=lambda: Names({"ctx"}))
    consts: Constants = field(init=False)
    globals: dict[int, str] = field(default_factory=dict)  # id(VarDef) -> Python name
    functions: dict[int, str] = field(default_factory=dict)  # id(FunctionDef) -> Python name
    dispatchers: dict[tuple[int, ...], str] = field(default_factory=dict)
    stat_decls: dict[int, StatDecl] = field(default_factory=dict)
    recursive_nesting: int | None = None  # MAXNESTING when functions must count their nesting
    bindings: list[str] = field(default_factory=list)  # factory lines asking the engine's binder
    dispatch: list[tuple[str, list[ir.FunctionDef], str]] = field(default_factory=list)
    counts: dict[int, int] = field(default_factory=dict)  # id(FunctionDef) -> statement count
    tapset_root: str = field(default_factory=lambda: str(system_tapset_dir()))

    def __post_init__(self) -> None:
        self.consts = Constants(self.names)

    # ---- tokens ----

    def where_of(self, node: ir.Node) -> Where:
        session = self.analysis.session
        assert session is not None
        if isinstance(node, ir.ExprStmt):
            node = leftmost(node.expr)  # an expression statement's token is its first one
        return session.locator.of(node)

    def token(self, where: Where | None) -> str:
        """The Python expression of a `near` text: a constant name, or None."""
        if where is None or where.saw is None:
            return "None"
        text = token_text(where)
        return self.consts.string("W", text)

    def near(self, node: ir.Node) -> str:
        return self.token(self.where_of(node))

    def decl_token(self, fd: ir.FunctionDef) -> str:
        decl = fd.decl
        return self.token(Where(decl.name_span, f"identifier '{fd.name}'"))

    # ---- names ----

    def global_name(self, v: ir.VarDef) -> str:
        name = self.globals.get(id(v))
        if name is None:
            name = self.globals[id(v)] = self.names.fresh(f"g_{v.name}")
        return name

    def function_name(self, fd: ir.FunctionDef) -> str:
        name = self.functions.get(id(fd))
        if name is None:
            stem = f"f_{py_ident(fd.name)}" + (f"_{fd.overload}" if fd.overload else "")
            name = self.functions[id(fd)] = self.names.fresh(stem)
        return name

    def dispatcher(self, overloads: list[ir.FunctionDef], near: str) -> str:
        """A function trying each overload in turn (`next` passes to the following one)."""
        key = (*(id(fd) for fd in overloads), hash(near))
        name = self.dispatchers.get(key)
        if name is None:
            name = self.dispatchers[key] = self.names.fresh(f"call_{overloads[0].name}")
            self.dispatch.append((name, list(overloads), near))
        return name

    def statement_count(self, fd: ir.FunctionDef) -> int:
        """max_action_info of a function's body (-1 when infinite), cached."""
        from tapkit.runtime.compiler.analysis import statement_count

        count = self.counts.get(id(fd))
        if count is None:
            count = self.counts[id(fd)] = statement_count(fd.body)
        return count

    # ---- intrinsics ----

    def is_system_tapset(self, path: str) -> bool:
        try:
            return Path(path).resolve().is_relative_to(Path(self.tapset_root).resolve())
        except OSError:
            return False

    def intrinsic(self, fd: ir.FunctionDef) -> Intrinsic | None:
        if not self.is_system_tapset(fd.file):
            return None
        return intrinsic_for(fd.name, len(fd.params))

    # ---- statistics ----

    def stat_decl(self, v: ir.VarDef) -> StatDecl:
        decl = self.stat_decls.get(id(v))
        if decl is None:
            decl = self.stat_decls[id(v)] = StatDecl()
        return decl

    def note_hist(self, v: ir.VarDef, op: ir.HistOp) -> None:
        decl = self.stat_decl(v)
        if op.kind == "log":
            spec = HistSpec(1, buckets=128)
        else:
            start, stop, interval = ([*list(op.params), 0, 0, 0])[:3]
            try:
                spec = HistSpec.linear(start, stop, interval)
            except HistogramError as exc:
                raise CompileError(str(exc).splitlines()[0], op.span) from None
        if decl.spec is None:
            decl.spec, decl.spec_where = spec, op.span
        elif decl.spec != spec:
            raise CompileError(f"statistic '{v.name}' is used with two different histogram shapes", op.span)

    def note_variance(self, v: ir.VarDef, op: ir.StatOp) -> None:
        decl = self.stat_decl(v)
        shift = op.params[0] if op.params else DEFAULT_VARIANCE_SHIFT
        decl.variance_shift = max(decl.variance_shift or 0, shift)


def token_text(where: Where) -> str:
    """lex_cast_qstring of a token: `identifier 'x' at f.stp:1:2` (non-printable characters as '?')."""
    saw = where.saw or ""
    if "'" in saw:
        kind, _, rest = saw.partition(" '")
        text = rest[:-1] if rest.endswith("'") else rest
        shown = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
        saw = f"{kind} '{shown}'"
    span = where.span
    return f"{saw} at {span.file}:{span.line}:{span.column}"


def leftmost(e: ir.Expr) -> ir.Expr:
    """The subexpression whose token starts e (`n` of `n++`, `a` of `a[i] = 1`)."""
    for _ in range(256):
        start = (e.span.line, e.span.column)
        for child in ir.expr_children(e):
            if child is not e and (child.span.line, child.span.column) == start:
                e = child
                break
        else:
            return e
    return e
