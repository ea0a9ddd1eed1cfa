"""The resolved program: mutable nodes that pass 2 annotates and rewrites, as stap's elaborator does.

Pass 1 gives frozen syntax trees; pass 2 needs what stap's staptree gives it: nodes that carry an
inferred type, a referent (the variable or functions a name resolves to) and target-variable
details, and that the optimizer can rewrite in place (`a = 1` whose `a` is never read becomes `1`,
then nothing). Every node keeps `src`, the syntax node it came from, for its position.

Each derived probe gets its own copy of its body (alias prologue + user body + epilogue), so its
locals are its own; functions are lowered once and shared by every caller. The compiler walks
these nodes after analysis: every Sym has its VarDef, every Call its FunctionDefs, every
expression its type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tapkit.diagnostics import Span
from tapkit.syntax import ast as A

if TYPE_CHECKING:
    from tapkit.semantic.errors import Where
    from tapkit.semantic.formats import Conversion
    from tapkit.semantic.targets import TargetType

UNKNOWN, LONG, STRING, STATS = "unknown", "long", "string", "stats"


class Node:
    __slots__ = ("src",)

    def __init__(self, src: A.Node) -> None:
        self.src = src

    @property
    def span(self) -> Span:
        return self.src.span

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.src.span}>"


class Expr(Node):
    __slots__ = ("details", "type")

    def __init__(self, src: A.Node) -> None:
        super().__init__(src)
        self.type = UNKNOWN
        self.details: TargetType | None = None


class Stmt(Node):
    __slots__ = ()


# ---------------------------------------------------------------- declarations

@dataclass(eq=False)
class VarDef:
    """A local, parameter or global: stap's vardecl. arity -1 means not yet known."""

    name: str
    kind: str  # "local", "param", "global"
    src: A.Node  # where it is declared (or first used, for locals)
    file: str
    type: str = UNKNOWN
    arity: int = -1
    arity_where: Where | None = None
    index_types: list[str] = field(default_factory=list)
    maxsize: int = 0
    wrap: bool = False
    init: A.NumberLiteral | A.StringLiteral | None = None
    private: bool = False
    synthetic: bool = False
    details: TargetType | None = None
    explicit_type: bool = False  # a typed parameter (`a:long`): never "first inferred"

    def __repr__(self) -> str:
        return f"<VarDef {self.kind} {self.name}:{self.type}>"


@dataclass(eq=False)
class FunctionDef:
    """A script or tapset function: stap's functiondecl, lowered once when first called."""

    name: str
    decl: A.FunctionDecl
    file: str
    overload: int
    params: list[VarDef] = field(default_factory=list)
    locals: list[VarDef] = field(default_factory=list)
    body: Stmt | None = None
    type: str = UNKNOWN
    details: TargetType | None = None
    explicit_type: bool = False
    has_next: bool = False
    resolved: bool = False
    synthetic: bool = False

    @property
    def private(self) -> bool:
        return self.decl.private

    @property
    def priority(self) -> int:
        return self.decl.priority if self.decl.priority is not None else 1

    @property
    def key(self) -> tuple[str, int]:
        return (self.file if self.private else "", self.overload)

    def __repr__(self) -> str:
        return f"<FunctionDef {self.name}/{len(self.params)} {self.file}>"


# ---------------------------------------------------------------- expressions

class Number(Expr):
    __slots__ = ("value",)

    def __init__(self, src: A.Node, value: int) -> None:
        super().__init__(src)
        self.value = value
        self.type = LONG


class String(Expr):
    __slots__ = ("value",)

    def __init__(self, src: A.Node, value: str) -> None:
        super().__init__(src)
        self.value = value
        self.type = STRING


class Sym(Expr):
    __slots__ = ("name", "referent")

    def __init__(self, src: A.Node, name: str) -> None:
        super().__init__(src)
        self.name = name
        self.referent: VarDef | None = None


class ArrayIndex(Expr):
    """`a[i, j]` or `@hist_log(s)[i]`; an index of None is a `*` wildcard (delete, membership)."""

    __slots__ = ("base", "indexes")

    def __init__(self, src: A.Node, base: Sym | HistOp, indexes: list[Expr | None]) -> None:
        super().__init__(src)
        self.base = base
        self.indexes = indexes


class Call(Expr):
    __slots__ = ("args", "name", "referents")

    def __init__(self, src: A.Node, name: str, args: list[Expr]) -> None:
        super().__init__(src)
        self.name = name
        self.args = args
        self.referents: list[FunctionDef] = []


