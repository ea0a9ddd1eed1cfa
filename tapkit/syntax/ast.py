"""The syntax tree of a SystemTap file: small frozen values, every one with a Span.

Shapes mirror stap's own tree (staptree.h) so later passes can follow stap's logic,
with a few additions editors need: identifier spans for rename/hover, `Paren` so a
formatter keeps the user's parentheses, probe-point brace groups kept unexpanded
(`expand_probe_point` flattens them the way stap does), comments, inactive
preprocessor branches and macro definitions/calls on the File.
"""

from __future__ import annotations

import copyreg
from dataclasses import dataclass, fields
from typing import Any

from tapkit.diagnostics import Span


class Node:
    """Base of every tree value. repr shows fields without spans, then where the node starts."""

    __slots__ = ()
    span: Span

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            if f.name == "span" or f.name.endswith("_span"):
                continue
            value = getattr(self, f.name)
            if value is None or value == () or value is False:
                continue
            parts.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})@{self.span.line}:{self.span.column}"

    def __reduce__(self) -> tuple[Any, ...]:
        # positional rebuild: pickles smaller and loads ~2x faster than dataclass __setstate__
        return (type(self), tuple(getattr(self, n) for n in _field_names(type(self))))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _reduce_span(s: Span) -> tuple[Any, ...]:
    return (Span, (s.file, s.line, s.column, s.end_line, s.end_column))


copyreg.pickle(Span, _reduce_span)


# ---------------------------------------------------------------- expressions

@dataclass(frozen=True, slots=True, repr=False)
class NumberLiteral(Node):
    span: Span
    value: int
    text: str


@dataclass(frozen=True, slots=True, repr=False)
class StringLiteral(Node):
    """One or more adjacent string tokens, joined; value keeps stap's C escapes (`\\n` stays two chars)."""

    span: Span
    value: str


@dataclass(frozen=True, slots=True, repr=False)
class ScriptArg(Node):
    """`$1`, `@1`, `$#`, `@#`: stap pastes the command-line argument here (raw for `$`, quoted for `@`)."""

    span: Span
    text: str
    index: int | None  # None for `$#` / `@#`
    quoted: bool


@dataclass(frozen=True, slots=True, repr=False)
class Var(Node):
    """A plain name: a local, a global, or an array used as a whole (`foreach (k in arr)`)."""

    span: Span
    name: str


@dataclass(frozen=True, slots=True, repr=False)
class Wildcard(Node):
    """`*` in an index list or slice: `a[*, 1]`, `[*, k] in a`."""

    span: Span


@dataclass(frozen=True, slots=True, repr=False)
class TargetMember(Node):
    span: Span
    name: str
    name_span: Span


@dataclass(frozen=True, slots=True, repr=False)
class TargetIndex(Node):
    span: Span
    index: Expr


@dataclass(frozen=True, slots=True, repr=False)
class TargetPretty(Node):
    """A pretty-print suffix: `$` or `$$`, written `$x$`, `$x->y$$` or `expr $`."""

    span: Span
    dollars: str


TargetComponent = TargetMember | TargetIndex | TargetPretty


@dataclass(frozen=True, slots=True, repr=False)
class TargetVar(Node):
    """`$var`, `$$vars`, `$$parms`, `$$locals`, `$$return`, with `->`/`[]`/`$` components."""

    span: Span
    name: str
    name_span: Span
    components: tuple[TargetComponent, ...] = ()
    addressof: bool = False


@dataclass(frozen=True, slots=True, repr=False)
class CastOp(Node):
    """`@cast(expr, "type" [, "module"])` plus components; `&@cast(...)` sets addressof."""

    span: Span
    operand: Expr
    type_name: str
    module: str | None
    components: tuple[TargetComponent, ...] = ()
    addressof: bool = False


@dataclass(frozen=True, slots=True, repr=False)
class AtVar(Node):
    """`@var("name[@cu]" [, "module"])` plus components."""

    span: Span
    name: str
    module: str | None
    components: tuple[TargetComponent, ...] = ()
    addressof: bool = False


@dataclass(frozen=True, slots=True, repr=False)
class Autocast(Node):
    """Any other value followed by `->`/`[]`/`$` components (stap's autocast_op), or `&value`."""

    span: Span
    operand: Expr
    components: tuple[TargetComponent, ...] = ()
    addressof: bool = False


@dataclass(frozen=True, slots=True, repr=False)
class EntryOp(Node):
    span: Span
    operand: Expr


@dataclass(frozen=True, slots=True, repr=False)
class DefinedOp(Node):
    span: Span
    operand: Expr


@dataclass(frozen=True, slots=True, repr=False)
class ProbewriteOp(Node):
    span: Span
    name: str
    name_span: Span


@dataclass(frozen=True, slots=True, repr=False)
class ConstOp(Node):
    span: Span
    text: str


@dataclass(frozen=True, slots=True, repr=False)
class PerfOp(Node):
    span: Span
    counter: str


@dataclass(frozen=True, slots=True, repr=False)
class RegisterOp(Node):
    """`@kregister(n)` / `@uregister(n)`."""

    span: Span
    user: bool
    regno: int


