"""Type inference to a fixed point (stap's typeresolution_info), with stap's errors and their order.

Each visit carries an expected type `t` down and propagates what it learns: a literal fixes its
context, `a = b` ties both sides, a call ties arguments to parameters and the call to the return
type, an array's index types are fixed by its first uses. Visiting repeats over every function
(in stap's name order) and probe until nothing new resolves; reporting follows stap 4.8's rules
(typebook.py). `initial_type_check` is stap's early pass (before constant folding),
`final_type_check` the one after optimization.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapkit.semantic import ir
from tapkit.semantic.errors import SemanticError
from tapkit.semantic.typecalls import OperandVisits

if TYPE_CHECKING:
    from tapkit.semantic.session import Session

LONG, STRING, STATS, UNKNOWN = ir.LONG, ir.STRING, ir.STATS, ir.UNKNOWN
Decl = ir.VarDef | ir.FunctionDef


class TypeResolver(OperandVisits):
    """The visits: statements, then expressions (stap's typeresolution_info); calls, prints and
    target expressions are visited in typecalls.py."""

    def stmt(self, st: ir.Stmt | None) -> None:
        if st is None:
            return
        if isinstance(st, ir.Block):
            for sub in st.statements:
                self.t = UNKNOWN
                self.stmt(sub)
        elif isinstance(st, ir.ExprStmt):
            self.t = UNKNOWN
            self.expr(st.expr)
        elif isinstance(st, ir.If):
            self.t = LONG
            self.expr(st.cond)
            self.t = UNKNOWN
            self.stmt(st.then)
            self.t = UNKNOWN
            self.stmt(st.else_)
        elif isinstance(st, ir.For):
            self.t = UNKNOWN
            if st.init is not None:
                self.expr(st.init)
            self.t = LONG
            self.expr(st.cond)
            self.t = UNKNOWN
            if st.step is not None:
                self.expr(st.step)
            self.t = UNKNOWN
            self.stmt(st.body)
        elif isinstance(st, ir.Foreach):
            self.foreach(st)
        elif isinstance(st, ir.Return):
            self.return_(st)
        elif isinstance(st, ir.Delete):
            self.delete(st.value)
        elif isinstance(st, ir.Try):
            self.stmt(st.body)
            if st.catch_var is not None:
                self.t = STRING
                self.expr(st.catch_var)
            self.stmt(st.catch_body)

    def foreach(self, st: ir.Foreach) -> None:
        wanted = UNKNOWN
        base = st.base
        if isinstance(base, ir.HistOp):
            if len(st.indexes) != 1:
                self.unresolved(self.where(st))
            self.t = LONG
            self.expr(st.indexes[0])
            if st.indexes[0].type != LONG:
                self.unresolved(self.where(st))
            self.expr(base)
            wanted = LONG
        else:
            ref = base.referent
            if ref is None:  # only in the editor's partial programs
                return
            if len(st.indexes) != len(ref.index_types):
                self.unresolved(self.where(st))
            else:
                for group in (st.indexes, st.slice):
                    for i, ee in enumerate(group):
                        if ee is not None:
                            self.index_type(ee, ref, i)
            self.t = UNKNOWN
            self.expr(base)
            wanted = base.type
        if st.value is not None:
            if wanted == STATS:
                self.invalid(self.where(st.value), wanted)
            elif wanted != UNKNOWN:
                self.check_arg(wanted, st.value)
            else:
                self.t = UNKNOWN
                self.expr(st.value)
        if wanted != UNKNOWN and st.sort_aggregate and wanted != STATS:
            self.invalid(self.where(base), wanted)
        if st.limit is not None:
            self.t = LONG
            self.expr(st.limit)
        self.t = UNKNOWN
        self.stmt(st.body)

    def index_type(self, ee: ir.Expr, ref: ir.VarDef, i: int) -> None:
        ft = ref.index_types[i]
        self.t = ft
        self.expr(ee)
        at = ee.type
        if at in (STRING, LONG) and ft == UNKNOWN:
            ref.index_types[i] = ft = at
            self.resolved(self.where(ee), ref, i)
        if at == STATS:
            self.invalid(self.where(ee), at)
        if ft == STATS:
            self.invalid(self.where(ee), ft)
        if at != UNKNOWN and ft != UNKNOWN and ft != at:
            self.mismatch_decl(self.where(ee), at, ref, i)
        if at == UNKNOWN:
            self.unresolved(self.where(ee))

    def return_(self, st: ir.Return) -> None:
        fd = self.current_function
        if fd is None:
            return
        self.t = fd.type
        if st.value is None:
            if fd.type != UNKNOWN:
                self.mismatch_decl(self.where(st), UNKNOWN, fd)
            return
        v = st.value
        self.expr(v)
        if fd.type != UNKNOWN and v.type != UNKNOWN and fd.type != v.type:
            self.mismatch_decl(self.where(v), v.type, fd)
        if fd.type == UNKNOWN and v.type in (LONG, STRING):
            fd.type = v.type
            self.resolved(self.where(v), fd)
        if v.type == STATS:
            self.invalid(self.where(v), v.type)
        if fd.type == v.type:
            self.details(v, fd)

    def delete(self, e: ir.Expr) -> None:
        self.t = UNKNOWN
        if isinstance(e, ir.ArrayIndex):
            self.array_index(e)
        elif isinstance(e, ir.Sym):
            if e.referent is not None:  # None only in the editor's partial programs
                self.resolve_2types(e, e.referent, UNKNOWN)
        else:
            raise SemanticError("sem.delete", "invalid operand of delete expression", self.where(e))

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> None:
        t = self.t
        kind = type(e)
        if kind is ir.Assign:  # the commonest composite expressions first: their branches below, spelled out
            self.assign(e)  # type: ignore[arg-type]
        elif kind is ir.ArrayIndex:
            self.array_index(e)  # type: ignore[arg-type]
        elif isinstance(e, ir.Number | ir.String):
            if t != e.type and t != UNKNOWN:
                self.mismatch(self.where(e), t, e.type)
        elif isinstance(e, ir.Sym):
            if e.referent is None:  # only in the editor's partial programs
                return
            self.resolve_2types(e, e.referent, t)
            if e.type == e.referent.type:
                self.details(e.referent, e)
                self.details(e, e.referent)
        elif isinstance(e, ir.Assign):
            self.assign(e)
        elif isinstance(e, ir.Concat):
            if t not in (UNKNOWN, STRING):
                self.invalid(self.where(e), t)
            for operand in (e.left, e.right):
                self.t = STRING
                self.expr(operand)
            self.set_type(e, STRING)
        elif isinstance(e, ir.Compare):
            if t in (STATS, STRING):
                self.invalid(self.where(e), t)
            self.t = e.right.type
            self.expr(e.left)
            self.t = e.left.type
            self.expr(e.right)
            if UNKNOWN not in (e.left.type, e.right.type) and e.left.type != e.right.type:
                self.mismatch_sides(e)
            self.set_type(e, LONG)
        elif isinstance(e, ir.Binary):  # arithmetic and logical
            if t in (STATS, STRING):
                self.invalid(self.where(e), t)
            self.t = LONG
            self.expr(e.left)
            self.t = LONG
            self.expr(e.right)
            if UNKNOWN not in (e.left.type, e.right.type) and e.left.type != e.right.type:
                self.mismatch_sides(e)
            self.set_type(e, LONG)
        elif isinstance(e, ir.Unary | ir.Crement):
            if t in (STATS, STRING):
                self.invalid(self.where(e), t)
            self.t = LONG
            self.expr(e.operand)
            self.set_type(e, LONG)
        elif isinstance(e, ir.Regex):
            if t in (STATS, STRING):
                self.invalid(self.where(e), t)
            self.t = STRING
            self.expr(e.left)
            self.t = STRING
            self.expr(e.pattern)
            self.set_type(e, LONG)
        elif isinstance(e, ir.Ternary):
            self.ternary(e)
        elif isinstance(e, ir.ArrayIndex):
            self.array_index(e)
        elif isinstance(e, ir.InArray):
            self.t = UNKNOWN
            self.expr(e.index)
            if t == UNKNOWN and e.type != UNKNOWN:
                pass
            elif t in (STRING, STATS):
                self.mismatch(self.where(e), t, LONG)
            elif e.type == UNKNOWN:
                e.type = LONG
                self.resolved(None)
        elif isinstance(e, ir.Call):
            self.call(e)
        elif isinstance(e, ir.Print):
            self.print_(e)
        elif isinstance(e, ir.StatOp):
            self.t = STATS
            self.expr(e.stat)
            if e.type == UNKNOWN:
                e.type = LONG
                self.resolved(None)
            elif e.type != LONG:
                self.mismatch(self.where(e), LONG, e.type)
        elif isinstance(e, ir.HistOp):
            self.t = STATS
            self.expr(e.stat)
        elif isinstance(e, ir.EmbeddedExpr):
            self.set_type(e, STRING if "/* string */" in e.code else LONG)
        elif isinstance(e, ir.Target):
            self.target(e, t)
        elif isinstance(e, ir.Defined):
            if self.initial:
                return
            self.t = UNKNOWN
            self.expr(e.operand)
            if self.assert_resolvability:
                self.s.errors.error(SemanticError("sem.defined", "unexpected @defined", self.where(e)))
            else:
                self.still += 1
        elif isinstance(e, ir.Entry):
            if e.resolved:  # the operand's value, as it was at the entry
                self.expr(e.operand)
                if e.operand.type != UNKNOWN:
                    self.set_type(e, e.operand.type)
                self.details(e.operand, e)
                return
            if self.initial:
                return
            raise SemanticError("sem.entry", "internal error: @entry is only valid in .return probes", self.where(e))
        elif isinstance(e, ir.Probewrite):
            if self.initial:
                return
            raise SemanticError("sem.probewrite", "unexpected @probewrite", self.where(e))
        elif isinstance(e, ir.Perf):
            if self.initial:
                return
            if t in (STATS, STRING):
                self.invalid(self.where(e), t)
            e.type = LONG
        elif isinstance(e, ir.Register | ir.Deref):
            if t != LONG:
                self.invalid(self.where(e), t)
            if isinstance(e, ir.Deref):
                self.t = LONG
                self.expr(e.address)
            self.set_type(e, LONG)

    def assign(self, e: ir.Assign) -> None:
        t = self.t
        if t == STATS:
            self.invalid(self.where(e), t)
        if e.op == "<<<":
            if t == STRING:
                self.invalid(self.where(e), t)
            self.t = STATS
            self.expr(e.left)
            self.t = LONG
            self.expr(e.right)
            if e.type in (UNKNOWN, STATS):
                e.type = LONG
                self.resolved(None)
        elif e.left.type == STATS:
            self.invalid(self.where(e.left), e.left.type)
        elif e.right.type == STATS:
            self.invalid(self.where(e.right), e.right.type)
        elif e.op in ("+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", "<<=", ">>="):
            if t in (STATS, STRING):
                self.invalid(self.where(e), t)
            self.t = LONG
            self.expr(e.left)
            self.t = LONG
            self.expr(e.right)
            if UNKNOWN not in (e.left.type, e.right.type) and e.left.type != e.right.type:
                self.mismatch_sides(e)
            self.set_type(e, LONG)
        elif e.op == ".=":
            if t in (LONG, STATS):
                self.invalid(self.where(e), t)
            self.t = STRING
            self.expr(e.left)
            self.t = STRING
            self.expr(e.right)
            if e.type == UNKNOWN:
                e.type = STRING
                self.resolved(None)
        else:
            sub = t
            if sub == UNKNOWN and e.type != UNKNOWN:
                sub = e.type
            self.t = sub if sub != UNKNOWN else e.right.type
            self.expr(e.left)
            self.t = sub if sub != UNKNOWN else e.left.type
            self.expr(e.right)
            if sub != UNKNOWN and e.type == UNKNOWN:
                e.type = sub
                self.resolved(None)
            if sub == UNKNOWN and e.left.type != UNKNOWN:
                e.type = e.left.type
                self.resolved(None)
            if UNKNOWN not in (e.left.type, e.right.type) and e.left.type != e.right.type:
                self.mismatch_sides(e)
            if e.type == e.right.type:
                self.details(e.right, e)
            if e.type == e.left.type:
                self.details(e, e.left)

    def ternary(self, e: ir.Ternary) -> None:
        sub = self.t
        self.t = LONG
        self.expr(e.cond)
        if sub == UNKNOWN and e.type != UNKNOWN:
            sub = e.type
        self.t = sub
        self.expr(e.then)
        self.t = sub
        self.expr(e.else_)
        if sub == UNKNOWN and e.type != UNKNOWN:
            pass
        elif sub != UNKNOWN and e.type == UNKNOWN:
            e.type = sub
            self.resolved(None)
        elif sub == UNKNOWN and e.then.type != UNKNOWN:
            e.type = e.then.type
            self.resolved(None)
        elif sub == UNKNOWN and e.else_.type != UNKNOWN:
            e.type = e.else_.type
            self.resolved(None)
        elif e.type != sub:
            self.mismatch(self.where(e), sub, e.type)
        if e.details is None and e.then.details is not None and e.then.details == e.else_.details:
            self.details(e.then, e)

    def array_index(self, e: ir.ArrayIndex) -> None:
        t = self.t
        base = e.base
        if isinstance(base, ir.HistOp):
            if len(e.indexes) != 1:
                self.unresolved(self.where(e))
            self.t = LONG
            first = e.indexes[0]
            if first is not None:
                self.expr(first)
                if first.type != LONG:
                    self.unresolved(self.where(e))
            self.expr(base)
            if e.type != LONG:
                e.type = LONG
                self.resolved(None)
            return
        ref = base.referent
        if ref is None:  # only in the editor's partial programs
            return
        self.resolve_2types(e, ref, t)
        if len(e.indexes) != len(ref.index_types):
            self.unresolved(self.where(e))
            return
        for i, ee in enumerate(e.indexes):
            if ee is not None:
                self.index_type(ee, ref, i)

    # ------------------------------------------------------------ the passes
    def check_local(self, v: ir.VarDef) -> None:
        where = self.decl_where(v)
        if v.arity != 0:
            self.still += 1
            if self.assert_resolvability:
                self.s.errors.error(SemanticError("sem.array-local",
                                                  "array locals not supported, missing global declaration? ", where))
        if v.type == UNKNOWN:
            self.unresolved(where)
        elif v.type == STATS:
            self.still += 1
            if self.assert_resolvability:
                self.s.errors.error(SemanticError("sem.stat-local",
                                                  "stat locals not supported, missing global declaration? ", where))

    def sweep(self, final: bool) -> None:
        s = self.s
        for key in sorted(s.functions):
            fd = s.functions[key]
            self.current_function, self.current_probe = fd, None
            self.t = UNKNOWN
            try:
                self.stmt(fd.body)
                if final:
                    for v in fd.locals:
                        self.check_local(v)
            except SemanticError as e:
                if not final:
                    raise
                raise SemanticError(e.code, f"while processing function {fd.name}", None, e) from None
        self.current_function = None
        for dp in s.probes:
            self.current_probe = dp
            self.t = UNKNOWN
            try:
                self.stmt(dp.body)
                if final:
                    for v in dp.locals:
                        self.check_local(v)
                if dp.condition is not None:
                    self.current_probe = None
                    self.t = LONG
                    self.expr(dp.condition)
            except SemanticError as e:
                if not final:
                    raise
                raise SemanticError(e.code, f"while processing probe {dp.derivation()}", None, e) from None
        self.current_probe = None
        if final:
            for g in s.globals:
                if g.type == UNKNOWN:
                    self.unresolved(self.decl_where(g))
                if g.arity == 0 and g.wrap:
                    raise SemanticError("sem.wrap", "wrapping not supported for scalars", self.decl_where(g))


def initial_type_check(s: Session) -> int:
    """stap's initial_typeres_pass: infer without asserting, so that mismatches surface before folding."""
    before = s.errors.count
    tr = TypeResolver(s, initial=True)
    while True:
        tr.newly = tr.still = 0
        tr.sweep(final=False)
        if tr.newly == 0:
            if not tr.assert_resolvability and tr.complexity > 0:
                tr.assert_resolvability = True  # one more pass, printing the mismatches
                continue
            break
        tr.complexity = 0
    return s.errors.count - before


def final_type_check(s: Session) -> int:
    """stap's semantic_pass_types: iterate to a fixed point, then report what stayed unresolved."""
    before = s.errors.count
    tr = TypeResolver(s)
    rc = 0
    while True:
        tr.newly = tr.still = 0
        tr.sweep(final=True)
        if tr.newly == 0:
            if tr.still == 0:
                break
            if not tr.assert_resolvability:
                if collapse_defined(s):
                    tr.complexity = 0
                    continue
                tr.assert_resolvability = True
            else:
                rc += 1
                break
        else:
            tr.complexity = 0
    return rc + (s.errors.count - before)


def collapse_defined(s: Session) -> bool:
    """Remaining @defined(…) become 1 when their operand's type is known, else 0 (stap warns)."""
    from tapkit.semantic.rewrite import map_exprs

    changed = False

    def fold(e: ir.Expr) -> ir.Expr:
        nonlocal changed
        if isinstance(e, ir.Defined):
            changed = True
            value = 1 if e.operand.type != UNKNOWN else 0
            s.errors.warn("sem.defined-collapsed", f"Collapsing unresolved @define to {value} [stapprobes]",
                          s.locator.of(e))
            return ir.Number(e.src, value)
        return e

    for dp in s.probes:
        map_exprs(dp.body, fold)
    for fd in s.functions.values():
        map_exprs(fd.body, fold)
    if changed:
        from tapkit.semantic.fold import fold_all

        fold_all(s)
    return changed


__all__ = ["TypeResolver", "final_type_check", "initial_type_check"]