class Print(Expr):
    """print/printf/printd/println, their s- forms and print_char; format holds printf's parsed format."""

    __slots__ = ("args", "char", "delimiter", "format", "hist", "name", "newline", "stream")

    def __init__(self, src: A.Node, name: str, args: list[Expr], hist: HistOp | None) -> None:
        super().__init__(src)
        self.name = name
        self.args = args
        self.hist = hist
        self.stream = not name.startswith("s")
        base = name.lstrip("s") if name != "print_char" else name
        self.char = name == "print_char"
        self.newline = base.endswith("ln")
        self.format: list[Conversion] | None = None  # printf's conversions
        self.delimiter: str | None = None
        if base == "printf":
            self.format = []


class Unary(Expr):
    __slots__ = ("op", "operand")

    def __init__(self, src: A.Node, op: str, operand: Expr) -> None:
        super().__init__(src)
        self.op = op
        self.operand = operand


class Binary(Expr):
    """Arithmetic and bitwise operators (stap's binary_expression)."""

    __slots__ = ("left", "op", "right")

    def __init__(self, src: A.Node, op: str, left: Expr, right: Expr) -> None:
        super().__init__(src)
        self.op = op
        self.left = left
        self.right = right


class Logical(Binary):
    """`&&` and `||`."""

    __slots__ = ()


class Compare(Binary):
    __slots__ = ()


class Concat(Binary):
    """`a . b`."""

    __slots__ = ()


class Regex(Expr):
    __slots__ = ("left", "op", "pattern")

    def __init__(self, src: A.Node, op: str, left: Expr, pattern: String) -> None:
        super().__init__(src)
        self.op = op
        self.left = left
        self.pattern = pattern


class Crement(Expr):
    __slots__ = ("op", "operand", "prefix")

    def __init__(self, src: A.Node, op: str, operand: Expr, prefix: bool) -> None:
        super().__init__(src)
        self.op = op
        self.operand = operand
        self.prefix = prefix


class Ternary(Expr):
    __slots__ = ("cond", "else_", "then")

    def __init__(self, src: A.Node, cond: Expr, then: Expr, else_: Expr) -> None:
        super().__init__(src)
        self.cond = cond
        self.then = then
        self.else_ = else_


class Assign(Expr):
    __slots__ = ("left", "op", "right")

    def __init__(self, src: A.Node, op: str, left: Expr, right: Expr) -> None:
        super().__init__(src)
        self.op = op
        self.left = left
        self.right = right


class InArray(Expr):
    __slots__ = ("index",)

    def __init__(self, src: A.Node, index: ArrayIndex) -> None:
        super().__init__(src)
        self.index = index


class StatOp(Expr):
    __slots__ = ("op", "params", "stat")

    def __init__(self, src: A.Node, op: str, stat: Expr, params: tuple[int, ...]) -> None:
        super().__init__(src)
        self.op = op
        self.stat = stat
        self.params = params


class HistOp(Expr):
    __slots__ = ("kind", "params", "stat")

    def __init__(self, src: A.Node, kind: str, stat: Expr, params: tuple[int, ...]) -> None:
        super().__init__(src)
        self.kind = kind
        self.stat = stat
        self.params = params


@dataclass(eq=False)
class TargetComponent:
    """`->name`, `[3]`, `[expr]` or a `$`/`$$` pretty-print suffix."""

    kind: str  # "member", "index", "expr", "pretty"
    src: A.Node
    name: str = ""
    index: int = 0
    expr: Expr | None = None


class Target(Expr):
    """`$var…`, `@cast(…)…`, `@var(…)…` and autocasts (`expr->member`), with what resolving them found.

    kind: "var", "cast", "atvar" or "autocast". error is the saved conversion error stap reports
    only if the expression survives optimization; resolved marks one that debuginfo answered.
    """

    __slots__ = ("addressof", "base", "components", "error", "kind", "module", "name", "operand", "resolved",
                 "resolved_type", "type_name", "written", "written_op", "written_where")

    def __init__(self, src: A.Node, kind: str, name: str, components: list[TargetComponent],
                 addressof: bool, operand: Expr | None = None, type_name: str = "", module: str = "") -> None:
        super().__init__(src)
        self.kind = kind
        self.name = name
        self.components = components
        self.addressof = addressof
        self.operand = operand
        self.type_name = type_name
        self.module = module
        self.error: Any = None  # tapkit.semantic.errors.SemanticError
        self.resolved = False
        self.resolved_type = UNKNOWN  # long, or string for pretty-printing ($var$, $$parms)
        self.base: Any = None  # tapkit.semantic.targets.TargetType before the components, once resolved
        self.written = False
        self.written_op = ""  # the assignment operator or ++/-- that writes it
        self.written_where: Where | None = None


