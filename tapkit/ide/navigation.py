"""Signature help, and hover and definition from names alone (pass 1 and the library's declarations).

hover.py and references.py ask the semantic pass first (types, `$x` and `->` members, locals,
references); the name-level answers here are their fallback where it knows nothing more (macros,
probe aliases, built-in operators, and everything before the library has loaded).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from fnmatch import fnmatchcase

from tapkit.diagnostics import Span
from tapkit.ide.declarations import AliasInfo, FunctionInfo, MacroInfo
from tapkit.ide.docs import DocComment
from tapkit.ide.language import AT_OPERATORS, FAMILY_DOCS, PRINT_FUNCTIONS, Builtin
from tapkit.ide.line_index import Position
from tapkit.ide.workspace import Snapshot
from tapkit.syntax import ast as A
from tapkit.syntax.tokens import Token
from tapkit.syntax.walk import path_at

_BUILTINS = {b.name: b for b in (*PRINT_FUNCTIONS, *AT_OPERATORS)}


@dataclass(frozen=True, slots=True)
class Signature:
    label: str
    params: tuple[str, ...]  # each a substring of label
    documentation: str = ""  # markdown
    param_docs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SignatureHelp:
    signatures: tuple[Signature, ...]
    active_signature: int
    active_parameter: int


@dataclass(frozen=True, slots=True)
class Hover:
    markdown: str
    span: Span


# ---------------------------------------------------------------- lookups

def functions_named(snap: Snapshot, uri: str, name: str) -> list[FunctionInfo]:
    """The script's own functions of that name, else the library's (overloads by arity)."""
    own = [f for f in snap.declarations(uri).functions if f.name == name]
    return own or list(snap.library.functions.get(name, ()))


def aliases_named(snap: Snapshot, uri: str, name: str) -> list[AliasInfo]:
    """The script's aliases of that name, else the library's (with their expansion read from their file)."""
    own = [a for a in snap.declarations(uri).aliases if a.name == name]
    return own or [snap.library.expanded(a) for a in snap.library.aliases.get(name, ())]


def aliases_reached(snap: Snapshot, uri: str, points: list[str], limit: int = 200) -> list[AliasInfo]:
    """The aliases the probe points name (wildcards matched), followed through aliases of aliases:
    together, what a probe on those points gets defined."""
    own: dict[str, list[AliasInfo]] = {}
    for a in snap.declarations(uri).aliases:
        own.setdefault(a.name, []).append(a)
    library = snap.library.aliases

    def named(name: str) -> list[AliasInfo]:
        hits = own.get(name) or list(library.get(name, ()))
        if not hits and "*" in name:
            hits = [a for table in (own, library) for n, aliases in table.items() if fnmatchcase(n, name)
                    for a in aliases][:limit]
        return [snap.library.expanded(a) for a in hits]

    todo = [p.rstrip("?!") for p in points]
    found: dict[int, AliasInfo] = {}
    seen: set[str] = set()
    while todo and len(found) < limit:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for a in named(name):
            found[id(a)] = a
            todo.extend(p.rstrip("?!") for p in a.points)
    return list(found.values())


def macro_named(snap: Snapshot, uri: str, name: str) -> MacroInfo | None:
    own = next((m for m in snap.declarations(uri).macros if m.name == name), None)
    return own or snap.library.macros.get(name)


def _function_signature(f: FunctionInfo) -> Signature:
    docs = tuple((f.doc.param(p.name) or "") if f.doc else "" for p in f.params)
    return Signature(f.signature(), f.param_labels(), _doc(f.doc), docs)


def _builtin_signature(b: Builtin) -> Signature:
    return Signature(b.signature, b.params, b.doc)


def _doc(doc: DocComment | None) -> str:
    return doc.markdown() if doc is not None else ""


# ---------------------------------------------------------------- signature help

def signature_help(snap: Snapshot, uri: str, pos: Position) -> SignatureHelp | None:
    offset = snap.lines(uri).offset(pos)
    lexed = snap.lexed(uri)
    toks = lexed.tokens[:bisect_right(lexed.ends, offset)]
    depth, commas = 0, 0
    for j in range(len(toks) - 1, 0, -1):
        t = toks[j].type
        if t in ("RPAR", "RSQB", "RBRACE"):
            depth += 1
        elif t in ("LSQB", "LBRACE") and depth == 0:
            return None
        elif t in ("LPAR", "LSQB", "LBRACE"):
            depth -= 1
            if t == "LPAR" and depth < 0:
                return _signatures_for(snap, uri, toks[j - 1], commas)
        elif t == "COMMA" and depth == 0:
            commas += 1
        elif t == "SEMI" and depth == 0:
            return None
    return None


def _signatures_for(snap: Snapshot, uri: str, callee: Token, active: int) -> SignatureHelp | None:
    sigs: list[Signature]
    if callee.type == "IDENT":
        fs = sorted(functions_named(snap, uri, callee.text), key=lambda f: f.arity)
        sigs = [_function_signature(f) for f in fs]
        best = next((i for i, f in enumerate(fs) if f.arity > active), max(len(fs) - 1, 0))
    elif callee.text in _BUILTINS:
        sigs, best = [_builtin_signature(_BUILTINS[callee.text])], 0
    elif callee.type == "AT_OTHER":
        m = macro_named(snap, uri, callee.text[1:])
        if m is None or not m.params:
            return None
        sigs, best = [Signature(m.signature(), m.params, _doc(m.doc))], 0
    else:
        return None
    if not sigs:
        return None
    params = sigs[best].params
    if params and params[-1] == "...":
        active = min(active, len(params) - 1)
    return SignatureHelp(tuple(sigs), best, active)


# ---------------------------------------------------------------- hover and definition

@dataclass(frozen=True, slots=True)
class _Name:
    """What the name under the cursor is, as far as pass 1 can tell."""

    kind: str  # "function", "print", "alias", "macro", "operator", "global", "parameter"
    name: str
    span: Span
    arity: int | None = None
    definition: Span | None = None


def _name_at(snap: Snapshot, uri: str, pos: Position) -> _Name | None:
    file = snap.parse(uri).file
    for call in file.macro_calls:
        if call.span.contains(pos.line, pos.column):
            head = Span(call.span.file, call.span.line, call.span.column, call.span.line,
                        call.span.column + len(call.name) + 1)
            if head.contains(pos.line, pos.column):
                return _Name("macro", call.name, head, definition=call.definition)
    path = path_at(file, pos.line, pos.column)
    item = path[1] if len(path) > 1 else None
    for node in reversed(path):
        name_span = getattr(node, "name_span", None)
        in_name = isinstance(name_span, Span) and name_span.contains(pos.line, pos.column)
        if isinstance(node, A.FunctionCall) and in_name:
            return _Name("function", node.name, node.name_span, len(node.args))
        if isinstance(node, A.FunctionDecl) and in_name:
            return _Name("function", node.name, node.name_span, len(node.params))
        if isinstance(node, A.PrintCall) and in_name:
            return _Name("print", node.name, node.name_span)
        if isinstance(node, A.Component) and in_name:
            point = next((p for p in reversed(path) if isinstance(p, A.ProbePoint)), None)
            if point is None:
                return None
            names = []
            for c in point.components:
                if not isinstance(c, A.Component):
                    return None
                names.append(c.name)
                if c is node:
                    break
            return _Name("alias", ".".join(names), node.name_span)
        if isinstance(node, A.Var) and item is not None:
            if isinstance(item, A.FunctionDecl):
                p = next((p for p in item.params if p.name == node.name), None)
                if p is not None:
                    return _Name("parameter", node.name, node.span, definition=p.name_span)
            g = next((v for i in file.items if isinstance(i, A.GlobalDecl) for v in i.vars if v.name == node.name),
                     None)
            if g is not None:
                return _Name("global", node.name, node.span, definition=g.name_span)
            return None
    doc = snap.document(uri)
    offset = snap.lines(uri).offset(pos)
    lexed = snap.lexed(uri)
    k = bisect_right(lexed.ends, offset)
    tok = lexed.tokens[k] if k < len(lexed.tokens) and lexed.tokens[k].pos <= offset else None
    if tok is not None and tok.text in _BUILTINS and tok.type != "PRINTFN":
        return _Name("operator", tok.text, Span(doc.filename, tok.line, tok.column, tok.end_line, tok.end_column))
    return None


def name_hover(snap: Snapshot, uri: str, pos: Position) -> Hover | None:
    n = _name_at(snap, uri, pos)
    if n is None:
        return None
    parts: list[str] = []
    if n.kind == "function":
        fs = functions_named(snap, uri, n.name)
        exact = [f for f in fs if f.arity == n.arity] or fs
        for f in exact:
            parts.append(_code(f"function {f.signature()}") + ("\n\n" + _doc(f.doc) if f.doc else ""))
    elif n.kind in ("print", "operator"):
        b = _BUILTINS[n.name]
        parts.append(_code(b.signature) + "\n\n" + b.doc)
    elif n.kind == "alias":
        for a in aliases_named(snap, uri, n.name):
            text = _code(f"probe {a.name} {'+=' if a.epilogue else '='} {', '.join(a.points)}")
            if a.doc:
                text += "\n\n" + _doc(a.doc)
            reached = aliases_reached(snap, uri, [a.name])
            shown = list(dict.fromkeys(v for r in reached for v in r.locals if not v.startswith("_")))
            if shown:
                text += "\n\nDefines: " + ", ".join(f"`{v}`" for v in shown)
            parts.append(text)
        if not parts and n.name in FAMILY_DOCS:
            parts.append(f"`{n.name}`: {FAMILY_DOCS[n.name]}")
    elif n.kind == "macro":
        m = macro_named(snap, uri, n.name)
        if m is not None:
            parts.append(_code(f"@define {m.signature()[1:]}") + ("\n\n" + _doc(m.doc) if m.doc else ""))
    elif n.kind == "global":
        parts.append(_code(f"global {n.name}"))
    elif n.kind == "parameter":
        parts.append(_code(f"parameter {n.name}"))
    if not parts:
        return None
    return Hover("\n\n---\n\n".join(parts), n.span)


def name_definition(snap: Snapshot, uri: str, pos: Position) -> list[Span]:
    n = _name_at(snap, uri, pos)
    if n is None:
        return []
    if n.definition is not None:
        return [n.definition]
    if n.kind == "function":
        fs = functions_named(snap, uri, n.name)
        exact = [f for f in fs if f.arity == n.arity] or fs
        return [f.name_span for f in exact]
    if n.kind == "alias":
        return [a.name_span for a in aliases_named(snap, uri, n.name)]
    return []


def _code(text: str) -> str:
    return f"```stap\n{text}\n```"
