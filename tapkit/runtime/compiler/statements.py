"""Statements, probe handlers and script functions as Python functions, with stap's action accounting.

MAXACTION is counted exactly where the translator counts it (translate.cxx record_actions): actions
pile up at compile time and are charged at the end of each basic block (after an if branch, a loop
body, a break/continue/next/return, a try or catch block) or whenever ten have piled up; the charge
names the token of the statement that triggered it. A handler or function whose statement count is
finite instead gets one `actionremaining < N` check on entry and no charges at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from tapkit.runtime.compiler.analysis import INFINITE, statement_count
from tapkit.runtime.compiler.emitter import Lines
from tapkit.runtime.compiler.expressions import ExprCompiler
from tapkit.runtime.compiler.targets import TargetCompiler
from tapkit.runtime.compiler.unit import CompileError, CompileUnit
from tapkit.semantic import ir


@dataclass(eq=False)
class Loop:
    step: str | None  # a for loop's increment, re-emitted before each `continue`


def default_value(v: ir.VarDef) -> str:
    return '""' if v.type == ir.STRING else "0"


class BodyCompiler(ExprCompiler):
    """One probe handler or one function: its lines, locals and the pending action count."""

    def __init__(self, unit: CompileUnit, targets: TargetCompiler) -> None:
        super().__init__(unit, targets)
        self.lines = Lines(1)
        self.loops: list[Loop] = []
        self.temp_count = 0

    def temp(self, stem: str) -> str:
        self.temp_count += 1
        return f"_{stem}{self.temp_count}"

    # ---- actions ----

    def record(self, n: int, node: ir.Node | None, update: bool = False) -> None:
        """translate.cxx record_actions(n, tok, update)."""
        self.pending += n
        if self.accounting and ((update and self.pending > 0) or self.pending >= 10):
            where = self.unit.near(node) if node is not None else "None"
            self.lines.add(f"ctx.actionremaining -= {self.pending}")
            self.lines.add(f"if ctx.actionremaining <= 0: raise _ActionLimit({where})")
            self.pending = 0

    # ---- statements ----

    def stmt(self, s: ir.Stmt | None) -> None:
        if s is None:
            return
        method = getattr(self, f"_s_{type(s).__name__}", None)
        if method is None:
            raise CompileError(f"tapkit cannot run this statement ({type(s).__name__})", s.span)
        method(s)

    def _s_Block(self, s: ir.Block) -> None:
        for sub in s.statements:
            self.stmt(sub)

    def _s_NullStmt(self, s: ir.NullStmt) -> None:
        pass

    def _s_ExprStmt(self, s: ir.ExprStmt) -> None:
        self.lines.add(self.effect(s.expr))
        self.record(1, s)

    def effect(self, e: ir.Expr) -> str:
        """An expression evaluated for its effects only."""
        if isinstance(e, ir.Assign):
            return self.assign(e, want_value=False)
        if isinstance(e, ir.Crement):
            return self.crement(e, want_value=False)
        if isinstance(e, ir.Print):
            return self.print_(e, want_value=False)
        return self.expr(e)

    def _s_If(self, s: ir.If) -> None:
        self.record(1, s, True)
        self.lines.add(f"if {self.cond(s.cond)}:")
        with self.lines.indented():
            self.stmt(s.then)
            if s.then is not None:
                self.record(0, s.then, True)
        if s.else_ is not None:
            self.lines.add("else:")
            with self.lines.indented():
                self.stmt(s.else_)
                self.record(0, s.else_, True)

    def _s_For(self, s: ir.For) -> None:
        if s.init is not None:  # init and step are expression statements in stap: one action each
            self.lines.add(self.effect(s.init))
            self.record(1, s)
        self.record(1, s, True)
        step = self.effect(s.step) if s.step is not None else None
        self.lines.add("while True:")
        with self.lines.indented():
            self.record(1, s)
            self.lines.add(f"if not {self.cond(s.cond)}: break")
            self.loops.append(Loop(step))
            self.stmt(s.body)
            self.loops.pop()
            self.record(0, _body_token(s), True)
            if step is not None:
                self.lines.add(step)
                self.record(1, s)  # charged at the next flush after the loop, as in the translator

    def _s_Foreach(self, s: ir.Foreach) -> None:
        base = s.base
        limit = self.expr(s.limit) if s.limit is not None else None
        if isinstance(base, ir.HistOp):
            self.foreach_hist(s, base, limit)
            return
        name, _array = self.array_of(base)
        pattern = None
        if s.slice:
            pattern = "(" + ", ".join("None" if x is None else self.stored(x) for x in s.slice) + ",)"
        column = None if not s.sort_direction else s.sort_column
        aggregate = s.sort_aggregate or "count"
        keys = self.temp("keys")
        self.lines.add(f"{keys} = {name}.foreach_keys({column!r}, {s.sort_direction < 0!r}, {limit or 'None'}, "
                       f"{pattern or 'None'}, {aggregate!r})")
        self.record(1, s, True)
        key = self.temp("k")
        self.lines.add(f"for {key} in {keys}:")
        with self.lines.indented():
            self.record(1, s)
            targets = [self.store_name(k.referent) for k in s.indexes if k.referent is not None]
            if len(targets) == 1:
                self.lines.add(f"{targets[0]} = {key}")
            elif targets:
                self.lines.add(f"{', '.join(targets)} = {key}")
            if s.value is not None and s.value.referent is not None:
                self.lines.add(f"{self.store_name(s.value.referent)} = {name}.get({key})")
            self.loops.append(Loop(None))
            self.stmt(s.body)
            self.loops.pop()
            self.record(0, _body_token(s), True)

    def foreach_hist(self, s: ir.Foreach, base: ir.HistOp, limit: str | None) -> None:
        stat = self.stat_value(base.stat)
        bucket = self.store_name(s.indexes[0].referent) if s.indexes and s.indexes[0].referent else self.temp("b")
        count = self.temp("n")
        counter = None
        if limit is not None:
            counter, bound = self.temp("seen"), self.temp("limit")
            self.lines.add(f"{counter} = 0")
            self.lines.add(f"{bound} = {limit}")
        self.record(1, s, True)
        self.lines.add(f"for {bucket}, {count} in enumerate(_hist_buckets({stat})):")
        with self.lines.indented():
            if counter is not None:
                self.lines.add(f"if {counter} >= {bound}: break")
                self.lines.add(f"{counter} += 1")
            if s.value is not None and s.value.referent is not None:
                self.lines.add(f"{self.store_name(s.value.referent)} = {count}")
            self.loops.append(Loop(None))
            self.stmt(s.body)
            self.loops.pop()
            self.record(1, _body_token(s), True)

    def _s_Break(self, s: ir.Break) -> None:
        self.record(1, s, True)
        self.lines.add("break")

    def _s_Continue(self, s: ir.Continue) -> None:
        self.record(1, s, True)
        if self.loops and self.loops[-1].step is not None:
            self.lines.add(self.loops[-1].step)
        self.lines.add("continue")

    def _s_Next(self, s: ir.Next) -> None:
        self.record(1, s, True)
        if self.function is not None:
            self.lines.add("raise _NextOverload")
        else:
            self.lines.add("return")

    def _s_Return(self, s: ir.Return) -> None:
        if self.function is None:
            raise CompileError("cannot 'return' from probe", s.span)
        value = self.stored(s.value) if s.value is not None else "0"
        before = len(self.lines.lines)
        self.record(1, s, True)
        if len(self.lines.lines) != before and s.value is not None:
            # the charge comes after the value is computed, as in the translator
            charged = self.lines.lines[before:]
            del self.lines.lines[before:]
            result = self.temp("r")
            self.lines.add(f"{result} = {value}")
            self.lines.lines.extend(charged)
            value = result
        self.lines.add(f"return {value}")

    def _s_Delete(self, s: ir.Delete) -> None:
        value = s.value
        if isinstance(value, ir.ArrayIndex):
            name, _ = self.array_of(value.base)
            if any(i is None for i in value.indexes):
                key = self.key(value.indexes)
                self.lines.add(f"{name}.delete_slice({key}{',' if len(value.indexes) == 1 else ''})")
            else:
                self.lines.add(f"{name}.delete({self.key(value.indexes)})")
        elif isinstance(value, ir.Sym) and value.referent is not None:
            v = value.referent
            if v.arity > 0 or v.type == ir.STATS:
                self.lines.add(f"{self.var_name(v)}.clear()")
            else:
                self.lines.add(f"{self.store_name(v)} = {default_value(v)}")
        else:
            raise CompileError("invalid operand of delete", value.span)
        self.record(1, s)

    def _s_Try(self, s: ir.Try) -> None:
        self.record(0, s, True)
        err = self.temp("e")
        self.lines.add("try:")
        with self.lines.indented():
            self.stmt(s.body)
            if s.body is not None:
                self.record(0, s.body, True)
        self.lines.add(f"except StapError as {err}:")
        with self.lines.indented():
            self.lines.add(f"if ctx.actionremaining <= 0 or _uncatchable({err}): raise")
            if s.catch_var is not None and s.catch_var.referent is not None:
                self.lines.add(f"{self.store_name(s.catch_var.referent)} = {err}.message")
            self.record(1, s, True)
            self.stmt(s.catch_body)
            if s.catch_body is not None:
                self.record(0, s.catch_body, True)

    def _s_EmbeddedCode(self, s: ir.EmbeddedCode) -> None:
        raise CompileError("embedded C code: tapkit has no C compiler in the loop (use --engine stap)", s.span)

    # ---- whole bodies ----

    def locals_init(self, variables: list[ir.VarDef], skip: frozenset[int] | set[int] = frozenset()) -> None:
        for v in variables:
            if id(v) in skip or v.synthetic:
                continue
            self.lines.add(f"{self.local_name(v)} = {default_value(v)}")

    def action_check(self, body: ir.Stmt | None, where: str) -> None:
        count = statement_count(body)
        if count != INFINITE:
            self.lines.add(f"if ctx.actionremaining < {count}: raise _ActionLimit({where})")
            self.accounting = False

    def header(self, signature: str) -> Lines:
        out = Lines(0)
        out.add(signature)
        with out.indented():
            if self.assigned_globals:
                out.add("nonlocal " + ", ".join(sorted(self.assigned_globals)))
            out.extend(_dedent(self.lines))
        return out


def _body_token(s: ir.For | ir.Foreach) -> ir.Node:
    """The token a loop body's charge names: the body's, or the loop's when the optimizer emptied it."""
    return s.body if s.body is not None and not isinstance(s.body, ir.NullStmt) else s