class Defined(Expr):
    __slots__ = ("operand",)

    def __init__(self, src: A.Node, operand: Expr) -> None:
        super().__init__(src)
        self.operand = operand


class Entry(Expr):
    """@entry(operand); resolved once the probe is a .return one: the operand is evaluated at the call's
    entry and its value read at the return (stap saves it in a generated entry probe)."""
    __slots__ = ("operand", "resolved")

    def __init__(self, src: A.Node, operand: Expr) -> None:
        super().__init__(src)
        self.operand = operand
        self.resolved = False


class Perf(Expr):
    __slots__ = ("counter",)

    def __init__(self, src: A.Node, counter: str) -> None:
        super().__init__(src)
        self.counter = counter


class Register(Expr):
    __slots__ = ("regno", "user")

    def __init__(self, src: A.Node, user: bool, regno: int) -> None:
        super().__init__(src)
        self.user = user
        self.regno = regno


class Deref(Expr):
    __slots__ = ("address", "size", "user")

    def __init__(self, src: A.Node, user: bool, size: int, address: Expr) -> None:
        super().__init__(src)
        self.user = user
        self.size = size
        self.address = address


class EmbeddedExpr(Expr):
    """`%{ … %}` as an expression; reads/writes are the globals its /* pragma:read:x */ comments name."""

    __slots__ = ("code", "reads", "writes")

    def __init__(self, src: A.Node, code: str) -> None:
        super().__init__(src)
        self.code = code
        self.reads: list[VarDef] = []
        self.writes: list[VarDef] = []


class Probewrite(Expr):
    __slots__ = ("name",)

    def __init__(self, src: A.Node, name: str) -> None:
        super().__init__(src)
        self.name = name


# ---------------------------------------------------------------- statements

class Block(Stmt):
    __slots__ = ("statements",)

    def __init__(self, src: A.Node, statements: list[Stmt]) -> None:
        super().__init__(src)
        self.statements = statements


class NullStmt(Stmt):
    __slots__ = ()


class ExprStmt(Stmt):
    """An expression statement. lead: for a written one, the expression it was written with (stap
    names such a statement by its first token, even after the optimizer replaced expr); None for
    one the optimizer made, which stap names by its expression."""

    __slots__ = ("expr", "lead")

    def __init__(self, src: A.Node, expr: Expr, lead: Expr | None = None) -> None:
        super().__init__(src)
        self.expr = expr
        self.lead = lead


class If(Stmt):
    __slots__ = ("cond", "else_", "then")

    def __init__(self, src: A.Node, cond: Expr, then: Stmt | None, else_: Stmt | None) -> None:
        super().__init__(src)
        self.cond = cond
        self.then = then
        self.else_ = else_


class For(Stmt):
    """`for (init; cond; step)` and `while (cond)`."""

    __slots__ = ("body", "cond", "init", "step")

    def __init__(self, src: A.Node, init: Expr | None, cond: Expr, step: Expr | None, body: Stmt | None) -> None:
        super().__init__(src)
        self.init = init
        self.cond = cond
        self.step = step
        self.body = body


class Foreach(Stmt):
    __slots__ = ("base", "body", "indexes", "limit", "slice", "sort_aggregate", "sort_column", "sort_direction",
                 "value")

    def __init__(self, src: A.ForeachLoop, indexes: list[Sym], base: Sym | HistOp, slice: list[Expr | None],
                 value: Sym | None, limit: Expr | None, body: Stmt | None) -> None:
        super().__init__(src)
        self.indexes = indexes
        self.base = base
        self.slice = slice
        self.value = value
        self.limit = limit
        self.body = body
        self.sort_direction = src.sort_direction
        self.sort_column = src.sort_column
        self.sort_aggregate = src.sort_aggregate


class Return(Stmt):
    __slots__ = ("value",)

    def __init__(self, src: A.Node, value: Expr | None) -> None:
        super().__init__(src)
        self.value = value


