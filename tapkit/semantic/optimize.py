"""stap's pass-2 optimizer, whose elisions decide verdicts: what it removes is never type-checked.

`probe begin { x = 1 }` is elided whole (the assignment to a never-read local goes, then the
side-effect-free `1`, then the empty probe) and a script left without probes fails with "no
probes found"; an unresolvable `$var` in a statement that has no effect is never reported.
The passes run to a fixed point in stap's order: unused functions, unused variables, dead
assignments, side-effect-free statements, void-context reduction, constant folding (after an
early type check), unreachable statements and overloads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tapkit.diagnostics import Span
from tapkit.semantic import ir
from tapkit.semantic.effects import VarUse, reachable_functions, varuse_of
from tapkit.semantic.errors import SemanticError, Where
from tapkit.semantic.fold import const_fold, dead_control
from tapkit.semantic.rewrite import map_exprs
from tapkit.semantic.suggest import levenshtein_suggest

if TYPE_CHECKING:
    from tapkit.semantic.session import DerivedProbe, Session


def _name_span(v: ir.VarDef) -> Span:
    span: Span = getattr(v.src, "name_span", None) or v.src.span
    return span


def never_assigned_message(kind: str, name: str, names: set[str] | frozenset[str]) -> str:
    sugs = levenshtein_suggest(name, names, 5)
    return f"never-assigned {kind} variable '{name}'" + (f" (similar: {sugs})" if sugs else "")


class Optimizer:
    def __init__(self, s: Session, on_first_types: Callable[[], None] | None = None) -> None:
        self.s = s
        self.on_first_types = on_first_types  # called once the first type check has run
        # what "never-assigned" lists were drawn from (tapkit.semantic.incremental redraws them for a whole
        # script): the program's global names, and per warning (kind, name, span) its own other candidates
        self.global_names: frozenset[str] = frozenset()
        self.never_assigned: list[tuple[str, str, Span, frozenset[str]]] = []
        self.relaxed = True
        self.empty_probes: set[DerivedProbe] = set()
        self._vu = VarUse()

    def changed(self) -> None:
        self.relaxed = False

    def user_file(self, path: str) -> bool:
        return any(sf.path == path for sf in self.s.user_files)

    def warn(self, code: str, message: str, v: ir.VarDef) -> None:
        self.s.errors.warn(code, message, Where(_name_span(v), f"identifier '{v.name}'"))

    # ------------------------------------------------------------ the driver
    def run(self) -> int:
        s = self.s
        iterations = 0
        rc = 0
        saved = s.errors.suppress_warnings
        while True:
            self.relaxed = True
            s.errors.suppress_warnings = saved or iterations > 0
            self.unused_functions()
            self.unused_variables(iterations)
            self.dead_assignments()
            self.dead_statements()
            self.void_statements()
            rc += const_fold(s, self)
            if iterations == 0 and self.on_first_types is not None:
                self.on_first_types()
            if rc:
                break
            dead_control(s, self)
            self.overloads()
            iterations += 1
            if self.relaxed:
                break
        s.errors.suppress_warnings = saved
        kept = []
        for dp in s.probes:
            if dp.synthetic or dp not in self.empty_probes:
                kept.append(dp)
                s.join_group(dp)  # stap joins the probes left after elision to their groups; a conflict ends pass 2
            else:
                functor = dp.point.comps[0].functor if dp.spec.alias is None else dp.spec.points[0].comps[0].functor
                first = dp.spec.chain()[-1].points[0].comps[0].functor if dp.spec.chain()[-1].points else functor
                self.s.errors.warn("sem.probe-elided", f"Probe '{first}' has been elided",
                                   _keyword(dp))
        s.probes = kept
        return rc

    # ------------------------------------------------------------ opt1: unused functions
    def unused_functions(self) -> None:
        roots: list[ir.Node] = []
        for dp in self.s.probes:
            roots.append(dp.body)
            if dp.condition is not None:
                roots.append(dp.condition)
        seen = reachable_functions(roots)
        for key, fd in list(self.s.functions.items()):
            if fd not in seen:
                if not fd.synthetic and self.user_file(fd.file):
                    self.s.errors.warn("sem.unused-function", f"Eliding unused function '{fd.name}'",
                                       _name_where(fd))
                del self.s.functions[key]
                self.changed()

    # ------------------------------------------------------------ opt2: unused variables
    def unused_variables(self, iterations: int) -> None:
        s = self.s
        vu = self._vu = VarUse()
        for dp in s.probes:
            vu.stmt(dp.body)
            if dp.condition is not None:
                vu.expr(dp.condition)
        global_names = {g.name for g in s.globals if not g.private}
        if iterations == 0:
            self.global_names = frozenset(global_names)
        for dp in s.probes:
            kept = []
            for v in dp.locals:
                if v.synthetic:
                    kept.append(v)
                elif v not in vu.read and v not in vu.written:
                    if self.user_file(v.file):
                        self.warn("sem.unused-variable", f"Eliding unused variable '{v.name}'", v)
                    self.changed()
                else:
                    if v not in vu.written and iterations == 0:
                        names = ({x.name for x in dp.locals} | global_names) - {v.name}
                        self._never_assigned("local", v, names)
                    kept.append(v)
            dp.locals = kept
        for fd in s.functions.values():
            kept = []
            for v in fd.locals:
                if v not in vu.read and v not in vu.written:
                    if self.user_file(v.file):
                        self.warn("sem.unused-variable", f"Eliding unused variable '{v.name}'", v)
                    self.changed()
                else:
                    if v not in vu.written and iterations == 0:
                        names = ({x.name for x in fd.params} | {x.name for x in fd.locals} | global_names) - {v.name}
                        self._never_assigned("local", v, names)
                    kept.append(v)
            fd.locals = kept
        kept_globals = []
        for g in s.globals:
            if g not in vu.read and g not in vu.written:
                if self.user_file(g.file):
                    self.warn("sem.unused-variable", f"Eliding unused variable '{g.name}'", g)
                self.changed()
            else:
                if g not in vu.written and g.init is None and iterations == 0:
                    self._never_assigned("global", g, global_names)  # stap keeps the global itself in the list
                kept_globals.append(g)
        s.globals = kept_globals

    def _never_assigned(self, kind: str, v: ir.VarDef, names: set[str]) -> None:
        if self.s.errors.suppress_warnings or not self.user_file(v.file):
            return
        self.never_assigned.append((kind, v.name, _name_span(v), frozenset(names - self.global_names)))
        self.warn("sem.never-assigned", never_assigned_message(kind, v.name, names), v)

    # ------------------------------------------------------------ opt3: dead assignments
    def dead_assignments(self) -> None:
        # unused_variables, just before, walked the same bodies (it only drops declarations), so its uses are
        # these -- unless it also walked probe conditions (inlined in the bodies, but maybe rewritten there)
        vu = self._vu
        if any(dp.condition is not None for dp in self.s.probes):
            vu = VarUse()
            for dp in self.s.probes:
                vu.stmt(dp.body)
        globals_ = set(self.s.globals)
        for dp in self.s.probes:
            dp.body = _as_block(self._dead_assign_stmt(dp.body, vu, globals_), dp.body)
        for fd in self.s.functions.values():
            if fd.body is not None:
                fd.body = self._dead_assign_stmt(fd.body, vu, globals_)

    def _dead_assign_stmt(self, st: ir.Stmt, vu: VarUse, globals_: set[ir.VarDef]) -> ir.Stmt:
        map_exprs(st, lambda e: self._dead_assign_expr(e, vu, globals_))
        if isinstance(st, ir.Try) and st.catch_var is not None:
            v = st.catch_var.referent
            if v is not None and v not in vu.read:
                st.catch_var.type = ir.STRING
                if v.type == ir.UNKNOWN:
                    v.type = ir.STRING
                st.catch_var = None
        return st

    def _dead_assign_expr(self, e: ir.Expr, vu: VarUse, globals_: set[ir.VarDef]) -> ir.Expr:
        if not isinstance(e, ir.Assign):
            return e
        left = assignment_symbol(e.left, self.s, e)
        if left is None or left.referent is None:
            return e
        v = left.referent
        if v in vu.read or v in globals_ or v.synthetic:
            return e
        if not varuse_of(e.left).side_effect_free():
            return e
        if self.user_file(e.span.file):
            self.s.errors.warn("sem.dead-assignment", f"Eliding assignment to '{v.name}'", self.s.locator.of(e))
        self.changed()
        return e.right

    # ------------------------------------------------------------ opt4: side-effect-free statements
    def dead_statements(self) -> None:
        s = self.s
        for dp in s.probes:
            focal = set(s.globals) | set(dp.locals)
            body = self._dse(dp.body, focal)
            if body is None:
                dp.body = ir.Block(dp.body.src, [])
                self.empty_probes.add(dp)
            else:
                dp.body = _as_block(body, dp.body)
        for fd in s.functions.values():
            if fd.body is None:
                continue
            focal = set(fd.locals) | set(fd.params) | set(s.globals)
            body = self._dse(fd.body, focal)
            if body is None:
                if self.user_file(fd.file) or True:
                    s.errors.warn("sem.side-effect-free-function", f"side-effect-free function '{fd.name}'",
                                  _name_where(fd))
                fd.body = ir.NullStmt(fd.body.src)
            elif body is not fd.body:
                # a block reduced to one statement comes back as that statement: keep it, or the
                # statements removed here would be removed again on every pass (and never converge)
                fd.body = body

    def _dse(self, st: ir.Stmt | None, focal: set[ir.VarDef]) -> ir.Stmt | None:
        if st is None:
            return None
        if isinstance(st, ir.Block):
            out: list[ir.Stmt] = []
            for sub in st.statements:
                new = self._dse(sub, focal)
                if new is None:
                    if not isinstance(sub, ir.Block) or sub.statements:
                        pass
                    continue
                if isinstance(new, ir.Block):
                    out.extend(new.statements)
                    self.changed()
                else:
                    out.append(new)
            if not out:
                return None
            if len(out) == 1:
                return out[0]
            st.statements = out
            return st
        if isinstance(st, ir.NullStmt):
            return None
        if isinstance(st, ir.Try):
            st.body = self._dse(st.body, focal)
            st.catch_body = self._dse(st.catch_body, focal)
            if st.body is None:
                if st.catch_var is not None:
                    st.catch_var.type = ir.STRING
                    if st.catch_var.referent is not None and st.catch_var.referent.type == ir.UNKNOWN:
                        st.catch_var.referent.type = ir.STRING
                return None
            return st
        if isinstance(st, ir.If):
            st.then = self._dse(st.then, focal)
            st.else_ = self._dse(st.else_, focal)
            if st.then is None:
                if st.else_ is None:
                    if varuse_of(st.cond).side_effect_free():
                        return None
                    return ir.ExprStmt(st.cond.src, st.cond)
                st.cond = ir.Unary(st.cond.src, "!", st.cond)
                st.then, st.else_ = st.else_, None
            return st
        if isinstance(st, ir.Foreach):
            st.body = self._dse(st.body, focal)
            if st.body is None:
                return None
            return st
        if isinstance(st, ir.For):
            st.body = self._dse(st.body, focal)
            if st.body is None:
                vu = VarUse()
                for x in (st.init, st.cond, st.step):
                    if x is not None:
                        vu.expr(x)
                if vu.side_effect_free():
                    return None
                st.body = ir.NullStmt(st.src)
            return st
        if isinstance(st, ir.ExprStmt):
            vu = varuse_of(st.expr)
            if vu.side_effect_free_wrt(focal):
                if self.user_file(st.span.file):
                    self.s.errors.warn("sem.side-effect-free", "Eliding side-effect-free expression ",
                                       self.s.locator.of(st))
                self.changed()
                return None
            return st
        return st

    # ------------------------------------------------------------ opt5: values computed for nothing
    def void_statements(self) -> None:
        from tapkit.semantic.voidreduce import VoidReducer

        reducer = VoidReducer(self, set(self.s.globals))
        for dp in self.s.probes:
            dp.body = _as_block(reducer.stmt(dp.body), dp.body)
        for fd in self.s.functions.values():
            if fd.body is not None:
                fd.body = reducer.stmt(fd.body) or ir.NullStmt(fd.body.src)

    # ------------------------------------------------------------ overloads
    def overloads(self) -> None:
        if not any(fd.overload for fd in self.s.functions.values()):
            return  # a call has several referents only when some function is overloaded
        for fd in self.s.functions.values():
            fd.has_next = _has_next(fd.body)
        roots: list[ir.Node] = [dp.body for dp in self.s.probes]
        roots += [fd.body for fd in self.s.functions.values() if fd.body is not None]
        for root in roots:
            for n in ir.walk(root):
                if isinstance(n, ir.Call) and len(n.referents) > 1:
                    reachable = 1
                    for r in n.referents:
                        if r.has_next:
                            reachable += 1
                        else:
                            break
                    if reachable < len(n.referents):
                        del n.referents[reachable:]
                        self.changed()


def _has_next(body: ir.Stmt | None) -> bool:
    if body is None:
        return False
    for n in ir.walk(body):
        if isinstance(n, ir.Next):
            return True
        if isinstance(n, ir.EmbeddedCode) and "STAP_NEXT;" in n.code:
            return True
    return False


def _as_block(st: ir.Stmt | None, old: ir.Block) -> ir.Block:
    if st is None:
        return ir.Block(old.src, [])
    if isinstance(st, ir.Block):
        return st
    return ir.Block(old.src, [st])


def _keyword(dp: DerivedProbe) -> Where:
    """The `probe` keyword of the probe's declaration (where stap reports an elided probe)."""
    sp = dp.decl.span
    return Where(Span(sp.file, sp.line, sp.column, sp.line, sp.column + 5), "keyword")


def _name_where(fd: ir.FunctionDef) -> Where:
    return Where(fd.decl.name_span, f"identifier '{fd.name}'")


def assignment_symbol(e: ir.Expr, s: Session, assign: ir.Assign) -> ir.Sym | None:
    """The variable an lvalue writes (None for target variables); stap rejects other lvalues."""
    if isinstance(e, ir.Sym):
        return e
    if isinstance(e, ir.ArrayIndex):
        if isinstance(e.base, ir.Sym):
            return e.base
        raise SemanticError("sem.lvalue", "Assignment to read-only histogram bucket", s.locator.of(e))
    if isinstance(e, ir.Target | ir.Deref | ir.Register):
        return None
    op = s.locator.of(assign)
    if isinstance(e, ir.Concat):
        raise SemanticError("sem.lvalue", "Expecting lvalue for assignment, try -> instead", op,
                            where2=s.locator.of(e))
    raise SemanticError("sem.lvalue", "Expecting lvalue for assignment", op, where2=s.locator.of(e))


