"""The checks stap runs after type inference: arrays modified inside their own foreach, statistics.

`foreach (k in a) { a[k] = 0 }` is an error ("variable 'a' modified during 'foreach' iteration"),
as is calling a function that modifies `a` there; histograms of one statistic must agree, and a
@variance bit shift must be 0..62.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapkit.semantic import ir
from tapkit.semantic.errors import SemanticError

if TYPE_CHECKING:
    from tapkit.semantic.session import Session


def _lvalues(node: ir.Node) -> list[tuple[ir.ArrayIndex, bool]]:
    """Array elements written in node (not inside called functions): (element, is_written)."""
    out: list[tuple[ir.ArrayIndex, bool]] = []
    written: set[int] = set()
    for n in ir.walk(node):
        if isinstance(n, ir.Assign):
            written.add(id(n.left))
        elif isinstance(n, ir.Crement):
            written.add(id(n.operand))
        elif isinstance(n, ir.Delete):
            written.add(id(n.value))
        if isinstance(n, ir.ArrayIndex):
            out.append((n, id(n) in written))
    return out


def _mutated_by(fd: ir.FunctionDef) -> set[ir.VarDef]:
    out: set[ir.VarDef] = set()
    if fd.body is None:
        return out
    for n in ir.walk(fd.body):
        if isinstance(n, ir.Assign) and n.op == "<<<":
            target = n.left.base if isinstance(n.left, ir.ArrayIndex) else n.left
            if isinstance(target, ir.Sym) and target.referent is not None:
                out.add(target.referent)
    for idx, written in _lvalues(fd.body):
        if written and isinstance(idx.base, ir.Sym) and idx.base.referent is not None:
            out.add(idx.base.referent)
    return out


def check_foreach_mutation(s: Session) -> None:
    mutates = {fd: _mutated_by(fd) for fd in s.functions.values()}
    roots: list[ir.Stmt] = [fd.body for fd in s.functions.values() if fd.body is not None]
    roots += [dp.body for dp in s.probes]
    for root in roots:
        _visit(s, root, [], mutates)


def _iterated(st: ir.Foreach) -> ir.VarDef | None:
    base = st.base
    sym = base if isinstance(base, ir.Sym) else (base.stat if isinstance(base.stat, ir.Sym) else None)
    return sym.referent if sym is not None else None


def _visit(s: Session, node: ir.Node, active: list[ir.VarDef], mutates: dict[ir.FunctionDef, set[ir.VarDef]]) -> None:
    if isinstance(node, ir.Foreach):
        v = _iterated(node)
        inner = [*active, v] if v is not None else active
        for child in ir.stmt_children(node):
            _visit(s, child, inner if child is node.body else active, mutates)
        return
    if active:
        if isinstance(node, ir.ArrayIndex) and isinstance(node.base, ir.Sym):
            pass
        if isinstance(node, ir.Call):
            for fd in node.referents:
                for v in active:
                    if v in mutates.get(fd, set()):
                        s.errors.error(SemanticError(
                            "sem.foreach-modified", f"function call modifies var '{v.name}' during 'foreach' iteration",
                            s.locator.of(node)))
    if isinstance(node, ir.Stmt) and active:
        for idx, written in _direct_lvalues(node):
            ref = idx.base.referent if isinstance(idx.base, ir.Sym) else None
            if written and ref is not None and ref in active:
                s.errors.error(SemanticError("sem.foreach-modified",
                                             f"variable '{ref.name}' modified during 'foreach' iteration",
                                             s.locator.of(idx)))
    for child in ir.children(node):
        if isinstance(child, ir.Stmt):
            _visit(s, child, active, mutates)
        elif isinstance(child, ir.Expr):
            _visit_expr(s, child, active, mutates)


def _direct_lvalues(st: ir.Stmt) -> list[tuple[ir.ArrayIndex, bool]]:
    """Written array elements in st's own expressions (not in nested statements)."""
    out: list[tuple[ir.ArrayIndex, bool]] = []
    exprs = [c for c in ir.stmt_children(st) if isinstance(c, ir.Expr)]
    if isinstance(st, ir.Delete) and isinstance(st.value, ir.ArrayIndex):
        out.append((st.value, True))
    for e in exprs:
        out += [x for x in _lvalues(e) if x[1]]
    return out


def _visit_expr(s: Session, e: ir.Expr, active: list[ir.VarDef], mutates: dict[ir.FunctionDef, set[ir.VarDef]]) -> None:
    for n in ir.walk(e):
        if isinstance(n, ir.Call) and active:
            for fd in n.referents:
                for v in active:
                    if v in mutates.get(fd, set()):
                        s.errors.error(SemanticError(
                            "sem.foreach-modified", f"function call modifies var '{v.name}' during 'foreach' iteration",
                            s.locator.of(n)))


def check_statistics(s: Session) -> None:
    """Histogram shapes per statistic must agree; @variance's bit shift must be 0..62."""
    shapes: dict[ir.VarDef, tuple[object, ...]] = {}
    shifts: dict[ir.VarDef, int] = {}
    roots: list[ir.Stmt] = [fd.body for fd in s.functions.values() if fd.body is not None]
    roots += [dp.body for dp in s.probes]
    for root in roots:
        for n in ir.walk(root):
            if isinstance(n, ir.StatOp):
                shift = n.params[0] if n.params else 0
                if shift < 0 or shift > 62:
                    raise SemanticError("sem.stat", f"bit shift ({shift}) out of range <0..62>", s.locator.of(n))
                ref = n.stat.referent if isinstance(n.stat, ir.Sym) else None
                if ref is not None and n.op == "variance":
                    old = shifts.get(ref, 0)
                    if old and old != shift:
                        raise SemanticError("sem.stat", f"conflicting bit shifts declared (previously {old})",
                                            s.locator.of(n))
                    shifts[ref] = shift
            elif isinstance(n, ir.HistOp):
                ref = n.stat.referent if isinstance(n.stat, ir.Sym) else None
                if ref is None and isinstance(n.stat, ir.ArrayIndex) and isinstance(n.stat.base, ir.Sym):
                    ref = n.stat.base.referent
                if ref is None:
                    continue
                shape = (n.kind, *n.params)
                old_shape = shapes.get(ref)
                if old_shape is None:
                    shapes[ref] = shape
                elif old_shape != shape:
                    name = f"__global_{ref.name}" if ref.kind == "global" else ref.name  # stap names its C symbol
                    s.errors.error(SemanticError("sem.stat", f"multiple histogram types declared on '{name}'",
                                                 s.locator.of(n)))
