"""Constant folding and unreachable-code removal, as stap's const_folder and dead_control_remover.

`if (0) { … }` disappears before type checking, so whatever it contained is never checked;
`x * 0` folds when x has no side effect. Arithmetic follows the runtime's 64-bit C rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tapkit.semantic import ir
from tapkit.semantic.effects import varuse_of
from tapkit.semantic.errors import SemanticError
from tapkit.semantic.rewrite import rewrite_expr

if TYPE_CHECKING:
    from tapkit.semantic.session import Session


class Changes(Protocol):
    """What folding reports to: the optimizer's fixed-point loop (or a stand-in outside it)."""

    relaxed: bool

    def changed(self) -> None: ...

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def wrap64(v: int) -> int:
    v &= 0xFFFF_FFFF_FFFF_FFFF
    return v - 2**64 if v > INT64_MAX else v


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def arith(op: str, a: int, b: int) -> int | None:
    if op == "+":
        return wrap64(a + b)
    if op == "-":
        return wrap64(a - b)
    if op == "*":
        return wrap64(a * b)
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    if op == "^":
        return a ^ b
    if op == ">>":
        return a >> max(min(b, 64), 0) if b < 64 else (0 if a >= 0 else -1)
    if op == "<<":
        return wrap64(a << max(min(b, 64), 0)) if b < 64 else 0
    if op == "/":
        return INT64_MIN if (a == INT64_MIN and b == -1) else _cdiv(a, b)
    if op == "%":
        return 0 if (a == INT64_MIN and b == -1) else a - b * _cdiv(a, b)
    return None


class Folder:
    def __init__(self, s: Session, opt: Changes) -> None:
        self.s = s
        self.opt = opt

    def num(self, e: ir.Expr) -> int | None:
        return e.value if isinstance(e, ir.Number) else None

    def pure(self, e: ir.Expr) -> bool:
        return varuse_of(e).side_effect_free()

    def mismatch(self, e: ir.Binary) -> None:
        raise SemanticError("sem.type-mismatch",
                            f"type mismatch: left and right sides don't agree ({e.left.type} vs {e.right.type})",
                            self.s.locator.of(e))

    def literal(self, src: ir.Expr, value: int) -> ir.Number:
        self.opt.changed()
        return ir.Number(src.src, value)

    def expr(self, e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Logical):
            return self.logical(e)
        if isinstance(e, ir.Compare):
            return self.compare(e)
        if isinstance(e, ir.Concat):
            if isinstance(e.left, ir.String) and isinstance(e.right, ir.String):
                self.opt.changed()
                return ir.String(e.src, e.left.value + e.right.value)
            return e
        if isinstance(e, ir.Binary):
            return self.binary(e)
        if isinstance(e, ir.Unary):
            v = self.num(e.operand)
            if v is None:
                return e
            value = {"+": v, "-": wrap64(-v), "!": int(not v), "~": ~v}.get(e.op)
            return e if value is None else self.literal(e, value)
        if isinstance(e, ir.Ternary):
            c = self.num(e.cond)
            if c is None:
                return e
            self.opt.changed()
            return e.then if c else e.else_
        return e

    def binary(self, e: ir.Binary) -> ir.Expr:
        left, right = self.num(e.left), self.num(e.right)
        op = e.op
        if right == 0 and op in ("/", "%"):
            return e
        if left is not None and right is not None:
            value = arith(op, left, right)
            return e if value is None else self.literal(e, value)
        absorbing = ((left is not None and ((left == 0 and op in ("*", "&", ">>", "<<"))
                                           or (left == -1 and op in ("|", ">>"))))
                     or (right is not None and ((right == 0 and op in ("*", "&")) or (right == 1 and op == "%")
                                                or (right == -1 and op in ("%", "|")))))
        if absorbing:
            other = e.right if left is not None else e.left
            if not self.pure(other):
                return e
            self._long_other(e, other)
            value = left if left is not None else (0 if op == "%" else right)
            assert value is not None
            return self.literal(e, value)
        identity = ((left is not None and ((left == 0 and op in ("+", "|", "^")) or (left == 1 and op == "*")
                                           or (left == -1 and op == "&")))
                    or (right is not None and ((right == 0 and op in ("+", "-", "|", "^"))
                                               or (right == 1 and op in ("*", "/")) or (right == -1 and op == "&")
                                               or (right <= 0 and op in (">>", "<<")))))
        if identity:
            other = e.right if left is not None else e.left
            self._long_other(e, other)
            self.opt.changed()
            return other
        return e

    def _long_other(self, e: ir.Binary, other: ir.Expr) -> None:
        if other.type == ir.UNKNOWN:
            other.type = ir.LONG
        elif other.type != ir.LONG:
            self.mismatch(e)

    def logical(self, e: ir.Binary) -> ir.Expr:
        left, right = self.num(e.left), self.num(e.right)
        if e.op == "||":
            if left is not None and right is not None:
                return self.literal(e, int(bool(left or right)))
            if (left is not None and left) or (right is not None and right):
                if right is not None and left is None and not self.pure(e.left):
                    return e
                return self.literal(e, 1)
            return e
        if left is not None and right is not None:
            return self.literal(e, int(bool(left and right)))
        if (left is not None and not left) or (right is not None and not right):
            if right is not None and left is None and not self.pure(e.left):
                return e
            return self.literal(e, 0)
        return e

    def compare(self, e: ir.Binary) -> ir.Expr:
        op = e.op
        if isinstance(e.left, ir.String) and isinstance(e.right, ir.String):
            a_s, b_s = e.left.value, e.right.value
            comp = (a_s > b_s) - (a_s < b_s)
        elif isinstance(e.left, ir.Number) and isinstance(e.right, ir.Number):
            a, b = e.left.value, e.right.value
            comp = (a > b) - (a < b)
        else:
            ln, rn = self.num(e.left), self.num(e.right)
            boundary = ((ln is not None and ((ln == INT64_MIN and op in ("<=", ">"))
                                             or (ln == INT64_MAX and op in (">=", "<"))))
                        or (rn is not None and ((rn == INT64_MIN and op in (">=", "<"))
                                                or (rn == INT64_MAX and op in ("<=", ">")))))
            if not boundary:
                return e
            other = e.right if ln is not None else e.left
            if not self.pure(other):
                return e
            return self.literal(e, int(len(op) == 2))
        value = {"==": comp == 0, "!=": comp != 0, "<": comp < 0, ">": comp > 0, "<=": comp <= 0,
                 ">=": comp >= 0}[op]
        return self.literal(e, int(value))

    # ------------------------------------------------------------ statements
    def stmt(self, st: ir.Stmt | None) -> ir.Stmt | None:
        if st is None:
            return None
        if isinstance(st, ir.Block):
            st.statements = [x for x in (self.stmt(sub) for sub in st.statements) if x is not None]
            return st
        if isinstance(st, ir.ExprStmt):
            st.expr = rewrite_expr(st.expr, self.expr)
            return st
        if isinstance(st, ir.If):
            st.cond = rewrite_expr(st.cond, self.expr)
            c = self.num(st.cond)
            if c is None:
                st.then = self.stmt(st.then)
                st.else_ = self.stmt(st.else_)
                return st
            self.opt.changed()
            chosen = st.then if c else st.else_
            return self.stmt(chosen) if chosen is not None else ir.NullStmt(st.src)
        if isinstance(st, ir.For):
            st.cond = rewrite_expr(st.cond, self.expr)
            c = self.num(st.cond)
            if c is None or c:
                if st.init is not None:
                    st.init = rewrite_expr(st.init, self.expr)
                if st.step is not None:
                    st.step = rewrite_expr(st.step, self.expr)
                st.body = self.stmt(st.body)
                return st
            self.opt.changed()
            if st.init is not None:
                return ir.ExprStmt(st.init.src, rewrite_expr(st.init, self.expr))
            return ir.NullStmt(st.src)
        if isinstance(st, ir.Foreach):
            if st.limit is not None:
                st.limit = rewrite_expr(st.limit, self.expr)
                lim = self.num(st.limit)
                if lim is not None and lim <= 0:
                    self.opt.changed()
                    return ir.NullStmt(st.src)
            st.slice = [rewrite_expr(x, self.expr) if x is not None else None for x in st.slice]
            st.body = self.stmt(st.body)
            return st
        if isinstance(st, ir.Return | ir.Delete):
            if st.value is not None:
                st.value = rewrite_expr(st.value, self.expr)
            return st
        if isinstance(st, ir.Try):
            st.body = self.stmt(st.body)
            st.catch_body = self.stmt(st.catch_body)
            return st
        return st


