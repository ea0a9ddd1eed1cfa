"""The syntax tree of a SystemTap file: small frozen values, every one with a Span.

Shapes mirror stap's own tree (staptree.h) so later passes can follow stap's logic,
with a few additions editors need: identifier spans for rename/hover, `Paren` so a
formatter keeps the user's parentheses, probe-point brace groups kept unexpanded
(`expand_probe_point` flattens them the way stap does), comments, inactive
preprocessor branches and macro definitions/calls on the File.
"""

from __future__ import annotations

from tapkit.diagnostics import Span
from tapkit.values import Value


class Node(Value):
    """Base of every tree value. repr shows fields without spans, then where the node starts."""

    span: Span

    def __repr__(self) -> str:
        parts = []
        for name in type(self).__value_fields__:
            if name == "span" or name.endswith("_span"):
                continue
            value = getattr(self, name)
            if value is None or value == () or value is False:
                continue
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})@{self.span.line}:{self.span.column}"


# ---------------------------------------------------------------- expressions

class NumberLiteral(Node):
    span: Span
    value: int
    text: str


class StringLiteral(Node):
    """One or more adjacent string tokens, joined; value keeps stap's C escapes (`\\n` stays two chars)."""

    span: Span
    value: str


class ScriptArg(Node):
    """`$1`, `@1`, `$#`, `@#`: stap pastes the command-line argument here (raw for `$`, quoted for `@`)."""

    span: Span
    text: str
    index: int | None  # None for `$#` / `@#`
    quoted: bool


class Var(Node):
    """A plain name: a local, a global, or an array used as a whole (`foreach (k in arr)`)."""

    span: Span
    name: str


class Wildcard(Node):
    """`*` in an index list or slice: `a[*, 1]`, `[*, k] in a`."""

    span: Span


class TargetMember(Node):
    span: Span
    name: str
    name_span: Span


class TargetIndex(Node):
    span: Span
    index: Expr


class TargetPretty(Node):
    """A pretty-print suffix: `$` or `$$`, written `$x$`, `$x->y$$` or `expr $`."""

    span: Span
    dollars: str


TargetComponent = TargetMember | TargetIndex | TargetPretty


class TargetVar(Node):
    """`$var`, `$$vars`, `$$parms`, `$$locals`, `$$return`, with `->`/`[]`/`$` components."""

    span: Span
    name: str
    name_span: Span
    components: tuple[TargetComponent, ...] = ()
    addressof: bool = False


class CastOp(Node):
    """`@cast(expr, "type" [, "module"])` plus components; `&@cast(...)` sets addressof."""

    span: Span
    operand: Expr
    type_name: str
    module: str | None
    components: tuple[TargetComponent, ...] = ()
    addressof: bool = False


class AtVar(Node):
    """`@var("name[@cu]" [, "module"])` plus components."""

    span: Span
    name: str
    module: str | None
    components: tuple[TargetComponent, ...] = ()
    addressof: bool = False


class Autocast(Node):
    """Any other value followed by `->`/`[]`/`$` components (stap's autocast_op), or `&value`."""

    span: Span
    operand: Expr
    components: tuple[TargetComponent, ...] = ()
    addressof: bool = False


class EntryOp(Node):
    span: Span
    operand: Expr


class DefinedOp(Node):
    span: Span
    operand: Expr


class ProbewriteOp(Node):
    span: Span
    name: str
    name_span: Span


class ConstOp(Node):
    span: Span
    text: str


class PerfOp(Node):
    span: Span
    counter: str


class RegisterOp(Node):
    """`@kregister(n)` / `@uregister(n)`."""

    span: Span
    user: bool
    regno: int


class DerefOp(Node):
    """`@kderef(size, addr)` / `@uderef(size, addr)`."""

    span: Span
    user: bool
    size: int
    address: Expr


class StatOp(Node):
    """`@count(x)`, `@sum`, `@min`, `@max`, `@avg`, `@variance(x[, bucket])`."""

    span: Span
    op: str
    operand: Expr
    params: tuple[int, ...] = ()


class HistOp(Node):
    """`@hist_linear(x, low, high, step)` / `@hist_log(x)`."""

    span: Span
    kind: str
    operand: Expr
    params: tuple[int, ...] = ()


class ArrayIndex(Node):
    span: Span
    base: Var | HistOp
    indexes: tuple[Expr, ...]


class FunctionCall(Node):
    span: Span
    name: str
    name_span: Span
    args: tuple[Expr, ...]


class PrintCall(Node):
    """print/printf/printd/println and their s- forms, print_char. For printf/printd args[0] is the
    format/delimiter StringLiteral; `print(@hist_log(x))` sets hist."""

    span: Span
    name: str
    name_span: Span
    args: tuple[Expr, ...]
    hist: HistOp | None = None


class Unary(Node):
    span: Span
    op: str
    operand: Expr