@dataclass(frozen=True, slots=True, repr=False)
class DerefOp(Node):
    """`@kderef(size, addr)` / `@uderef(size, addr)`."""

    span: Span
    user: bool
    size: int
    address: Expr


@dataclass(frozen=True, slots=True, repr=False)
class StatOp(Node):
    """`@count(x)`, `@sum`, `@min`, `@max`, `@avg`, `@variance(x[, bucket])`."""

    span: Span
    op: str
    operand: Expr
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, repr=False)
class HistOp(Node):
    """`@hist_linear(x, low, high, step)` / `@hist_log(x)`."""

    span: Span
    kind: str
    operand: Expr
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, repr=False)
class ArrayIndex(Node):
    span: Span
    base: Var | HistOp
    indexes: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, repr=False)
class FunctionCall(Node):
    span: Span
    name: str
    name_span: Span
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, repr=False)
class PrintCall(Node):
    """print/printf/printd/println and their s- forms, print_char. For printf/printd args[0] is the
    format/delimiter StringLiteral; `print(@hist_log(x))` sets hist."""

    span: Span
    name: str
    name_span: Span
    args: tuple[Expr, ...]
    hist: HistOp | None = None


@dataclass(frozen=True, slots=True, repr=False)
class Unary(Node):
    span: Span
    op: str
    operand: Expr


@dataclass(frozen=True, slots=True, repr=False)
class Binary(Node):
    """Arithmetic, bitwise, shift, `.` concatenation, comparisons, `&&`, `||`."""

    span: Span
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True, repr=False)
class RegexMatch(Node):
    span: Span
    op: str  # "=~" or "!~"
    left: Expr
    pattern: StringLiteral | ScriptArg


@dataclass(frozen=True, slots=True, repr=False)
class Crement(Node):
    """`++x`, `x--`, …"""

    span: Span
    op: str
    operand: Expr
    prefix: bool


@dataclass(frozen=True, slots=True, repr=False)
class Ternary(Node):
    span: Span
    cond: Expr
    then: Expr
    else_: Expr


@dataclass(frozen=True, slots=True, repr=False)
class Assignment(Node):
    """`=`, `+=`, …, `.=`, and `<<<` (adding to a statistic)."""

    span: Span
    op: str
    target: Expr
    value: Expr


@dataclass(frozen=True, slots=True, repr=False)
class InArray(Node):
    """`k in a`, `[k1, *] in a`."""

    span: Span
    keys: tuple[Expr, ...]
    array: Var | HistOp
    bracketed: bool


@dataclass(frozen=True, slots=True, repr=False)
class EmbeddedExpr(Node):
    span: Span
    code: str


@dataclass(frozen=True, slots=True, repr=False)
class Paren(Node):
    span: Span
    expr: Expr


Expr = (
    NumberLiteral | StringLiteral | ScriptArg | Var | Wildcard | TargetVar | CastOp | AtVar | Autocast
    | EntryOp | DefinedOp | ProbewriteOp | ConstOp | PerfOp | RegisterOp | DerefOp | StatOp | HistOp
    | ArrayIndex | FunctionCall | PrintCall | Unary | Binary | RegexMatch | Crement | Ternary | Assignment
    | InArray | EmbeddedExpr | Paren
)
Literal = NumberLiteral | StringLiteral | ScriptArg


# ---------------------------------------------------------------- statements

@dataclass(frozen=True, slots=True, repr=False)
class Block(Node):
    span: Span
    statements: tuple[Statement, ...]


@dataclass(frozen=True, slots=True, repr=False)
class NullStatement(Node):
    span: Span


@dataclass(frozen=True, slots=True, repr=False)
class ExprStatement(Node):
    span: Span
    expr: Expr


@dataclass(frozen=True, slots=True, repr=False)
class IfStatement(Node):
    span: Span
    cond: Expr
    then: Statement
    else_: Statement | None = None


@dataclass(frozen=True, slots=True, repr=False)
class ForLoop(Node):
    span: Span
    init: Expr | None
    cond: Expr | None
    step: Expr | None
    body: Statement


@dataclass(frozen=True, slots=True, repr=False)
class WhileLoop(Node):
    span: Span
    cond: Expr
    body: Statement


@dataclass(frozen=True, slots=True, repr=False)
class ForeachLoop(Node):
    """`foreach ([v =] [k1, k2+] in a[slice] [@agg][+|-] [limit n]) body`.

    sort_column is stap's: 0 sorts by value, 1..n by that key; sort_direction is 1, -1 or 0 (none).
    """

    span: Span
    value: Var | None
    keys: tuple[Var, ...]
    keys_bracketed: bool
    array: Var | HistOp
    slice: tuple[Expr, ...] | None
    sort_direction: int
    sort_column: int
    sort_aggregate: str | None
    limit: Expr | None
    body: Statement


@dataclass(frozen=True, slots=True, repr=False)
class ReturnStatement(Node):
    span: Span
    value: Expr | None


@dataclass(frozen=True, slots=True, repr=False)
class DeleteStatement(Node):
    span: Span
    target: Expr


