"""Outline of a document (probes, aliases, functions, globals, macros) and symbol search across
the open documents, the workspace's .stp/.stpm files and the tapset library."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum

from tapkit.diagnostics import Span
from tapkit.ide.declarations import Declarations, assigned_vars
from tapkit.ide.workspace import Snapshot, UnknownDocument, path_to_uri
from tapkit.syntax import ast as A
from tapkit.syntax.probes import probe_point_text

MAX_WORKSPACE_SYMBOLS = 500


class SymbolKind(Enum):
    PROBE = "probe"
    ALIAS = "alias"
    FUNCTION = "function"
    GLOBAL = "global"
    ARRAY = "array"  # a global declared with a size: `a[100]`
    MACRO = "macro"
    PARAMETER = "parameter"
    LOCAL = "local"
    EMBEDDED = "embedded"


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    kind: SymbolKind
    span: Span  # the whole declaration
    selection_span: Span  # its name
    detail: str = ""
    children: tuple[Symbol, ...] = ()
    container: str = ""  # for workspace symbols: where it lives


# ---------------------------------------------------------------- one document

def document_symbols(snap: Snapshot, uri: str) -> list[Symbol]:
    result = snap.parse(uri)
    file = result.file
    global_names = {v.name for item in file.items if isinstance(item, A.GlobalDecl) for v in item.vars}
    global_names |= set(snap.library.globals)
    symbols: list[Symbol] = []
    for item in file.items:
        symbols.extend(_item_symbols(item, global_names))
    for m in file.macros:
        if m.span.file == file.span.file:
            detail = f"@define {m.name}" + (f"({', '.join(m.params)})" if m.params else "")
            symbols.append(Symbol("@" + m.name, SymbolKind.MACRO, m.span, m.name_span, detail))
    symbols.sort(key=lambda s: (s.span.line, s.span.column))
    return symbols


def _points_text(points: Iterable[A.ProbePoint]) -> str:
    return ", ".join(probe_point_text(p) for p in points)


def _item_symbols(item: A.Node, global_names: set[str]) -> Iterator[Symbol]:
    if isinstance(item, A.ProbeDecl):
        name = _points_text(item.points)
        sel = item.points[0].span.to(item.points[-1].span) if item.points else item.span
        yield Symbol(name, SymbolKind.PROBE, item.span, sel, "probe", _locals(item.body, global_names, set()))
    elif isinstance(item, A.AliasDecl):
        name = _points_text(item.names)
        sel = item.names[0].span.to(item.names[-1].span)
        op = "+=" if item.epilogue else "="
        bodies = [item.body] + ([item.body2] if item.body2 is not None else [])
        children = tuple(s for b in bodies for s in _locals(b, global_names, set()))
        yield Symbol(name, SymbolKind.ALIAS, item.span, sel, f"{op} {_points_text(item.points)}", children)
    elif isinstance(item, A.FunctionDecl):
        params = tuple(Symbol(p.name, SymbolKind.PARAMETER, p.span, p.name_span, p.type or "") for p in item.params)
        names = {p.name for p in item.params}
        body_locals = _locals(item.body, global_names, names) if isinstance(item.body, A.Block) else ()
        ret = f":{item.return_type}" if item.return_type else ""
        detail = f"function{ret} ({', '.join(f'{p.name}:{p.type}' if p.type else p.name for p in item.params)})"
        if item.private:
            detail = "private " + detail
        yield Symbol(item.name, SymbolKind.FUNCTION, item.span, item.name_span, detail, params + body_locals)
    elif isinstance(item, A.GlobalDecl):
        for v in item.vars:
            kind = SymbolKind.ARRAY if v.size is not None else SymbolKind.GLOBAL
            detail = ("private " if item.private else "") + "global"
            yield Symbol(v.name, kind, v.span, v.name_span, detail)
    elif isinstance(item, A.EmbeddedCode):
        yield Symbol("%{ %}", SymbolKind.EMBEDDED, item.span, item.span.to(item.span), "embedded C")


def _locals(body: A.Node, global_names: set[str], params: set[str]) -> tuple[Symbol, ...]:
    """The body's locals as stap decides them syntactically (round two takes them from the semantic pass)."""
    return tuple(Symbol(v.name, SymbolKind.LOCAL, v.span, v.span, "local") for v in assigned_vars(body)
                 if v.name not in global_names and v.name not in params)


# ---------------------------------------------------------------- the workspace

def matches(query: str, name: str) -> int | None:
    """Rank of name for query (lower is better), None when it does not match: prefix, substring,
    then the query's letters in order (case-insensitive)."""
    if not query:
        return 3
    q, n = query.lower(), name.lower()
    if n.startswith(q):
        return 0
    if q in n:
        return 1
    it = iter(n)
    if all(c in it for c in q):
        return 2
    return None


def _decl_symbols(decls: Declarations, container: str) -> Iterator[Symbol]:
    for f in decls.functions:
        yield Symbol(f.name, SymbolKind.FUNCTION, f.span, f.name_span, f.signature(), container=container)
    for a in decls.aliases:
        yield Symbol(a.name, SymbolKind.ALIAS, a.span, a.name_span, "= " + ", ".join(a.points),
                     container=container)
    for g in decls.globals:
        yield Symbol(g.name, SymbolKind.GLOBAL, g.span, g.name_span, "global", container=container)
    for m in decls.macros:
        yield Symbol("@" + m.name, SymbolKind.MACRO, m.span, m.name_span, m.signature(), container=container)


def workspace_symbols(snap: Snapshot, query: str, limit: int = MAX_WORKSPACE_SYMBOLS) -> list[Symbol]:
    found: list[tuple[int, Symbol]] = []
    seen_files: set[str] = set()

    def consider(symbols: Iterable[Symbol]) -> None:
        for s in symbols:
            rank = matches(query, s.name)
            if rank is not None:
                found.append((rank, s))

    for uri, doc in snap.documents.items():
        seen_files.add(doc.filename)
        consider(_decl_symbols(snap.declarations(uri), doc.filename))
    for path in snap.workspace_files():
        if str(path) in seen_files:
            continue
        seen_files.add(str(path))
        try:
            decls = snap.declarations(path_to_uri(path))
        except UnknownDocument:
            continue
        consider(_decl_symbols(decls, str(path)))
    lib = snap.library
    for fs in lib.functions.values():
        consider(Symbol(f.name, SymbolKind.FUNCTION, f.span, f.name_span, f.signature(), container=f.span.file)
                 for f in fs if f.span.file not in seen_files)
    for aliases in lib.aliases.values():
        consider(Symbol(a.name, SymbolKind.ALIAS, a.span, a.name_span, "= " + ", ".join(a.points),
                        container=a.span.file) for a in aliases if a.span.file not in seen_files)
    consider(Symbol(g.name, SymbolKind.GLOBAL, g.span, g.name_span, "global", container=g.span.file)
             for g in lib.globals.values() if g.span.file not in seen_files)
    consider(Symbol("@" + m.name, SymbolKind.MACRO, m.span, m.name_span, m.signature(), container=m.span.file)
             for m in lib.macros.values() if m.span.file not in seen_files)
    found.sort(key=lambda rs: (rs[0], len(rs[1].name), rs[1].name, rs[1].span.file, rs[1].span.line))
    return [s for _, s in found[:limit]]
