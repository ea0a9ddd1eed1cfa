"""Where stap points for a node: the token it keeps (the operator of `a + b`, the name of a call).

Syntax nodes span their whole text; stap's messages name one token ("operator '+' at f:1:9").
For operators the token is found in the source text right after the left operand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tapkit.diagnostics import Span
from tapkit.semantic import ir
from tapkit.semantic.errors import Where
from tapkit.syntax import ast as A


class Sources:
    """Source lines of the files analysed, read on demand (library files are only read when an error
    in them is reported)."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def add(self, path: str, text: str) -> None:
        self._lines[path] = text.split("\n")

    def lines(self, path: str) -> list[str]:
        found = self._lines.get(path)
        if found is None:
            try:
                text = Path(path).read_bytes().decode("utf-8", "surrogateescape")
            except OSError:
                text = ""
            found = self._lines[path] = text.split("\n")
        return found

    def find_after(self, span: Span, text: str) -> Span | None:
        """The next occurrence of text after span's end, skipping blanks, comments and `)`."""
        lines = self.lines(span.file)
        line, col = span.end_line, span.end_column  # 1-based, exclusive end
        while 0 < line <= len(lines):
            s = lines[line - 1]
            i = col - 1
            while i < len(s):
                if s.startswith(text, i):
                    return Span(span.file, line, i + 1, line, i + 1 + len(text))
                ch = s[i]
                if ch in " \t\r)" or ch == "\f":
                    i += 1
                    continue
                if s.startswith("//", i) or ch == "#":
                    break
                if s.startswith("/*", i):
                    end = s.find("*/", i + 2)
                    if end < 0:
                        return None  # multi-line comments between operands: give up, use the node
                    i = end + 2
                    continue
                return None
            line, col = line + 1, 1
        return None


def _token(span: Span) -> Span:
    return Span(span.file, span.line, span.column, span.line, span.column + 1)


def _leftmost(e: ir.Expr) -> ir.Expr:
    """The subexpression that starts where e starts (whose token comes first in the source)."""
    for _ in range(256):
        start = (e.src.span.line, e.src.span.column)
        for child in ir.expr_children(e):
            if (child.src.span.line, child.src.span.column) == start and child is not e:
                e = child
                break
        else:
            return e
    return e


def literal_where(node: A.Node) -> Where:
    if isinstance(node, A.NumberLiteral):
        return Where(node.span, f"number '{node.text}'")
    if isinstance(node, A.StringLiteral):
        return Where(node.span, f"string '{node.value}'")
    if isinstance(node, A.ScriptArg):
        return Where(node.span, f"number '{node.text}'")
    return Where(node.span, None)


def name_where(name: str, span: Span) -> Where:
    return Where(span, f"identifier '{name}'")


def keyword_where(node: A.Node) -> Where:
    return Where(_token(node.span), "keyword")


