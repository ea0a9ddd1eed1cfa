"""Completion by context: keywords and snippets, probe-point families and aliases, functions (the
script's, the tapset library's with signature and doc, the print family), `@` operators and macros,
`%( %)` condition names — and, through the semantic pass and debuginfo (completion_typed), members
after `->`, the probe's `$` variables, variables in scope with their types, @cast type and module
names, and probe-point arguments (functions of a module, module names, paths, tracepoints).

Until the tapset library has loaded, the names in scope are read from the document alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase

from tapkit.diagnostics import Span
from tapkit.ide import completion_typed as typed
from tapkit.ide.completion_items import Completion, CompletionKind, Completions
from tapkit.ide.cursor import Cursor, Spot, cursor_at
from tapkit.ide.declarations import AliasInfo, Declarations, FunctionInfo, assigned_vars
from tapkit.ide.language import (
    AT_OPERATORS,
    CONDITION_NAMES,
    FAMILY_DOCS,
    PRINT_FUNCTIONS,
    STATEMENT_KEYWORDS,
    STATEMENT_SNIPPETS,
    TARGET_SYMBOLS,
    TOP_LEVEL_KEYWORDS,
    TOP_LEVEL_SNIPPETS,
    Builtin,
    probe_families,
)
from tapkit.ide.library import LibraryView
from tapkit.ide.line_index import Position
from tapkit.ide.navigation import aliases_reached
from tapkit.ide.structure import Region
from tapkit.ide.symbols import matches
from tapkit.ide.workspace import Snapshot
from tapkit.syntax import ast as A
from tapkit.syntax.probes import expand_probe_point, probe_point_text

MAX_ITEMS = 1000
_GLOBAL_CONTINUES = frozenset({"GLOBAL", "PRIVATE", "COMMA", "EQUAL", "LSQB", "PERCENT", "MINUS"})


def complete(snap: Snapshot, uri: str, pos: Position) -> Completions:
    doc = snap.document(uri)
    index = snap.lines(uri)
    offset = index.offset(pos)
    cursor = cursor_at(doc.text, doc.filename, offset, snap.lexed(uri))
    if cursor.spot is Spot.STRING:
        found = typed.in_string(snap, uri, cursor, offset)
        if found is None:
            return Completions(Span(doc.filename, pos.line, pos.column, pos.line, pos.column), ())
        span, items, more = found
        typed_text = doc.text[index.offset(Position(span.line, span.column)):offset]
        return _ranked(typed_text, items, span, more)
    start = index.position(cursor.prefix_start)
    replace = Span(doc.filename, start.line, start.column, pos.line, pos.column)
    return _ranked(cursor.prefix, _candidates(snap, uri, cursor, pos, offset), replace, False)


def _ranked(prefix: str, items: Iterable[Completion], replace: Span, more: bool) -> Completions:
    """Items matching prefix, best first, each (label, kind) once."""
    ranked = []
    seen: set[tuple[str, CompletionKind]] = set()
    for item in items:
        key = (item.label, item.kind)
        if key in seen:
            continue
        rank = matches(prefix, item.filter_text or item.label)
        if rank is None:
            continue
        seen.add(key)
        ranked.append((rank, item.sort_key, item.label, item))
    ranked.sort(key=lambda r: r[:3])
    return Completions(replace, tuple(r[3] for r in ranked[:MAX_ITEMS]), more or len(ranked) > MAX_ITEMS)


def _candidates(snap: Snapshot, uri: str, cursor: Cursor, pos: Position, offset: int) -> Iterator[Completion]:
    if cursor.spot is not Spot.CODE:
        return  # comments and %{ %}
    prev = cursor.previous
    if prev is not None and prev.type == "ARROW":
        yield from typed.members(snap, uri, cursor, offset)
        return
    region = cursor.place.region
    if region is Region.GLOBAL and prev is not None and prev.type not in _GLOBAL_CONTINUES:
        region = Region.TOP  # the declaration is complete: what follows is a new item
    decls = snap.declarations(uri)
    if region is Region.PROBE_HEADER and not cursor.in_condition:
        if cursor.probe_path is not None:
            yield from _probe_points(snap, decls, cursor.probe_path)
        return
    if region is Region.CONDITION:
        yield from _builtins(CONDITION_NAMES, CompletionKind.CONSTANT, "0")
        if cursor.prefix.startswith("C"):
            for name in snap.target.kernel_config:
                yield Completion(name, CompletionKind.CONSTANT, "kernel config", sort_key="1")
        return
    if region is Region.TOP:
        yield from (Completion(k, CompletionKind.KEYWORD, sort_key="1") for k in TOP_LEVEL_KEYWORDS)
        yield from _builtins(TOP_LEVEL_SNIPPETS, CompletionKind.SNIPPET, "2")
        return
    if region is Region.FUNCTION_HEADER:
        if prev is not None and prev.type == "COLON":
            yield from (Completion(k, CompletionKind.TYPE, sort_key="0") for k in ("long", "string"))
        return
    if region in (Region.GLOBAL, Region.MACRO_HEADER):
        return  # naming something new
    yield from _expression(snap, uri, cursor, decls, pos, offset)


def _builtins(builtins: Iterable[Builtin], kind: CompletionKind, sort_key: str) -> Iterator[Completion]:
    for b in builtins:
        yield Completion(b.name, kind, b.signature, b.doc, b.snippet or None, bool(b.snippet), sort_key)


# ---------------------------------------------------------------- probe points

def _probe_points(snap: Snapshot, decls: Declarations, path: tuple[str, ...]) -> Iterator[Completion]:
    n = len(path)

    def fits(components: list[str]) -> bool:
        return len(components) > n and all(fnmatchcase(c, p) or fnmatchcase(p, c) for c, p in
                                           zip(components, path, strict=False))

    for family in probe_families():
        names = [c.name for c in family]
        if not fits(names):
            continue
        comp = family[n]
        whole = ".".join(c.name + (f"({c.arg})" if c.arg else "") for c in family[:n + 1])
        doc = FAMILY_DOCS.get(comp.name, "") if n == 0 else ""
        if comp.arg == "string":
            yield Completion(f'{comp.name}("…")', CompletionKind.PROBE, whole, doc, f'{comp.name}("$1")', True, "1",
                             comp.name)
        elif comp.arg == "number":
            yield Completion(f"{comp.name}(N)", CompletionKind.PROBE, whole, doc, f"{comp.name}($1)", True, "1",
                             comp.name)
        else:
            yield Completion(comp.name, CompletionKind.PROBE, whole, doc, sort_key="1")
    for alias in _all_aliases(snap, decls):
        parts = alias.name.split(".")
        if not fits(parts):
            continue
        label = parts[n]
        last = len(parts) == n + 1
        detail = alias.name if not last else "probe alias" + (f" = {', '.join(alias.points)}" if alias.points else "")
        internal = label.startswith("_")
        later = ("alias", alias.name) if last and alias.source is not None else ()  # its file is read on resolve
        yield Completion(label, CompletionKind.PROBE, detail, _alias_doc(alias) if last else "",
                         sort_key="9" if internal else "2", resolve=later)


def _all_aliases(snap: Snapshot, decls: Declarations) -> Iterator[AliasInfo]:
    yield from decls.aliases
    for aliases in snap.library.aliases.values():
        yield from aliases


def _alias_doc(alias: AliasInfo) -> str:
    parts = []
    if alias.doc is not None:
        parts.append(alias.doc.markdown())
    if alias.locals:
        parts.append("Defines: " + ", ".join(f"`{v}`" for v in alias.locals if not v.startswith("_")))
    return "\n\n".join(p for p in parts if p)


def resolve_completion(snap: Snapshot, uri: str, item: Completion) -> Completion:
    """item with the documentation that was left for later (a library alias: what its body defines)."""
    if item.resolve[:1] == ("alias",) and len(item.resolve) == 2:
        aliases = [snap.library.expanded(a) for a in snap.library.aliases.get(item.resolve[1], ())]
        if aliases:
            a = aliases[0]
            detail = "probe alias" + (f" = {', '.join(a.points)}" if a.points else "")
            # what a probe on it can read: its own body's variables and those of the aliases it expands to
            names = dict.fromkeys(v for b in (a, *aliases_reached(snap, uri, list(a.points))) for v in b.locals)
            return dataclasses.replace(item, detail=detail, resolve=(),
                                       documentation=_alias_doc(dataclasses.replace(a, locals=tuple(names))))
    return dataclasses.replace(item, resolve=())


# ---------------------------------------------------------------- statements and expressions

def _expression(snap: Snapshot, uri: str, cursor: Cursor, decls: Declarations, pos: Position,
                offset: int) -> Iterator[Completion]:
    prefix = cursor.prefix
    if prefix.startswith("$"):
        variables = typed.target_variables(snap, uri, cursor, offset)
        if variables is None:  # no probe known: what every DWARF probe offers
            yield from _builtins(TARGET_SYMBOLS, CompletionKind.VARIABLE, "1")
        else:
            yield from variables
        return
    if prefix.startswith("@"):
        yield from _builtins(AT_OPERATORS, CompletionKind.FUNCTION, "1")
        for m in decls.macros:
            yield Completion("@" + m.name, CompletionKind.MACRO, m.signature(), sort_key="0")
        for m in snap.library.macros.values():
            yield Completion("@" + m.name, CompletionKind.MACRO, m.signature(),
                             m.doc.markdown() if m.doc else "", sort_key="9" if m.name.startswith("_") else "2")
        if cursor.place.region is Region.MACRO_BODY:
            file = snap.parse(uri).file
            for d in file.macros:
                if d.span.contains(pos.line, pos.column):
                    for param in d.params:
                        yield Completion("@" + param, CompletionKind.PARAMETER, f"parameter of @{d.name}",
                                         sort_key="0")
        return
    scope = typed.in_scope(snap, uri, cursor, offset)
    file = snap.parse(uri).file
    if scope is None:
        yield from _in_scope(file, decls, pos)
    else:
        yield from scope
    # what the aliases define, by name: also where the probe cannot be resolved here (no debuginfo)
    yield from _alias_variables(snap, uri, file, decls, pos)
    yield from (Completion(k, CompletionKind.KEYWORD, sort_key="5") for k in STATEMENT_KEYWORDS)
    yield from _builtins(STATEMENT_SNIPPETS, CompletionKind.SNIPPET, "5")
    for b in PRINT_FUNCTIONS:
        yield Completion(b.name, CompletionKind.FUNCTION, b.signature, b.doc, b.snippet, True, "4")
    for f in decls.functions:
        yield _function(f, "3")
    yield from library_functions(snap.library)


_LIBRARY_ITEMS: list[tuple[LibraryView, tuple[Completion, ...]]] = []


def library_functions(library: LibraryView) -> tuple[Completion, ...]:
    """The library's functions as items, built once per loaded library (their docs cost the most)."""
    for lib, items in _LIBRARY_ITEMS:
        if lib is library:
            return items
    items = tuple(_function(f, "9" if name.startswith("_") else "4")
                  for name, overloads in library.functions.items() for f in overloads)
    _LIBRARY_ITEMS[:] = [(library, items)]
    return items


