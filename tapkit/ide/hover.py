"""Hover: what the semantic pass and the debuginfo know about the thing under the cursor, else what its
name says (tapkit.ide.navigation).

- a C type (@cast's type, a `$variable`, a `->member`): its declaration and the struct's layout with
  offsets and sizes, as `tapkit ptype` prints it
- the function a probe point names: its C signature and where it is declared
- a script variable: its inferred type (an array's index types, the C type it holds)
- a function: signature and doc; a probe alias: its definition, what the probe expands to, and the
  variables the aliases define
"""

from __future__ import annotations

from pathlib import Path

from tapkit.diagnostics import Span
from tapkit.ide import ctypes
from tapkit.ide.docs import parse_doc_comment
from tapkit.ide.line_index import Position
from tapkit.ide.lookup import CFunction, CType, c_at, symbol_at, token_at
from tapkit.ide.navigation import Hover, name_hover
from tapkit.ide.program import analysis_near
from tapkit.ide.workspace import Snapshot
from tapkit.semantic import queries as Q
from tapkit.semantic.editor import Symbol
from tapkit.syntax import ast as A

MAX_EXPANSIONS = 12


def hover(snap: Snapshot, uri: str, pos: Position) -> Hover | None:
    hit = token_at(snap, uri, pos)
    if hit is not None and hit[1].type == "PRINTFN":  # the print family: builtins, what pass 1 says is all there is
        return name_hover(snap, uri, pos)  # (the probe's analysis has no symbol there; it cost up to ~60 ms)
    c = c_at(snap, uri, pos)
    if isinstance(c, CType):
        return Hover(_c_type(c), c.span)
    if isinstance(c, CFunction):
        text = _code(ctypes.function_signature(c.info, c.function), "c")
        if c.function.decl is not None:
            text += f"\n\n{c.info.module}: `{c.function.decl}`"
        return Hover(text, c.span)
    sym = symbol_at(snap, uri, pos)
    if sym is not None and sym.kind in ("local", "param", "global", "function"):
        span = next((r for r in sym.references if r.file == snap.document(uri).filename
                     and r.contains(pos.line, pos.column)), None)
        if span is None:
            span = Span(snap.document(uri).filename, pos.line, pos.column, pos.line, pos.column + 1)
        return Hover(_symbol(sym), span)
    found = name_hover(snap, uri, pos)
    expansion = _expansion(snap, uri, pos)
    if found is not None and expansion:
        return Hover(found.markdown + "\n\n" + expansion, found.span)
    return found


def _code(text: str, lang: str = "stap") -> str:
    return f"```{lang}\n{text}\n```"


def _type_text(t: str, index_types: tuple[str, ...]) -> str:
    return f"[{', '.join(index_types)}] {t}" if index_types else t


def _symbol(sym: Symbol) -> str:
    if sym.kind == "function":
        signature = sym.detail or sym.name
        head, paren, rest = signature.partition("(")
        text = _code(f"function {head.rstrip()} {paren}{rest}" if paren else f"function {signature}")
        if sym.doc:
            text += "\n\n" + parse_doc_comment(sym.doc).markdown()
        if sym.library and sym.definition is not None:
            text += f"\n\n*{Path(sym.definition.file).name}*"
        return text
    word = {"local": "local", "param": "parameter", "global": "global"}[sym.kind]
    text = _code(f"{word} {sym.name}: {_type_text(sym.type, sym.index_types)}")
    if sym.target is not None and sym.target.info is not None:
        text += f"\n\nholds a `{sym.target.spelled()}`"
    if sym.library and sym.definition is not None:
        text += f"\n\ndefined in *{Path(sym.definition.file).name}*"
    return text


def _c_type(c: CType) -> str:
    info = c.info
    spelled = info.spell(c.type)
    if c.member is not None:
        m = c.member
        where = f"offset {m.offset}, size {m.size}"
        if m.bit_size is not None:
            where = f"offset {m.offset}, bit {m.bit_offset}, {m.bit_size} bits"
        text = _code(f"{info.spell(c.type, m.name)};  /* {where} */", "c") + f"\n\nmember of `{c.container}`"
    elif c.label.startswith("$"):
        text = _code(info.spell(c.type, c.label[1:]), "c") + (f"\n\n{c.origin}" if c.origin else "")
    else:
        text = _code(spelled, "c")
    if c.decl is not None:
        text += f"\n\n{info.module}: `{c.decl}`"
    layout = ctypes.layout(info, c.type)
    if layout is not None:
        text += "\n\n" + _code(layout, "c")
    return text


def _expansion(snap: Snapshot, uri: str, pos: Position) -> str:
    """On a probe's point: the concrete points the semantic pass derived from it and the variables the
    aliases on the way define."""
    a = analysis_near(snap, uri, snap.lines(uri).offset(pos))
    if a is None or a.session is None or a.model is None:
        return ""
    doc = snap.document(uri)
    path = Q.node_at(a, doc.filename, pos.line, pos.column)
    decl = next((n for n in path if isinstance(n, A.ProbeDecl)), None)
    if decl is None or not any(isinstance(n, A.ProbePoint) for n in path):
        return ""
    names: list[str] = []
    for dp in a.session.probes:
        if dp.decl is decl and dp.name() not in names:
            names.append(dp.name())
    if not names:
        return ""
    shown = ", ".join(f"`{n}`" for n in names[:MAX_EXPANSIONS])
    more = f" and {len(names) - MAX_EXPANSIONS} more" if len(names) > MAX_EXPANSIONS else ""
    text = f"Expands to: {shown}{more}"
    scope = Q.scope_at(a, doc.filename, pos.line, pos.column)
    if scope is not None:
        defined = [s for s in scope.locals if s.definition is not None and s.definition.file != doc.filename
                   and not s.name.startswith("_")]
        if defined:
            text += "\n\nVariables: " + ", ".join(f"`{s.name}`: {s.type}" for s in defined)
    return text