def const_fold(s: Session, opt: Changes) -> int:
    """Early type check (its mismatches are reported), then folding; returns the error count."""
    from tapkit.semantic.infer import initial_type_check

    rc = initial_type_check(s)
    if rc:
        opt.relaxed = True
        return rc
    folder = Folder(s, opt)
    try:
        for dp in s.probes:
            body = folder.stmt(dp.body)
            dp.body = body if isinstance(body, ir.Block) else ir.Block(dp.body.src, [body] if body else [])
        for fd in s.functions.values():
            if fd.body is not None:
                fd.body = folder.stmt(fd.body) or ir.NullStmt(fd.body.src)
    except SemanticError as e:
        s.errors.error(e)
        opt.relaxed = True
        return 1
    return 0


def dead_control(s: Session, opt: Changes) -> None:
    """Statements after an unconditional return/next/break/continue in the same block go."""
    roots: list[ir.Stmt] = [dp.body for dp in s.probes]
    roots += [fd.body for fd in s.functions.values() if fd.body is not None]
    for root in roots:
        for n in ir.walk(root):
            if isinstance(n, ir.Block):
                for i, sub in enumerate(n.statements[:-1]):
                    if isinstance(sub, ir.Return | ir.Next | ir.Break | ir.Continue):
                        del n.statements[i + 1:]
                        opt.changed()
                        break


class _Quiet:
    """An optimizer stand-in for folding outside the optimizer loop (it only needs changed())."""

    relaxed = True

    def changed(self) -> None:
        self.relaxed = False


def fold_all(s: Session) -> None:
    """Fold every probe and function body again, then drop unreachable statements."""
    quiet = _Quiet()
    folder = Folder(s, quiet)
    for dp in s.probes:
        body = folder.stmt(dp.body)
        dp.body = body if isinstance(body, ir.Block) else ir.Block(dp.body.src, [body] if body else [])
    for fd in s.functions.values():
        if fd.body is not None:
            fd.body = folder.stmt(fd.body) or ir.NullStmt(fd.body.src)
    dead_control(s, quiet)
