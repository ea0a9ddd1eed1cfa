"""Static facts about a program the translator computes before emitting code.

statement_count: stap's max_action_info. A probe or function whose statements can be counted
(no loops, no recursion; calls are followed into their callees) gets one check up front,
`if actionremaining < N`, and no per-statement accounting at all; an infinite count means
per-basic-block accounting (record_actions).

max_nesting: stap's MAXNESTING default, from its recursion_info visitor run over every function
body: 1 + the deepest chain of nested calls found, + 10 when some function can reach itself
(checked against `stap -p3`: f→f from a probe gives 13, f⇄g gives 14, g→f gives 2, none gives 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tapkit.semantic import ir

INFINITE = -1


def _add(count: int, n: int) -> int:
    return INFINITE if count == INFINITE or n == INFINITE else count + n


class StatementCounter:
    """max_action_info: statements a body can execute, following calls; INFINITE for loops/recursion."""

    def __init__(self) -> None:
        self._stack: list[ir.FunctionDef] = []

    def body(self, st: ir.Stmt | None) -> int:
        return self._stmt(st, 0)

    def _stmt(self, st: ir.Stmt | None, count: int) -> int:
        if st is None or count == INFINITE:
            return count
        if isinstance(st, ir.Block):
            for sub in st.statements:
                count = self._stmt(sub, count)
            return count
        if isinstance(st, ir.For | ir.Foreach):
            return INFINITE
        if isinstance(st, ir.ExprStmt):
            return self._exprs([st.expr], _add(count, 1))
        if isinstance(st, ir.If):
            count = self._exprs([st.cond], _add(count, 1))
            then = self._stmt(st.then, count)
            other = self._stmt(st.else_, count)
            if then == INFINITE or other == INFINITE:
                return INFINITE
            return max(then, other)
        if isinstance(st, ir.Return):
            count = _add(count, 1)
            return self._exprs([st.value] if st.value is not None else [], count)
        if isinstance(st, ir.Delete):
            return self._exprs([st.value], _add(count, 1))
        if isinstance(st, ir.NullStmt | ir.Next | ir.Break | ir.Continue):
            return _add(count, 1)
        if isinstance(st, ir.Try):
            count = self._stmt(st.body, count)
            return self._stmt(st.catch_body, count)
        return count  # embedded code: not counted

    def _exprs(self, exprs: Iterable[ir.Expr], count: int) -> int:
        for e in exprs:
            for node in ir.walk(e):
                if isinstance(node, ir.Call):
                    for fd in node.referents:
                        count = self._call(fd, count)
                        if count == INFINITE:
                            return count
        return count

    def _call(self, fd: ir.FunctionDef, count: int) -> int:
        if fd in self._stack:
            return INFINITE
        self._stack.append(fd)
        try:
            return self._stmt(fd.body, count)
        finally:
            self._stack.pop()


def statement_count(body: ir.Stmt | None) -> int:
    return StatementCounter().body(body)


@dataclass(frozen=True, slots=True)
class NestingInfo:
    deepest: int
    recursive: bool

    @property
    def maxnesting(self) -> int:
        return self.deepest + 1 + (10 if self.recursive else 0)


def nesting_info(functions: Iterable[ir.FunctionDef]) -> NestingInfo:
    deepest = 0
    recursive = False

    def visit(node: ir.Node, stack: list[ir.FunctionDef]) -> None:
        nonlocal deepest, recursive
        for n in ir.walk(node):
            if not isinstance(n, ir.Call):
                continue
            for fd in n.referents:
                depth = len(stack) + 1
                deepest = max(deepest, depth)
                if fd in stack:
                    recursive = True
                    continue
                if fd.body is not None:
                    stack.append(fd)
                    visit(fd.body, stack)
                    stack.pop()

    for fd in functions:
        if fd.body is not None:
            visit(fd.body, [])
    return NestingInfo(deepest, recursive)


def calls_of(node: ir.Node) -> list[ir.Call]:
    return [n for n in ir.walk(node) if isinstance(n, ir.Call)]