def _function(f: FunctionInfo, sort_key: str) -> Completion:
    doc = f.doc.markdown() if f.doc is not None else ""
    snippet = f"{f.name}(" + ", ".join(f"${{{i + 1}:{p.name}}}" for i, p in enumerate(f.params)) + ")"
    return Completion(f.name, CompletionKind.FUNCTION, f.signature(), doc, snippet, True, sort_key)


def _in_scope(file: A.File, decls: Declarations, pos: Position) -> Iterator[Completion]:
    """Before the library has loaded: locals and parameters of the enclosing probe or function, and the
    globals of the script."""
    item = _enclosing_item(file, pos)
    globals_ = {g.name for g in decls.globals}
    if item is not None:
        if isinstance(item, A.FunctionDecl):
            for p in item.params:
                yield Completion(p.name, CompletionKind.PARAMETER, p.type or "parameter", sort_key="0")
        for v in assigned_vars(item):
            if v.name not in globals_:
                yield Completion(v.name, CompletionKind.VARIABLE, "local", sort_key="0")
    for g in decls.globals:
        yield Completion(g.name, CompletionKind.GLOBAL, "global", sort_key="1")


def _alias_variables(snap: Snapshot, uri: str, file: A.File, decls: Declarations,
                     pos: Position) -> Iterator[Completion]:
    """The variables the probe aliases of the enclosing probe set, read from the aliases' bodies."""
    item = _enclosing_item(file, pos)
    if item is None:
        return
    globals_ = {g.name for g in decls.globals}
    names = [probe_point_text(p) for pp in _probe_points_of(item) for p in expand_probe_point(pp)]
    for alias in aliases_reached(snap, uri, names):
        for name in alias.locals:
            if not name.startswith("_") and name not in globals_:
                doc = (alias.doc.param(name) or "") if alias.doc else ""
                yield Completion(name, CompletionKind.VARIABLE, f"from probe {alias.name}", doc, sort_key="0")


def _enclosing_item(file: A.File, pos: Position) -> A.Node | None:
    """The item the cursor is in; in a half-typed one that did not parse to its end, the last item
    starting before the cursor."""
    best = None
    for item in file.items:
        if (item.span.line, item.span.column) <= (pos.line, pos.column):
            best = item
    return best


def _probe_points_of(item: A.Node) -> list[A.ProbePoint]:
    if isinstance(item, A.ProbeDecl):
        return list(item.points)
    if isinstance(item, A.AliasDecl):
        return list(item.points)
    if isinstance(item, A.ErrorItem):
        return [f for f in item.fragments if isinstance(f, A.ProbePoint)]
    return []
