"""Shared state and helpers of the grammar actions (see builder.py)."""

from __future__ import annotations

import re
from typing import Any

from tapkit.diagnostics import Span
from tapkit.syntax import ast as A
from tapkit.syntax.issues import Issue
from tapkit.syntax.tokens import Token

Child = Any  # a Token, a Node, a list, or None: whatever the reduced symbols carried


_PRAGMA_RE = re.compile(r"/\*\s*([a-z][a-z0-9_-]*)\s*\*/")
_ULLONG_MAX = 18446744073709551615


def parse_c_number(text: str) -> int | None:
    """strtoull(text, &end, 0) accepting the whole text; None if invalid or out of range."""
    t = text
    try:
        if len(t) > 1 and t[0] == "0" and t[1] in "xX":
            value = int(t[2:], 16) if len(t) > 2 else None
        elif t[0] == "0":
            value = int(t, 8)
        else:
            value = int(t, 10) if t.isdigit() else None
    except ValueError:
        return None
    if value is None or value > _ULLONG_MAX:
        return None
    return value



class BuilderBase:
    """Holds one file's build state: its name, privilege, issues found, and declared globals."""

    def __init__(self, file: str, privileged: bool) -> None:
        self.file = file
        self.privileged = privileged
        self.issues: list[Issue] = []
        self.globals: dict[str, bool] = {}  # name -> private
        self.items: list[A.Node] = []  # every completed top-level item, in order
        self.in_function = False  # set by the parser at each top-level item, as stap's parse context

    # -- helpers ------------------------------------------------------------
    def span(self, a: Child, b: Child) -> Span:
        if type(a) is Token:
            line, col = a.line, a.column
        else:
            s = a.span
            line, col = s.line, s.column
        if type(b) is Token:
            return Span(self.file, line, col, b.end_line, b.end_column)
        e = b.span
        return Span(self.file, line, col, e.end_line, e.end_column)

    def tspan(self, t: Token) -> Span:
        return Span(self.file, t.line, t.column, t.end_line, t.end_column)

    def issue(self, code: str, message: str, where: Token | A.Node | Span) -> None:
        if isinstance(where, Token):
            self.issues.append(Issue(code, message, where))
        elif isinstance(where, Span):
            self.issues.append(Issue(code, message, None, where))
        else:
            self.issues.append(Issue(code, message, None, where.span))

    # -- generic list shapes --------------------------------------------------
    def list_empty(self, s: list[Child]) -> list[Child]:
        return []

    def list_one(self, s: list[Child]) -> list[Child]:
        return [s[0]]

    def list_more(self, s: list[Child]) -> list[Child]:
        lst: list[Child] = s[0]
        lst.append(s[1])
        return lst

    def list_more_sep(self, s: list[Child]) -> list[Child]:
        lst: list[Child] = s[0]
        lst.append(s[2])
        return lst

    def list_prepend(self, s: list[Child]) -> list[Child]:
        rest: list[Child] = s[2]
        rest.insert(0, s[0])
        return rest

    def nothing(self, s: list[Child]) -> None:
        return None

    def second(self, s: list[Child]) -> Child:
        return s[1]


class MemberPretty:
    """`->name$` reduces to two components; target_components flattens it."""

    __slots__ = ("member", "pretty")

    def __init__(self, member: A.TargetMember, pretty: A.TargetPretty) -> None:
        self.member = member
        self.pretty = pretty


def script_arg(sp: Span, text: str) -> A.ScriptArg:
    return A.ScriptArg(sp, text, None if text[1] == "#" else int(text[1:]), text[0] == "@")


def literal_text(node: A.Node) -> str:
    return node.value if type(node) is A.StringLiteral else getattr(node, "text", "")


def literal_int(node: A.Node) -> int:
    return node.value if type(node) is A.NumberLiteral else 0


def flatten_components(comps: list[Any]) -> list[Any]:
    out: list[Any] = []
    for c in comps:
        if type(c) is MemberPretty:
            out.append(c.member)
            out.append(c.pretty)
        else:
            out.append(c)
    return out


