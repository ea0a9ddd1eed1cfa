"""Syntax trees to the resolved program's nodes (tapkit.semantic.ir), one fresh copy per call.

Parentheses disappear, `while` becomes a `for` without init and step, `k in a` becomes an
InArray around an ArrayIndex, printf's format is parsed (its errors are pass 1's, reported by
the caller through format_errors). Nothing is resolved here.
"""

from __future__ import annotations

from tapkit.semantic import ir
from tapkit.semantic.formats import FormatProblem, conversions
from tapkit.syntax import ast as A


class Lowering:
    """Lowers statements and expressions; format_errors collects printf formats stap rejects in pass 1."""

    def __init__(self) -> None:
        self.format_errors: list[tuple[A.PrintCall, str]] = []
        self.probewrites: frozenset[str] | None = None  # set while lowering an alias's second body

    # ------------------------------------------------------------ statements
    def block(self, b: A.Block) -> ir.Block:
        return ir.Block(b, [self.stmt(s) for s in b.statements])

    def stmt(self, s: A.Statement | A.EmbeddedCode) -> ir.Stmt:
        if isinstance(s, A.EmbeddedCode):
            return ir.EmbeddedCode(s, s.code)
        if isinstance(s, A.Block):
            return self.block(s)
        if isinstance(s, A.ExprStatement):
            value = self.expr(s.expr)
            return ir.ExprStmt(s, value, value)
        if isinstance(s, A.IfStatement):
            return ir.If(s, self.expr(s.cond), self.stmt(s.then), self.stmt(s.else_) if s.else_ else None)
        if isinstance(s, A.ForLoop):
            cond = self.expr(s.cond) if s.cond is not None else ir.Number(s, 1)
            return ir.For(s, self.expr(s.init) if s.init else None, cond, self.expr(s.step) if s.step else None,
                          self.stmt(s.body))
        if isinstance(s, A.WhileLoop):
            return ir.For(s, None, self.expr(s.cond), None, self.stmt(s.body))
        if isinstance(s, A.ForeachLoop):
            base = self.indexable(s.array)
            slice_: list[ir.Expr | None] = []
            if s.slice is not None:
                slice_ = [None if isinstance(x, A.Wildcard) else self.expr(x) for x in s.slice]
            return ir.Foreach(s, [ir.Sym(k, k.name) for k in s.keys], base, slice_,
                              ir.Sym(s.value, s.value.name) if s.value is not None else None,
                              self.expr(s.limit) if s.limit is not None else None, self.stmt(s.body))
        if isinstance(s, A.ReturnStatement):
            return ir.Return(s, self.expr(s.value) if s.value is not None else None)
        if isinstance(s, A.DeleteStatement):
            return ir.Delete(s, self.expr(s.target))
        if isinstance(s, A.NextStatement):
            return ir.Next(s)
        if isinstance(s, A.BreakStatement):
            return ir.Break(s)
        if isinstance(s, A.ContinueStatement):
            return ir.Continue(s)
        if isinstance(s, A.TryStatement):
            var = ir.Sym(s.catch_var, s.catch_var.name) if s.catch_var is not None else None
            return ir.Try(s, self.block(s.body), var, self.block(s.catch_body))
        if isinstance(s, A.NullStatement):
            return ir.NullStmt(s)
        raise TypeError(f"cannot lower statement {type(s).__name__}")

    def function_body(self, body: A.Block | A.EmbeddedCode) -> ir.Stmt:
        if isinstance(body, A.EmbeddedCode):
            return ir.EmbeddedCode(body, body.code)
        return self.block(body)

    # ------------------------------------------------------------ expressions
    def indexable(self, e: A.Var | A.HistOp) -> ir.Sym | ir.HistOp:
        if isinstance(e, A.HistOp):
            return self.hist(e)
        return ir.Sym(e, e.name)

    def hist(self, e: A.HistOp) -> ir.HistOp:
        return ir.HistOp(e, e.kind, self.expr(e.operand), e.params)

    def expr(self, e: A.Expr) -> ir.Expr:
        if isinstance(e, A.Var):
            return ir.Sym(e, e.name)
        if isinstance(e, A.NumberLiteral):
            return ir.Number(e, e.value)
        if isinstance(e, A.StringLiteral):
            return ir.String(e, e.value)
        if isinstance(e, A.Paren):
            return self.expr(e.expr)
        if isinstance(e, A.Binary):
            left, right = self.expr(e.left), self.expr(e.right)
            if e.op in ("&&", "||"):
                return ir.Logical(e, e.op, left, right)
            if e.op in ("<", ">", "<=", ">=", "==", "!="):
                return ir.Compare(e, e.op, left, right)
            if e.op == ".":
                return ir.Concat(e, e.op, left, right)
            return ir.Binary(e, e.op, left, right)
        if isinstance(e, A.Assignment):
            return ir.Assign(e, e.op, self.expr(e.target), self.expr(e.value))
        if isinstance(e, A.FunctionCall):
            return ir.Call(e, e.name, [self.expr(a) for a in e.args])
        if isinstance(e, A.PrintCall):
            return self.print_call(e)
        if isinstance(e, A.ArrayIndex):
            return ir.ArrayIndex(e, self.indexable(e.base), [self.index(i) for i in e.indexes])
        if isinstance(e, A.Unary):
            return ir.Unary(e, e.op, self.expr(e.operand))
        if isinstance(e, A.Crement):
            return ir.Crement(e, e.op, self.expr(e.operand), e.prefix)
        if isinstance(e, A.Ternary):
            return ir.Ternary(e, self.expr(e.cond), self.expr(e.then), self.expr(e.else_))
        if isinstance(e, A.InArray):
            index = ir.ArrayIndex(e, self.indexable(e.array), [self.index(k) for k in e.keys])
            return ir.InArray(e, index)
        if isinstance(e, A.RegexMatch):
            pattern = e.pattern
            value = pattern.value if isinstance(pattern, A.StringLiteral) else pattern.text
            return ir.Regex(e, e.op, self.expr(e.left), ir.String(pattern, value))
        if isinstance(e, A.StatOp):
            return ir.StatOp(e, e.op, self.expr(e.operand), e.params)
        if isinstance(e, A.HistOp):
            return self.hist(e)
        if isinstance(e, A.TargetVar):
            return ir.Target(e, "var", e.name, self.components(e.components), e.addressof)
        if isinstance(e, A.CastOp):
            return ir.Target(e, "cast", "@cast", self.components(e.components), e.addressof,
                             operand=self.expr(e.operand), type_name=e.type_name, module=e.module or "")
        if isinstance(e, A.AtVar):
            return ir.Target(e, "atvar", e.name, self.components(e.components), e.addressof, module=e.module or "")
        if isinstance(e, A.Autocast):
            return ir.Target(e, "autocast", "", self.components(e.components), e.addressof,
                             operand=self.expr(e.operand))
        if isinstance(e, A.DefinedOp):
            return ir.Defined(e, self.expr(e.operand))
        if isinstance(e, A.EntryOp):
            return ir.Entry(e, self.expr(e.operand))
        if isinstance(e, A.PerfOp):
            return ir.Perf(e, e.counter)
        if isinstance(e, A.RegisterOp):
            return ir.Register(e, e.user, e.regno)
        if isinstance(e, A.DerefOp):
            return ir.Deref(e, e.user, e.size, self.expr(e.address))
        if isinstance(e, A.EmbeddedExpr):
            return ir.EmbeddedExpr(e, e.code)
        if isinstance(e, A.ConstOp):
            return ir.EmbeddedExpr(e, f"{e.text} /* pure */")
        if isinstance(e, A.ProbewriteOp):
            if self.probewrites is not None:
                return ir.Number(e, 1 if e.name in self.probewrites else 0)
            return ir.Probewrite(e, e.name)
        if isinstance(e, A.ScriptArg):
            # only an editor keeps $1/@1 unpasted: stand in the value stap would need
            return ir.String(e, "") if e.quoted else ir.Number(e, 0)
        if isinstance(e, A.Wildcard):
            return ir.Number(e, 0)
        raise TypeError(f"cannot lower expression {type(e).__name__}")

    def index(self, e: A.Expr) -> ir.Expr | None:
        return None if isinstance(e, A.Wildcard) else self.expr(e)

    def components(self, comps: tuple[A.TargetComponent, ...]) -> list[ir.TargetComponent]:
        out = []
        for c in comps:
            if isinstance(c, A.TargetMember):
                out.append(ir.TargetComponent("member", c, name=c.name))
            elif isinstance(c, A.TargetPretty):
                out.append(ir.TargetComponent("pretty", c, name=c.dollars))
            elif isinstance(c.index, A.NumberLiteral):
                out.append(ir.TargetComponent("index", c, index=c.index.value))
            else:
                out.append(ir.TargetComponent("expr", c, expr=self.expr(c.index)))
        return out

    def print_call(self, e: A.PrintCall) -> ir.Print:
        args = list(e.args)
        node = ir.Print(e, e.name, [], self.hist(e.hist) if e.hist is not None else None)
        if node.format is not None and args:
            fmt = args.pop(0)
            text = fmt.value if isinstance(fmt, A.StringLiteral) else ""
            try:
                node.format = list(conversions(text))
            except FormatProblem as exc:
                self.format_errors.append((e, str(exc)))
                node.format = []
        elif e.name.lstrip("s").startswith("printd") and args:
            delim = args.pop(0)
            node.delimiter = delim.value if isinstance(delim, A.StringLiteral) else ""
        node.args = [self.expr(a) for a in args]
        return node
