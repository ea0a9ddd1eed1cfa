"""Symbol resolution (stap's symresolution_info): names to locals, parameters, globals and functions.

A name is looked up among the current probe's or function's locals, then (for a plain name in
a function) its parameters, then the globals the session knows, then the tapset library --
which pulls the defining file into the program. An unknown plain name becomes a new local;
an unknown array or function is an error with stap's wording and its "(similar: …)" list.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tapkit.semantic import ir
from tapkit.semantic.errors import SemanticError, Where, did_you_mean
from tapkit.semantic.session import set_arity
from tapkit.semantic.suggest import levenshtein_suggest

if TYPE_CHECKING:
    from tapkit.semantic.session import DerivedProbe, Session

_PRAGMA = re.compile(r"/\* pragma:(read|write):(\w+) \*/")


class Resolver:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.current_function: ir.FunctionDef | None = None
        self.current_probe: DerivedProbe | None = None

    # ------------------------------------------------------------ entry points
    def probe(self, dp: DerivedProbe) -> None:
        self.current_function, self.current_probe = None, dp
        try:
            self.stmt(dp.body)
            self.current_function, self.current_probe = None, None
            if dp.condition is not None:
                self.expr(dp.condition)
        except SemanticError as e:
            self.s.errors.error(e)
        finally:
            self.current_function, self.current_probe = None, None

    def function(self, fd: ir.FunctionDef) -> None:
        self.current_function, self.current_probe = fd, None
        try:
            if fd.body is not None:
                self.stmt(fd.body)
        except SemanticError as e:
            self.s.errors.error(e)
        finally:
            self.current_function = None

    def where(self, node: ir.Node) -> Where:
        return self.s.locator.of(node)

    # ------------------------------------------------------------ lookup
    def find_var(self, name: str, arity: int, where: Where) -> ir.VarDef | None:
        scope = self.current_function or self.current_probe
        if scope is not None:
            for v in scope.locals:
                if v.name == name:
                    set_arity(v, arity, where)
                    return v
        if arity == 0 and self.current_function is not None:
            for p in self.current_function.params:
                if p.name == name:
                    return p
        return self.s.find_global(name, arity, where)

    # ------------------------------------------------------------ statements
    def stmt(self, st: ir.Stmt | None) -> None:
        if st is None:
            return
        if isinstance(st, ir.Block):
            for sub in st.statements:
                try:
                    self.stmt(sub)
                except SemanticError as e:
                    self.s.errors.error(e)
        elif isinstance(st, ir.ExprStmt):
            self.expr(st.expr)
        elif isinstance(st, ir.If):
            self.expr(st.cond)
            self.stmt(st.then)
            self.stmt(st.else_)
        elif isinstance(st, ir.For):
            if st.init is not None:
                self.expr(st.init)
            self.expr(st.cond)
            if st.step is not None:
                self.expr(st.step)
            self.stmt(st.body)
        elif isinstance(st, ir.Foreach):
            self.foreach(st)
        elif isinstance(st, ir.Return):
            if st.value is not None:
                self.expr(st.value)
        elif isinstance(st, ir.Delete):
            self.delete(st.value)
        elif isinstance(st, ir.Try):
            self.stmt(st.body)
            if st.catch_var is not None:
                self.expr(st.catch_var)
            self.stmt(st.catch_body)
        elif isinstance(st, ir.EmbeddedCode):
            self.pragmas(st.code, st)

    def foreach(self, st: ir.Foreach) -> None:
        for k in st.indexes:
            self.expr(k)
        for x in st.slice:
            if x is not None:
                self.expr(x)
        base = st.base
        if isinstance(base, ir.Sym):
            if base.referent is None:
                d = self.find_var(base.name, len(st.indexes), self.where(base))
                if d is None:
                    raise SemanticError("sem.unresolved-array",
                                        f"unresolved arity-{len(st.indexes)} global array {base.name}, "
                                        "missing global declaration?", self.where(base))
                base.referent = d
            if st.slice and len(st.slice) != len(st.indexes):
                raise SemanticError("sem.unresolved-array",
                                    f"unresolved arity-{len(st.slice)} global array {base.name}, "
                                    "missing global declaration?", self.where(base))
        else:
            self.expr(base)
        if st.value is not None:
            self.expr(st.value)
        if st.limit is not None:
            self.expr(st.limit)
        self.stmt(st.body)

    def delete(self, e: ir.Expr) -> None:
        if isinstance(e, ir.ArrayIndex):
            self.array_index(e, wildcard_ok=True)
        elif isinstance(e, ir.Sym):
            if e.referent is None:
                d = self.find_var(e.name, -1, self.where(e))
                if d is None:
                    raise SemanticError("sem.unresolved-array", "unresolved array in delete statement",
                                        self.where(e))
                e.referent = d
        else:
            self.expr(e)

    def pragmas(self, code: str, node: ir.EmbeddedCode | ir.EmbeddedExpr) -> None:
        if node.reads or node.writes or "pragma:" not in code:
            return
        for kind, name in _PRAGMA.findall(code):
            v = self.find_var(name, -1, self.where(node))
            if v is None:
                raise SemanticError("sem.pragma", f"unresolved pragma:{kind} global {name}", self.where(node))
            (node.reads if kind == "read" else node.writes).append(v)

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> None:
        if isinstance(e, ir.Sym):
            self.symbol(e)
        elif isinstance(e, ir.ArrayIndex):
            self.array_index(e, wildcard_ok=False)
        elif isinstance(e, ir.InArray):
            self.array_index(e.index, wildcard_ok=True)
        elif isinstance(e, ir.Call):
            self.call(e)
        elif isinstance(e, ir.EmbeddedExpr):
            self.pragmas(e.code, e)
        else:
            for child in ir.expr_children(e):
                self.expr(child)

    def symbol(self, e: ir.Sym) -> None:
        if e.referent is not None:
            return
        where = self.where(e)
        d = self.find_var(e.name, 0, where)
        if d is not None:
            e.referent = d
            return
        scope = self.current_function or self.current_probe
        if scope is None:
            raise SemanticError("sem.condition", "probe condition must not reference undeclared global", where)
        v = ir.VarDef(e.name, "local", e.src, e.span.file)
        set_arity(v, 0, where)
        scope.locals.append(v)
        e.referent = v

    def array_index(self, e: ir.ArrayIndex, wildcard_ok: bool) -> None:
        for i in e.indexes:
            if i is None:
                if not wildcard_ok:
                    raise SemanticError("sem.wildcard", "wildcard not allowed in array index", self.where(e))
            else:
                self.expr(i)
        base = e.base
        if isinstance(base, ir.Sym):
            if base.referent is not None:
                return
            d = self.find_var(base.name, len(e.indexes), self.where(base))
            if d is None:
                raise SemanticError("sem.unresolved-array",
                                    f"unresolved arity-{len(e.indexes)} global array {base.name}, "
                                    "missing global declaration?", self.where(e))
            base.referent = d
        else:
            self.expr(base)

    def call(self, e: ir.Call) -> None:
        where = self.where(e)
        if self.current_function is None and self.current_probe is None:
            raise SemanticError("sem.condition", "probe condition must not reference function", where)
        for a in e.args:
            self.expr(a)
        if e.referents:
            return
        privileged = self.s.is_privileged_file(e.span.file)
        fds = self.s.find_functions(e.name, len(e.args), where, privileged)
        if not fds:
            # stap suggests the library's functions and those already resolved; the editor's fixes
            # also offer the script's own functions not called yet
            sugs = levenshtein_suggest(e.name, self.s.all_function_names(), 5)
            everything = levenshtein_suggest(e.name, self.s.all_function_names(True), 5)
            fixes = did_you_mean(SemanticError("sem.unresolved-function", f"(similar: {everything})", where))
            raise SemanticError("sem.unresolved-function",
                                f"unresolved function {e.name}" + (f" (similar: {sugs})" if sugs else ""), where,
                                fixes=fixes)
        fds.sort(key=lambda f: f.priority)
        e.referents = fds
