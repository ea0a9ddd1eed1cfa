"""Which variables code reads and writes, and whether it has side effects (stap's varuse visitor).

The optimizer elides what has no effect: an expression statement that writes nothing outside
its scope, an assignment to a never-read local, a probe left empty. Calls are followed into the
called functions (once each); printing, embedded C not marked `/* pure */` and assignments to
target variables count as side effects.
"""

from __future__ import annotations

from tapkit.semantic import ir


class VarUse:
    def __init__(self) -> None:
        self.read: set[ir.VarDef] = set()
        self.written: set[ir.VarDef] = set()
        self.used: set[ir.VarDef] = set()
        self.embedded_seen = False
        self.seen: set[ir.FunctionDef] = set()
        self.current_function: ir.FunctionDef | None = None
        self._lvalue: ir.Expr | None = None
        self._lrvalue: ir.Expr | None = None
        self._lvalue_read = False

    def side_effect_free(self) -> bool:
        return not self.written and not self.embedded_seen

    def side_effect_free_wrt(self, focal: set[ir.VarDef]) -> bool:
        return not self.embedded_seen and not (self.written & focal)

    def _active(self, e: ir.Expr) -> bool:
        return e is self._lvalue or e is self._lrvalue

    # ------------------------------------------------------------ traversal
    def stmt(self, st: ir.Stmt | None) -> None:
        if st is None:
            return
        if isinstance(st, ir.Block):
            for sub in st.statements:
                self.stmt(sub)
        elif isinstance(st, ir.ExprStmt):
            self.expr(st.expr)
        elif isinstance(st, ir.If):
            self._lvalue_read = True
            self.expr(st.cond)
            self._lvalue_read = False
            self.stmt(st.then)
            self.stmt(st.else_)
        elif isinstance(st, ir.For):
            if st.init is not None:
                self.expr(st.init)
            self._lvalue_read = True
            self.expr(st.cond)
            self._lvalue_read = False
            if st.step is not None:
                self.expr(st.step)
            self.stmt(st.body)
        elif isinstance(st, ir.Foreach):
            self.foreach(st)
        elif isinstance(st, ir.Return):
            self._lvalue_read = True
            if st.value is not None:
                self.expr(st.value)
            self._lvalue_read = False
        elif isinstance(st, ir.Delete):
            last = self._lrvalue
            self._lrvalue = st.value
            self._lvalue_read = True
            self.expr(st.value)
            self._lrvalue = last
            self._lvalue_read = False
        elif isinstance(st, ir.Try):
            self.stmt(st.body)
            if st.catch_var is not None and st.catch_var.referent is not None:
                self.written.add(st.catch_var.referent)
            self.stmt(st.catch_body)
        elif isinstance(st, ir.EmbeddedCode):
            self.read.update(st.reads)
            self.written.update(st.writes)
            if "/* pure */" not in st.code:
                self.embedded_seen = True

    def foreach(self, st: ir.Foreach) -> None:
        self.expr(st.base)
        if st.sort_direction and isinstance(st.base, ir.Sym) and st.base.referent is not None:
            self.written.add(st.base.referent)
        for k in st.indexes:
            last = self._lvalue
            self._lvalue = k
            self.expr(k)
            self._lvalue = last
        self._lvalue_read = True
        for x in st.slice:
            if x is not None:
                self.expr(x)
        self._lvalue_read = False
        if st.value is not None:
            last = self._lvalue
            self._lvalue = st.value
            self.expr(st.value)
            self._lvalue = last
        if st.limit is not None:
            self._lvalue_read = True
            self.expr(st.limit)
            self._lvalue_read = False
        self.stmt(st.body)

    def expr(self, e: ir.Expr) -> None:
        if isinstance(e, ir.Sym):
            self.symbol(e)
        elif isinstance(e, ir.Assign):
            if e.op in ("=", "<<<"):
                last, last_read = self._lvalue, self._lvalue_read
                self._lvalue, self._lvalue_read = e.left, True
                self.expr(e.left)
                self.expr(e.right)
                self._lvalue, self._lvalue_read = last, last_read
            else:
                last = self._lrvalue
                self._lrvalue = e.left
                self.expr(e.left)
                self.expr(e.right)
                self._lrvalue = last
        elif isinstance(e, ir.Crement):
            last = self._lrvalue
            self._lrvalue = e.operand
            self.expr(e.operand)
            self._lrvalue = last
        elif isinstance(e, ir.ArrayIndex):
            self.array_index(e)
        elif isinstance(e, ir.Call):
            last_read = self._lvalue_read
            self._lvalue_read = True
            for a in e.args:
                self.expr(a)
            self._lvalue_read = False
            self.enter(e)
            self._lvalue_read = last_read
        elif isinstance(e, ir.Print):
            last_read = self._lvalue_read
            self._lvalue_read = True
            if e.stream:
                self.embedded_seen = True
            for a in e.args:
                self.expr(a)
            if e.hist is not None:
                self.expr(e.hist)
            self._lvalue_read = last_read
        elif isinstance(e, ir.Ternary):
            last_read = self._lvalue_read
            self._lvalue_read = True
            self.expr(e.cond)
            self._lvalue_read = last_read
            self.expr(e.then)
            self.expr(e.else_)
        elif isinstance(e, ir.Target | ir.Deref | ir.Register):
            if self._active(e):
                self.embedded_seen = True
            for child in ir.expr_children(e):
                self.expr(child)
        elif isinstance(e, ir.EmbeddedExpr):
            self.read.update(e.reads)
            self.written.update(e.writes)
            if "/* pure */" not in e.code:
                self.embedded_seen = True
        else:
            for child in ir.expr_children(e):
                self.expr(child)

    def symbol(self, e: ir.Sym) -> None:
        v = e.referent
        if v is None:
            return
        if e is self._lvalue or e is self._lrvalue:
            self.written.add(v)
        if e is not self._lvalue or e is self._lrvalue:
            self.read.add(v)
        if e is self._lrvalue:
            if self._lvalue_read:
                self.used.add(v)
        elif e is not self._lvalue:
            self.used.add(v)

    def array_index(self, e: ir.ArrayIndex) -> None:
        old_read = self._lvalue_read
        self._lvalue_read = True
        for i in e.indexes:
            if i is not None:
                self.expr(i)
        self._lvalue_read = old_read
        last_lr, last_l = self._lrvalue, self._lvalue
        value = e.base if isinstance(e.base, ir.Sym) else e.base.stat
        if self._lrvalue is e:
            self._lrvalue = value
        if self._lvalue is e:
            self._lvalue = value
        self.expr(e.base)
        self._lrvalue, self._lvalue = last_lr, last_l

    def enter(self, e: ir.Call) -> None:
        for fd in e.referents:
            if fd in self.seen:  # its body adds the same whatever the call site (the lvalue state is reset)
                continue
            self.seen.add(fd)
            last = self.current_function
            self.current_function = fd
            saved = (self._lvalue, self._lrvalue, self._lvalue_read)
            self._lvalue, self._lrvalue, self._lvalue_read = None, None, False
            self.stmt(fd.body)
            self._lvalue, self._lrvalue, self._lvalue_read = saved
            self.current_function = last


def varuse_of(node: ir.Node) -> VarUse:
    vu = VarUse()
    if isinstance(node, ir.Expr):
        vu.expr(node)
    elif isinstance(node, ir.Stmt):
        vu.stmt(node)
    return vu


def reachable_functions(roots: list[ir.Node]) -> set[ir.FunctionDef]:
    """Functions called (transitively) from roots: stap's functioncall_traversing_visitor."""
    seen: set[ir.FunctionDef] = set()
    stack: list[ir.Node] = list(roots)
    while stack:
        n = stack.pop()
        for sub in ir.walk(n):
            if isinstance(sub, ir.Call):
                for fd in sub.referents:
                    if fd not in seen:
                        seen.add(fd)
                        if fd.body is not None:
                            stack.append(fd.body)
    return seen