def _dedent(lines: Lines) -> Lines:
    out = Lines(0)
    out.lines = [line[4:] if line.startswith("    ") else line for line in lines.lines]
    return out


def compile_probe(unit: CompileUnit, targets: TargetCompiler, name: str, body: ir.Stmt,
                  local_vars: list[ir.VarDef]) -> Lines:
    """`def probe_N(ctx):` for one derived probe's body."""
    c = BodyCompiler(unit, targets)
    c.locals_init(local_vars)
    c.action_check(body, "None")
    c.stmt(body)
    c.record(0, body, True)
    return c.header(f"def {name}(ctx):")


def compile_function(unit: CompileUnit, targets: TargetCompiler, fd: ir.FunctionDef) -> Lines:
    c = BodyCompiler(unit, targets)
    c.function = fd
    params = [c.local_name(p) for p in fd.params]
    decl = unit.decl_token(fd)
    nesting = unit.recursive_nesting
    if nesting is not None:
        c.lines.add(f"if ctx.nesting + 1 >= {nesting}: raise StapError('MAXNESTING exceeded', {decl})")
        c.lines.add("ctx.nesting += 1")
        c.lines.add("try:")
        c.lines.level += 1
    c.locals_init(fd.locals, {id(p) for p in fd.params})
    c.action_check(fd.body, decl)
    c.stmt(fd.body)
    if fd.body is not None:
        c.record(0, fd.body, True)
    c.lines.add("return " + ('""' if fd.type == ir.STRING else "0"))
    if nesting is not None:
        c.lines.level -= 1
        c.lines.add("finally:")
        c.lines.add("    ctx.nesting -= 1")
    return c.header(f"def {unit.function_name(fd)}({', '.join(['ctx', *params])}):")