class Binary(Node):
    """Arithmetic, bitwise, shift, `.` concatenation, comparisons, `&&`, `||`."""

    span: Span
    op: str
    left: Expr
    right: Expr


class RegexMatch(Node):
    span: Span
    op: str  # "=~" or "!~"
    left: Expr
    pattern: StringLiteral | ScriptArg


class Crement(Node):
    """`++x`, `x--`, …"""

    span: Span
    op: str
    operand: Expr
    prefix: bool


class Ternary(Node):
    span: Span
    cond: Expr
    then: Expr
    else_: Expr


class Assignment(Node):
    """`=`, `+=`, …, `.=`, and `<<<` (adding to a statistic)."""

    span: Span
    op: str
    target: Expr
    value: Expr


class InArray(Node):
    """`k in a`, `[k1, *] in a`."""

    span: Span
    keys: tuple[Expr, ...]
    array: Var | HistOp
    bracketed: bool


class EmbeddedExpr(Node):
    span: Span
    code: str


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

class Block(Node):
    span: Span
    statements: tuple[Statement, ...]


class NullStatement(Node):
    span: Span


class ExprStatement(Node):
    span: Span
    expr: Expr


class IfStatement(Node):
    span: Span
    cond: Expr
    then: Statement
    else_: Statement | None = None


class ForLoop(Node):
    span: Span
    init: Expr | None
    cond: Expr | None
    step: Expr | None
    body: Statement


class WhileLoop(Node):
    span: Span
    cond: Expr
    body: Statement


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


class ReturnStatement(Node):
    span: Span
    value: Expr | None


class DeleteStatement(Node):
    span: Span
    target: Expr


class NextStatement(Node):
    span: Span


class BreakStatement(Node):
    span: Span


class ContinueStatement(Node):
    span: Span


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

class Component(Node):
    """One dotted part of a probe point: `function("foo@bar.c")`, `kernel`, `sys*`."""

    span: Span
    name: str
    name_span: Span
    arg: Literal | None = None


class ComponentGroup(Node):
    """`{a, b.c}` in a probe point: stap expands it into one probe point per alternative."""

    span: Span
    alternatives: tuple[ProbePoint, ...]


class ProbePoint(Node):
    span: Span
    components: tuple[Component | ComponentGroup, ...]
    optional: bool = False  # `?` (and implied by `!`)
    sufficient: bool = False  # `!`
    condition: Expr | None = None


# ---------------------------------------------------------------- top level

class Comment(Node):
    """kind: "hash" (#), "line" (//), "block" (/* */) or "doc" (/** */)."""

    span: Span
    text: str
    kind: str


class EmbeddedCode(Node):
    """`%{ … %}` at top level or as a function body; pragmas are its `/* pure */`-style markers."""

    span: Span
    code: str
    pragmas: tuple[str, ...] = ()


class Param(Node):
    span: Span
    name: str
    name_span: Span
    type: str | None = None  # "long" / "string"


class ProbeDecl(Node):
    span: Span
    points: tuple[ProbePoint, ...]
    body: Block
    doc: Comment | None = None


class AliasDecl(Node):
    """`probe NAME = P1, P2 {…}`, `+=` (epilogue), several names, optional second body after `,`."""

    span: Span
    names: tuple[ProbePoint, ...]
    epilogue: bool
    points: tuple[ProbePoint, ...]
    body: Block
    body2: Block | None = None
    doc: Comment | None = None


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


class GlobalVar(Node):
    """One name of a `global`/`private` declaration: `a`, `a[100]`, `w%[50]`, `x = 5`."""

    span: Span
    name: str
    name_span: Span
    wrap: bool = False
    size: int | None = None
    init: Literal | None = None


class GlobalDecl(Node):
    span: Span
    vars: tuple[GlobalVar, ...]
    private: bool = False
    doc: Comment | None = None


class ErrorItem(Node):
    """What was parsed of a top-level item before a syntax error: whatever pieces were complete."""

    span: Span
    keyword: str
    fragments: tuple[Node, ...]


Item = ProbeDecl | AliasDecl | FunctionDecl | GlobalDecl | EmbeddedCode | ErrorItem


class InactiveRange(Node):
    """Source the preprocessor dropped (a %( %) branch not taken)."""

    span: Span


class Conditional(Node):
    """A whole `%( cond %? … %: … %)` (for folding), with the condition's span and its value."""

    span: Span
    condition_span: Span
    taken: bool


class MacroDef(Node):
    span: Span
    name: str
    name_span: Span
    params: tuple[str, ...]
    library: bool = False


class MacroCall(Node):
    """`@name` or `@name(args)` that the preprocessor expanded; definition is the MacroDef's name_span."""

    span: Span
    name: str
    definition: Span


class File(Node):
    span: Span
    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = ()
    inactive: tuple[InactiveRange, ...] = ()
    conditionals: tuple[Conditional, ...] = ()
    macros: tuple[MacroDef, ...] = ()
    macro_calls: tuple[MacroCall, ...] = ()