class Delete(Stmt):
    __slots__ = ("value",)

    def __init__(self, src: A.Node, value: Expr) -> None:
        super().__init__(src)
        self.value = value


class Next(Stmt):
    __slots__ = ()


class Break(Stmt):
    __slots__ = ()


class Continue(Stmt):
    __slots__ = ()


class Try(Stmt):
    __slots__ = ("body", "catch_body", "catch_var")

    def __init__(self, src: A.Node, body: Stmt | None, catch_var: Sym | None, catch_body: Stmt | None) -> None:
        super().__init__(src)
        self.body = body
        self.catch_var = catch_var
        self.catch_body = catch_body


class EmbeddedCode(Stmt):
    __slots__ = ("code", "reads", "writes")

    def __init__(self, src: A.Node, code: str) -> None:
        super().__init__(src)
        self.code = code
        self.reads: list[VarDef] = []
        self.writes: list[VarDef] = []

    def tagged(self, tag: str) -> bool:
        return tag in self.code


def tagged(node: EmbeddedCode | EmbeddedExpr, tag: str) -> bool:
    return tag in node.code


# ---------------------------------------------------------------- traversal

def expr_children(e: Expr) -> list[Expr]:
    """The expressions directly under e, in evaluation order (None indexes skipped)."""
    if isinstance(e, Binary | Assign):
        return [e.left, e.right]
    if isinstance(e, ArrayIndex):
        return [e.base, *(i for i in e.indexes if i is not None)]
    if isinstance(e, Call):
        return list(e.args)
    if isinstance(e, Print):
        return [*e.args, e.hist] if e.hist is not None else list(e.args)
    if isinstance(e, Unary | Crement):
        return [e.operand]
    if isinstance(e, Ternary):
        return [e.cond, e.then, e.else_]
    if isinstance(e, Regex):
        return [e.left, e.pattern]
    if isinstance(e, InArray):
        return [e.index]
    if isinstance(e, StatOp | HistOp):
        return [e.stat]
    if isinstance(e, Target):
        out = [e.operand] if e.operand is not None else []
        return out + [c.expr for c in e.components if c.expr is not None]
    if isinstance(e, Defined | Entry):
        return [e.operand]
    if isinstance(e, Deref):
        return [e.address]
    return []


def stmt_children(s: Stmt) -> list[Node]:
    """The statements and expressions directly under s."""
    if isinstance(s, Block):
        return list(s.statements)
    if isinstance(s, ExprStmt):
        return [s.expr]
    if isinstance(s, If):
        return [x for x in (s.cond, s.then, s.else_) if x is not None]
    if isinstance(s, For):
        return [x for x in (s.init, s.cond, s.step, s.body) if x is not None]
    if isinstance(s, Foreach):
        out: list[Node] = [s.base, *s.indexes, *(x for x in s.slice if x is not None)]
        return out + [x for x in (s.value, s.limit, s.body) if x is not None]
    if isinstance(s, Return | Delete):
        return [s.value] if s.value is not None else []
    if isinstance(s, Try):
        return [x for x in (s.body, s.catch_var, s.catch_body) if x is not None]
    return []


def children(node: Node) -> list[Node]:
    if isinstance(node, Expr):
        return list(expr_children(node))
    if isinstance(node, Stmt):
        return stmt_children(node)
    return []


_LEAVES = frozenset({Number, String, Sym, Perf, Register, EmbeddedExpr, Probewrite,
                     NullStmt, Next, Break, Continue, EmbeddedCode})  # children() is [] for these exact types


_PAIRS = frozenset({Binary, Logical, Compare, Concat, Assign})  # children() is [left, right]


def walk(node: Node) -> list[Node]:
    """node and everything below it (not into called functions), parents first. (The commonest types are
    spelled out: children() tests a chain of isinstance for each node, and walks are a tenth of an editor run.)"""
    out: list[Node] = []
    stack: list[Node] = [node]
    push, pop, add = stack.append, stack.pop, out.append
    while stack:
        n = pop()
        add(n)
        t = type(n)
        if t in _LEAVES:
            continue
        if t is Block:
            stack.extend(reversed(n.statements))  # type: ignore[attr-defined]
        elif t is ExprStmt:
            push(n.expr)  # type: ignore[attr-defined]
        elif t in _PAIRS:
            push(n.right)  # type: ignore[attr-defined]
            push(n.left)  # type: ignore[attr-defined]
        else:
            stack.extend(reversed(children(n)))
    return out
