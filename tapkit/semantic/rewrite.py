"""Bottom-up rewriting of the expressions in a statement tree (stap's update_visitor, for expressions)."""

from __future__ import annotations

from collections.abc import Callable

from tapkit.semantic import ir

ExprFn = Callable[[ir.Expr], ir.Expr]


def rewrite_expr(e: ir.Expr, fn: ExprFn) -> ir.Expr:
    """Rewrite e's children, then e itself, with fn; returns the replacement."""
    if isinstance(e, ir.Binary | ir.Assign):
        e.left = rewrite_expr(e.left, fn)
        e.right = rewrite_expr(e.right, fn)
    elif isinstance(e, ir.Unary | ir.Crement):
        e.operand = rewrite_expr(e.operand, fn)
    elif isinstance(e, ir.Ternary):
        e.cond = rewrite_expr(e.cond, fn)
        e.then = rewrite_expr(e.then, fn)
        e.else_ = rewrite_expr(e.else_, fn)
    elif isinstance(e, ir.Regex):
        e.left = rewrite_expr(e.left, fn)
    elif isinstance(e, ir.InArray):
        idx = rewrite_expr(e.index, fn)
        if isinstance(idx, ir.ArrayIndex):
            e.index = idx
    elif isinstance(e, ir.ArrayIndex):
        base = rewrite_expr(e.base, fn)
        if isinstance(base, ir.Sym | ir.HistOp):
            e.base = base
        e.indexes = [rewrite_expr(i, fn) if i is not None else None for i in e.indexes]
    elif isinstance(e, ir.Call):
        e.args = [rewrite_expr(a, fn) for a in e.args]
    elif isinstance(e, ir.Print):
        e.args = [rewrite_expr(a, fn) for a in e.args]
        if e.hist is not None:
            h = rewrite_expr(e.hist, fn)
            if isinstance(h, ir.HistOp):
                e.hist = h
    elif isinstance(e, ir.StatOp | ir.HistOp):
        e.stat = rewrite_expr(e.stat, fn)
    elif isinstance(e, ir.Target):
        if e.operand is not None:
            e.operand = rewrite_expr(e.operand, fn)
        for c in e.components:
            if c.expr is not None:
                c.expr = rewrite_expr(c.expr, fn)
    elif isinstance(e, ir.Defined | ir.Entry):
        e.operand = rewrite_expr(e.operand, fn)
    elif isinstance(e, ir.Deref):
        e.address = rewrite_expr(e.address, fn)
    return fn(e)


def map_exprs(st: ir.Stmt | None, fn: ExprFn) -> None:
    """Rewrite every expression in st (and nested statements) in place."""
    if st is None:
        return
    if isinstance(st, ir.Block):
        for sub in st.statements:
            map_exprs(sub, fn)
    elif isinstance(st, ir.ExprStmt):
        st.expr = rewrite_expr(st.expr, fn)
    elif isinstance(st, ir.If):
        st.cond = rewrite_expr(st.cond, fn)
        map_exprs(st.then, fn)
        map_exprs(st.else_, fn)
    elif isinstance(st, ir.For):
        if st.init is not None:
            st.init = rewrite_expr(st.init, fn)
        st.cond = rewrite_expr(st.cond, fn)
        if st.step is not None:
            st.step = rewrite_expr(st.step, fn)
        map_exprs(st.body, fn)
    elif isinstance(st, ir.Foreach):
        base = rewrite_expr(st.base, fn)
        if isinstance(base, ir.Sym | ir.HistOp):
            st.base = base
        st.slice = [rewrite_expr(x, fn) if x is not None else None for x in st.slice]
        if st.limit is not None:
            st.limit = rewrite_expr(st.limit, fn)
        map_exprs(st.body, fn)
    elif isinstance(st, ir.Return):
        if st.value is not None:
            st.value = rewrite_expr(st.value, fn)
    elif isinstance(st, ir.Delete):
        st.value = rewrite_expr(st.value, fn)
    elif isinstance(st, ir.Try):
        map_exprs(st.body, fn)
        map_exprs(st.catch_body, fn)
