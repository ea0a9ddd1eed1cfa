"""stap's void_statement_reducer: an expression whose value nobody uses becomes simpler statements.

`a || b;` becomes `if (!a) b;`, `f(x) + g(y);` becomes `{ f(x); g(y); }`, a pure call whose
result is dropped keeps only its arguments; the dead-statement pass then removes what is left
without effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapkit.semantic import ir
from tapkit.semantic.effects import VarUse

if TYPE_CHECKING:
    from tapkit.semantic.optimize import Optimizer


class VoidReducer:
    def __init__(self, opt: Optimizer, focal: set[ir.VarDef]) -> None:
        self.opt = opt
        self.focal = focal

    def stmt(self, st: ir.Stmt | None) -> ir.Stmt | None:
        if st is None:
            return None
        if isinstance(st, ir.ExprStmt):
            return self.reduce(st)
        if isinstance(st, ir.Block):
            st.statements = [x for x in (self.stmt(sub) for sub in st.statements) if x is not None]
            return st
        if isinstance(st, ir.If):
            st.then = self.stmt(st.then)
            st.else_ = self.stmt(st.else_)
            return st
        if isinstance(st, ir.For | ir.Foreach):
            st.body = self.stmt(st.body)
            return st
        if isinstance(st, ir.Try):
            st.body = self.stmt(st.body)
            st.catch_body = self.stmt(st.catch_body)
            return st
        return st

    def _block(self, src: ir.Node, exprs: list[ir.Expr]) -> ir.Stmt | None:
        block = ir.Block(src.src, [ir.ExprStmt(x.src, x) for x in exprs])
        self.opt.changed()
        return self.stmt(block)

    def reduce(self, st: ir.ExprStmt) -> ir.Stmt | None:
        e = st.expr
        if isinstance(e, ir.Logical):
            cond = ir.Unary(e.src, "!", e.left) if e.op == "||" else e.left
            new = ir.If(e.src, cond, ir.ExprStmt(e.right.src, e.right), None)
            self.opt.changed()
            return self.stmt(new)
        if isinstance(e, ir.Ternary):
            new = ir.If(e.src, e.cond, ir.ExprStmt(e.then.src, e.then), ir.ExprStmt(e.else_.src, e.else_))
            self.opt.changed()
            return self.stmt(new)
        if isinstance(e, ir.Binary):  # arithmetic, comparison, concatenation
            return self._block(e, [e.left, e.right])
        if isinstance(e, ir.Unary):
            self.opt.changed()
            return self.reduce(ir.ExprStmt(e.operand.src, e.operand))
        if isinstance(e, ir.Regex):
            self.opt.changed()
            return self.reduce(ir.ExprStmt(e.left.src, e.left))
        if isinstance(e, ir.Call):
            if not e.args:
                return st
            for fd in e.referents:
                vu = VarUse()
                vu.seen.add(fd)
                vu.current_function = fd
                vu.stmt(fd.body)
                if not vu.side_effect_free_wrt(self.focal):
                    return st
            return self._block(e, list(e.args))
        if isinstance(e, ir.Print):
            if e.stream or not e.args:
                return st
            return self._block(e, list(e.args))
        if isinstance(e, ir.Target):
            parts = [e.operand] if e.operand is not None else []
            parts += [c.expr for c in e.components if c.kind == "expr" and c.expr is not None]
            return self._block(e, parts)
        if isinstance(e, ir.Defined):
            self.opt.changed()
            return None
        return st
