"""Go to definition, find references and rename, from the semantic pass's symbols.

Definition reaches the script, the tapset library, and the C source a DWARF type, member or
function was declared in (when that file is on this machine). A script's functions and globals
are its own (a script is a whole program); those a workspace tapset defines are shared by every
workspace file, so their references and renames span the workspace. The tapset library is not
the user's to rename: renaming one of its symbols is refused with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from tapkit.diagnostics import Span
from tapkit.ide import ctypes
from tapkit.ide.formatting import TextEdit
from tapkit.ide.line_index import Position
from tapkit.ide.lookup import CFunction, CType, c_at, symbol_at
from tapkit.ide.lookup import references as symbol_references
from tapkit.ide.navigation import name_definition
from tapkit.ide.program import analysis, in_document
from tapkit.ide.workspace import DocumentKind, Snapshot, UnknownDocument, path_to_uri
from tapkit.semantic import queries as Q
from tapkit.semantic.editor import Symbol
from tapkit.syntax.tokens import KEYWORDS

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RenameError(ValueError):
    """Why a rename cannot be done (shown to the user as is)."""


def definition(snap: Snapshot, uri: str, pos: Position) -> list[Span]:
    c = c_at(snap, uri, pos)
    if isinstance(c, CType):
        found = ctypes.decl_span(c.decl)
        return [found] if found is not None else []
    if isinstance(c, CFunction):
        found = ctypes.decl_span(c.function.decl)
        return [found] if found is not None else []
    sym = symbol_at(snap, uri, pos)
    if sym is not None and sym.definition is not None and sym.kind != "macro":
        return [sym.definition]
    return name_definition(snap, uri, pos)


# ---------------------------------------------------------------- references

def _workspace_defined(snap: Snapshot, sym: Symbol) -> bool:
    """A function or global defined in a tapset file under the workspace roots (shared by its scripts)."""
    if sym.kind not in ("function", "global") or sym.definition is None:
        return False
    path = Path(sym.definition.file)
    if snap.kind_of(path) is not DocumentKind.TAPSET:
        return False
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return any(resolved.is_relative_to(r.resolve()) for r in snap.roots)


def _same(a: Symbol, b: Symbol) -> bool:
    da, db = a.definition, b.definition
    return a.kind == b.kind and a.name == b.name and da is not None and db is not None and \
        (da.file, da.line, da.column) == (db.file, db.line, db.column)


def _workspace_uris(snap: Snapshot) -> list[str]:
    uris = list(snap.documents)
    seen = {snap.documents[u].filename for u in uris}
    for path in snap.workspace_files():
        if str(path) not in seen and path.suffix == ".stp":
            uris.append(path_to_uri(path))
    return uris


def _references_in_workspace(snap: Snapshot, sym: Symbol, include_definition: bool) -> list[Span]:
    found: dict[tuple[str, int, int], Span] = {}
    for uri in _workspace_uris(snap):
        try:
            doc = snap.document(uri)
        except UnknownDocument:
            continue
        if doc.kind is DocumentKind.MACROS or sym.name not in doc.text:
            continue  # cannot name it: no analysis needed
        a = analysis(snap, uri)
        if a is None or a.model is None:
            continue
        for other in a.model.symbols:
            if _same(sym, other):
                for r in Q.references(a, other, include_definition):
                    if r.file != doc.filename or in_document(r, doc):
                        found.setdefault((r.file, r.line, r.column), r)
    return sorted(found.values(), key=lambda s: (s.file, s.line, s.column))


def references(snap: Snapshot, uri: str, pos: Position, include_definition: bool = True) -> list[Span]:
    """Every place the symbol at pos is named: in the analysed program, and for what a workspace tapset
    defines, in every workspace file."""
    sym = symbol_at(snap, uri, pos)
    if sym is None:
        return []
    if _workspace_defined(snap, sym):
        return _references_in_workspace(snap, sym, include_definition)
    return symbol_references(snap, uri, sym, include_definition)


# ---------------------------------------------------------------- rename

def prepare_rename(snap: Snapshot, uri: str, pos: Position) -> Span:
    """The name at pos that rename would change; RenameError when it cannot be renamed."""
    sym = _renameable(snap, uri, pos)
    doc = snap.document(uri)
    for r in sym.references:
        if r.file == doc.filename and r.contains(pos.line, pos.column):
            return r
    raise RenameError(f"'{sym.name}' cannot be renamed here")


def rename(snap: Snapshot, uri: str, pos: Position, new_name: str) -> list[TextEdit]:
    """The edits (spans name their files) that rename the symbol at pos to new_name everywhere it is used."""
    sym = _renameable(snap, uri, pos)
    if not _IDENTIFIER.fullmatch(new_name) or new_name in KEYWORDS:
        raise RenameError(f"'{new_name}' is not a valid name")
    if new_name == sym.name:
        return []
    _check_clash(snap, uri, pos, sym, new_name)
    spans = references(snap, uri, pos, include_definition=True)
    return [TextEdit(s, new_name) for s in spans]


def _renameable(snap: Snapshot, uri: str, pos: Position) -> Symbol:
    sym = symbol_at(snap, uri, pos)
    if sym is None:
        raise RenameError("no variable or function to rename here")
    if sym.kind == "macro":
        raise RenameError(f"'@{sym.name}' is a macro; tapkit renames variables and functions")
    if sym.library and not _workspace_defined(snap, sym):
        where = sym.definition.file if sym.definition is not None else "the tapset library"
        raise RenameError(f"'{sym.name}' is defined in the tapset library ({where}); "
                          "only what the workspace defines can be renamed")
    return sym


def _check_clash(snap: Snapshot, uri: str, pos: Position, sym: Symbol, new_name: str) -> None:
    a = analysis(snap, uri)
    if a is None or a.model is None:
        return
    doc = snap.document(uri)
    if sym.kind in ("local", "param"):
        scope = Q.scope_at(a, doc.filename, pos.line, pos.column)
        taken = [s for s in scope.locals if s.name == new_name] if scope is not None else []
    else:
        taken = [s for s in a.model.symbols if s.kind == sym.kind and s.name == new_name]
    taken += [s for s in a.model.symbols if s.kind == "global" and s.name == new_name and sym.kind != "function"]
    if taken:
        raise RenameError(f"'{new_name}' is already a {taken[0].kind} here")