class Locator:
    """Computes stap's token for IR nodes and syntax nodes.

    Nodes that came out of a macro expansion carry the call site's position; stap names the token
    inside the macro's body, so those are moved there (macro_calls gives each file's call sites).
    """

    def __init__(self, sources: Sources, macro_calls: Callable[[str], tuple[A.MacroCall, ...]] | None = None) -> None:
        self.sources = sources
        self.macro_calls = macro_calls
        self._calls: dict[str, dict[tuple[int, int], A.MacroCall]] = {}
        self._in_body: dict[tuple[Span, str], Span | None] = {}

    def of(self, node: ir.Node) -> Where:
        return self.in_macro(self._of(node))

    def in_macro(self, where: Where) -> Where:
        if self.macro_calls is None:
            return where
        calls = self._calls.get(where.span.file)
        if calls is None:
            calls = self._calls[where.span.file] = {(c.span.line, c.span.column): c
                                                    for c in self.macro_calls(where.span.file)}
        call = calls.get((where.span.line, where.span.column))
        if call is None or where.saw is None or "'" not in where.saw:
            return where
        text = where.saw.split("'", 1)[1].rsplit("'", 1)[0]
        key = (call.definition, text)
        if key in self._in_body:
            found = self._in_body[key]
        else:
            found = self._in_body[key] = self._find_in_body(call.definition, text)
        return Where(found, where.saw) if found is not None else where

    def _find_in_body(self, definition: Span, text: str) -> Span | None:
        """The first whole-token occurrence of text in the macro body after definition (`%( … %)`)."""
        lines = self.sources.lines(definition.file)
        line, col = definition.line, definition.end_column
        depth = 0
        word = text[:1].isalnum() or text[:1] in "_$@"
        pattern = re.compile(r"%\(|%\)|" + re.escape(text))
        while 0 < line <= len(lines):
            s = lines[line - 1]
            pos = col - 1
            while True:
                m = pattern.search(s, pos)
                if m is None:
                    break
                i, tok = m.start(), m.group()
                pos = i + 1
                if tok == "%(" and not text.startswith("%("):
                    depth += 1
                    pos = i + 2
                    continue
                if tok == "%)" and not text.startswith("%)"):
                    depth -= 1
                    if depth <= 0:
                        return None
                    pos = i + 2
                    continue
                if depth > 0:
                    before = s[i - 1] if i > 0 else " "
                    after = s[i + len(text)] if i + len(text) < len(s) else " "
                    if not word or ((not before.isalnum() and before != "_") and
                                    (not after.isalnum() and after != "_")):
                        return Span(definition.file, line, i + 1, line, i + 1 + len(text))
            line, col = line + 1, 1
        return None

    def operator(self, left: A.Node, op: str, fallback: A.Node) -> Where:
        found = self.sources.find_after(left.span, op)
        return Where(found or fallback.span, f"operator '{op}'")

    def _of(self, node: ir.Node) -> Where:
        src = node.src
        if isinstance(node, ir.Number | ir.String):
            return literal_where(src)
        if isinstance(node, ir.Sym):
            span = getattr(src, "name_span", None) or src.span
            return name_where(node.name, span)
        if isinstance(node, ir.ArrayIndex):
            if isinstance(node.base, ir.Sym):
                return self.of(node.base)
            return self.of(node.base)
        if isinstance(node, ir.Call | ir.Print):
            span = getattr(src, "name_span", src.span)
            return name_where(node.name, span)
        if isinstance(node, ir.Assign):
            assert isinstance(src, A.Assignment)
            return self.operator(src.target, node.op, src)
        if isinstance(node, ir.Binary):
            left = getattr(src, "left", None)
            if isinstance(src, A.Binary) and left is not None:
                return self.operator(left, node.op, src)
            return Where(src.span, f"operator '{node.op}'")
        if isinstance(node, ir.Regex):
            assert isinstance(src, A.RegexMatch)
            return self.operator(src.left, node.op, src)
        if isinstance(node, ir.Unary):
            return Where(_token(src.span), f"operator '{node.op}'")
        if isinstance(node, ir.Crement):
            if node.prefix:
                return Where(_token(src.span), f"operator '{node.op}'")
            assert isinstance(src, A.Crement)
            return self.operator(src.operand, node.op, src)
        if isinstance(node, ir.Ternary):
            assert isinstance(src, A.Ternary)
            return self.operator(src.cond, "?", src)
        if isinstance(node, ir.InArray):
            return Where(_token(src.span), "keyword")
        if isinstance(node, ir.StatOp):
            return Where(_token(src.span), f"operator '@{node.op}'")
        if isinstance(node, ir.HistOp):
            return Where(_token(src.span), f"operator '@hist_{node.kind.removeprefix('hist_')}'")
        if isinstance(node, ir.Target):
            return self.target(node)
        if isinstance(node, ir.Defined):
            return Where(_token(src.span), "operator '@defined'")
        if isinstance(node, ir.Entry):
            return Where(_token(src.span), "operator '@entry'")
        if isinstance(node, ir.Perf):
            return Where(_token(src.span), "operator '@perf'")
        if isinstance(node, ir.EmbeddedExpr | ir.EmbeddedCode):
            return Where(_token(src.span), "embedded-code")
        if isinstance(node, ir.Block):
            return Where(_token(src.span), "operator '{'")
        if isinstance(node, ir.ExprStmt):  # stap names a written statement by its first token
            if node.lead is None:
                return self.of(node.expr)
            lead = _leftmost(node.lead)
            if (src.span.line, src.span.column) < (lead.src.span.line, lead.src.span.column):
                return Where(_token(src.span), "operator '('")  # only a parenthesis comes before
            return self.of(lead)
        if isinstance(node, ir.NullStmt):
            return Where(_token(src.span), "operator ';'")
        return Where(_token(src.span), "keyword")

    def target(self, node: ir.Target) -> Where:
        src = node.src
        if node.kind == "var":
            span = getattr(src, "name_span", src.span)
            return Where(span, f"identifier '{node.name}'")
        if node.kind == "cast":
            start = src.span
            if node.addressof:
                found = self.sources.find_after(Span(start.file, start.line, start.column, start.line,
                                                     start.column + 1), "@cast")
                if found is not None:
                    return Where(found, "operator '@cast'")
            return Where(_token(start), "operator '@cast'")
        if node.kind == "atvar":
            return Where(_token(src.span), "operator '@var'")
        # an autocast is named by its first component
        if node.components:
            return self.component(node.components[0])
        return Where(src.span, None)

    def component(self, comp: ir.TargetComponent) -> Where:
        src = comp.src
        if comp.kind in ("member", "pretty"):
            where = Where(Span(src.span.file, src.span.line, src.span.column, src.span.line, src.span.column + 2),
                          "operator '->'" if comp.kind == "member" or src.span.end_column - src.span.column > 2
                          else f"identifier '{comp.name}'")
        else:
            where = Where(_token(src.span), "operator '['")
        return self.in_macro(where)
