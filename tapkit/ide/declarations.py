"""What a file declares, read from its pass-1 tree: functions, probe aliases, globals, macros.

The name-level view of one document (its outline, its own functions for signature help, the
workspace's symbols). The tapset library's declarations come from tapkit.semantic's index,
reshaped into these same types by tapkit.ide.library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from tapkit.diagnostics import Span
from tapkit.ide.docs import DocComment, parse_doc_comment
from tapkit.syntax import ast as A
from tapkit.syntax.probes import probe_point_text
from tapkit.syntax.tokens import lex
from tapkit.syntax.walk import walk


class ParamInfo(NamedTuple):
    name: str
    type: str | None  # "long", "string" or None when inferred


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    name: str
    params: tuple[ParamInfo, ...]
    return_type: str | None
    span: Span
    name_span: Span
    doc: DocComment | None = None
    private: bool = False
    embedded: bool = False  # body is %{ C %}

    @property
    def arity(self) -> int:
        return len(self.params)

    def param_labels(self) -> tuple[str, ...]:
        return tuple(f"{p.name}:{p.type}" if p.type else p.name for p in self.params)

    def signature(self) -> str:
        """As the tapset docs write it: `user_string_n:string (addr:long, n:long)`."""
        ret = f":{self.return_type}" if self.return_type else ""
        return f"{self.name}{ret} ({', '.join(self.param_labels())})"


@dataclass(frozen=True, slots=True)
class AliasInfo:
    name: str  # the alias's probe point, printed: `syscall.open.return`
    span: Span
    name_span: Span
    points: tuple[str, ...]  # what it expands to
    epilogue: bool
    doc: DocComment | None = None
    locals: tuple[str, ...] = ()  # names its bodies assign: what a probe on it can read
    source: tuple[int, int] | None = None  # a library alias: (file, item) in the TapsetLibrary, details unread


@dataclass(frozen=True, slots=True)
class GlobalInfo:
    name: str
    span: Span
    name_span: Span
    private: bool = False
    doc: DocComment | None = None


@dataclass(frozen=True, slots=True)
class MacroInfo:
    name: str
    params: tuple[str, ...]
    span: Span
    name_span: Span
    doc: DocComment | None = None

    def signature(self) -> str:
        return f"@{self.name}" + (f"({', '.join(self.params)})" if self.params else "")


@dataclass(frozen=True, slots=True)
class Declarations:
    """One file's declarations, in source order."""

    functions: tuple[FunctionInfo, ...] = ()
    aliases: tuple[AliasInfo, ...] = ()
    globals: tuple[GlobalInfo, ...] = ()
    macros: tuple[MacroInfo, ...] = ()


def _doc(c: A.Comment | None) -> DocComment | None:
    return parse_doc_comment(c.text) if c is not None else None


def declarations(file: A.File, macro_docs: Mapping[str, DocComment] | None = None) -> Declarations:
    functions: list[FunctionInfo] = []
    aliases: list[AliasInfo] = []
    globals_: list[GlobalInfo] = []
    for item in file.items:
        if isinstance(item, A.FunctionDecl):
            params = tuple(ParamInfo(p.name, p.type) for p in item.params)
            functions.append(FunctionInfo(item.name, params, item.return_type, item.span, item.name_span,
                                          _doc(item.doc), item.private, isinstance(item.body, A.EmbeddedCode)))
        elif isinstance(item, A.AliasDecl):
            points = tuple(probe_point_text(p) for p in item.points)
            doc = _doc(item.doc)
            bodies = [item.body] + ([item.body2] if item.body2 is not None else [])
            written = tuple(dict.fromkeys(v.name for b in bodies for v in assigned_vars(b)))
            for name in item.names:
                aliases.append(AliasInfo(probe_point_text(name), item.span, name.span, points, item.epilogue, doc,
                                         written))
        elif isinstance(item, A.GlobalDecl):
            doc = _doc(item.doc)
            for v in item.vars:
                globals_.append(GlobalInfo(v.name, v.span, v.name_span, item.private, doc))
    docs = macro_docs or {}
    macros = tuple(MacroInfo(m.name, m.params, m.span, m.name_span, docs.get(m.name)) for m in file.macros)
    return Declarations(tuple(functions), tuple(aliases), tuple(globals_), macros)


def assigned_vars(body: A.Node) -> list[A.Var]:
    """The plain names a body writes (assignments, ++/--, foreach variables, catch variables), first
    write of each name first: stap makes these locals unless a global of that name exists."""
    seen: dict[str, A.Var] = {}

    def add(var: A.Node | None) -> None:
        if isinstance(var, A.Var) and var.name not in seen:
            seen[var.name] = var

    for node in walk(body):
        if isinstance(node, A.Assignment):
            add(node.target)
        elif isinstance(node, A.Crement):
            add(node.operand)
        elif isinstance(node, A.ForeachLoop):
            add(node.value)
            for k in node.keys:
                add(k)
        elif isinstance(node, A.TryStatement):
            add(node.catch_var)
    return list(seen.values())


def macro_docs(text: str, filename: str) -> dict[str, DocComment]:
    """The doc comments written right before `@define`s (the .stpm files' `smacro` docs)."""
    lexed = lex(text, filename)
    docs: dict[str, DocComment] = {}
    tokens = lexed.tokens
    j = 0
    for c in lexed.comments:
        if not c.text.startswith("/**"):
            continue
        while j < len(tokens) and tokens[j].pos < c.end_pos:
            j += 1
        if j + 1 < len(tokens) and tokens[j].text == "@define":
            docs[tokens[j + 1].text] = parse_doc_comment(c.text)
    return docs