@dataclass(frozen=True, slots=True, repr=False)
class NextStatement(Node):
    span: Span


@dataclass(frozen=True, slots=True, repr=False)
class BreakStatement(Node):
    span: Span


@dataclass(frozen=True, slots=True, repr=False)
class ContinueStatement(Node):
    span: Span


@dataclass(frozen=True, slots=True, repr=False)
class TryStatement(Node):
    span: Span
    body: Block
    catch_var: Var | None
    catch_body: Block


Statement = (
    Block | NullStatement | ExprStatement | IfStatement | ForLoop | WhileLoop | ForeachLoop | ReturnStatement
    | DeleteStatement | NextStatement | BreakStatement | ContinueStatement | TryStatement
)


# ---------------------------------------------------------------- probe points

@dataclass(frozen=True, slots=True, repr=False)
class Component(Node):
    """One dotted part of a probe point: `function("foo@bar.c")`, `kernel`, `sys*`."""

    span: Span
    name: str
    name_span: Span
    arg: Literal | None = None


@dataclass(frozen=True, slots=True, repr=False)
class ComponentGroup(Node):
    """`{a, b.c}` in a probe point: stap expands it into one probe point per alternative."""

    span: Span
    alternatives: tuple[ProbePoint, ...]


@dataclass(frozen=True, slots=True, repr=False)
class ProbePoint(Node):
    span: Span
    components: tuple[Component | ComponentGroup, ...]
    optional: bool = False  # `?` (and implied by `!`)
    sufficient: bool = False  # `!`
    condition: Expr | None = None


# ---------------------------------------------------------------- top level

@dataclass(frozen=True, slots=True, repr=False)
class Comment(Node):
    """kind: "hash" (#), "line" (//), "block" (/* */) or "doc" (/** */)."""

    span: Span
    text: str
    kind: str


@dataclass(frozen=True, slots=True, repr=False)
class EmbeddedCode(Node):
    """`%{ … %}` at top level or as a function body; pragmas are its `/* pure */`-style markers."""

    span: Span
    code: str
    pragmas: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, repr=False)
class Param(Node):
    span: Span
    name: str
    name_span: Span
    type: str | None = None  # "long" / "string"


@dataclass(frozen=True, slots=True, repr=False)
class ProbeDecl(Node):
    span: Span
    points: tuple[ProbePoint, ...]
    body: Block
    doc: Comment | None = None


@dataclass(frozen=True, slots=True, repr=False)
class AliasDecl(Node):
    """`probe NAME = P1, P2 {…}`, `+=` (epilogue), several names, optional second body after `,`."""

    span: Span
    names: tuple[ProbePoint, ...]
    epilogue: bool
    points: tuple[ProbePoint, ...]
    body: Block
    body2: Block | None = None
    doc: Comment | None = None


@dataclass(frozen=True, slots=True, repr=False)
class FunctionDecl(Node):
    span: Span
    name: str
    name_span: Span
    return_type: str | None
    params: tuple[Param, ...]
    body: Block | EmbeddedCode
    priority: int | None = None
    private: bool = False
    doc: Comment | None = None


@dataclass(frozen=True, slots=True, repr=False)
class GlobalVar(Node):
    """One name of a `global`/`private` declaration: `a`, `a[100]`, `w%[50]`, `x = 5`."""

    span: Span
    name: str
    name_span: Span
    wrap: bool = False
    size: int | None = None
    init: Literal | None = None


@dataclass(frozen=True, slots=True, repr=False)
class GlobalDecl(Node):
    span: Span
    vars: tuple[GlobalVar, ...]
    private: bool = False
    doc: Comment | None = None


@dataclass(frozen=True, slots=True, repr=False)
class ErrorItem(Node):
    """What was parsed of a top-level item before a syntax error: whatever pieces were complete."""

    span: Span
    keyword: str
    fragments: tuple[Node, ...]


Item = ProbeDecl | AliasDecl | FunctionDecl | GlobalDecl | EmbeddedCode | ErrorItem


@dataclass(frozen=True, slots=True, repr=False)
class InactiveRange(Node):
    """Source the preprocessor dropped (a %( %) branch not taken)."""

    span: Span


@dataclass(frozen=True, slots=True, repr=False)
class Conditional(Node):
    """A whole `%( cond %? … %: … %)` (for folding), with the condition's span and its value."""

    span: Span
    condition_span: Span
    taken: bool


@dataclass(frozen=True, slots=True, repr=False)
class MacroDef(Node):
    span: Span
    name: str
    name_span: Span
    params: tuple[str, ...]
    library: bool = False


@dataclass(frozen=True, slots=True, repr=False)
class MacroCall(Node):
    """`@name` or `@name(args)` that the preprocessor expanded; definition is the MacroDef's name_span."""

    span: Span
    name: str
    definition: Span


@dataclass(frozen=True, slots=True, repr=False)
class File(Node):
    span: Span
    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = ()
    inactive: tuple[InactiveRange, ...] = ()
    conditionals: tuple[Conditional, ...] = ()
    macros: tuple[MacroDef, ...] = ()
    macro_calls: tuple[MacroCall, ...] = ()
