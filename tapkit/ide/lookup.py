"""What the thing under the cursor is, as the semantic pass and the debuginfo see it: a script symbol
(local, parameter, global, function, macro), or something of the C side — a `$variable`, a `->member`,
@cast's type, the function a probe point names. Hover, definition, references and rename start here.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from tapkit.debuginfo import Debuginfo, DebuginfoError, Decl, Function, MemberInfo, UnknownName
from tapkit.diagnostics import Span
from tapkit.ide import ctypes
from tapkit.ide.completion_typed import cast_argument, point_components
from tapkit.ide.line_index import Position
from tapkit.ide.program import analysis, analysis_near, in_document
from tapkit.ide.structure import Region
from tapkit.ide.workspace import Snapshot
from tapkit.semantic import Analysis
from tapkit.semantic import queries as Q
from tapkit.semantic.editor import Symbol
from tapkit.syntax import ast as A
from tapkit.syntax.tokens import Token


@dataclass(frozen=True, slots=True)
class CType:
    """A C object or type under the cursor. type: the type of the thing (a variable's, a member's, the
    @cast type itself); member and container: for `->m`, the member and the type that has it."""

    span: Span
    label: str  # as written: "$adc", "->fid", "vcache"
    info: Debuginfo
    type: int
    decl: Decl | None = None
    member: MemberInfo | None = None
    container: str = ""  # the C type that has the member, spelled
    origin: str = ""  # where the variable comes from ("parameter of afs_PutDCache")


@dataclass(frozen=True, slots=True)
class CFunction:
    span: Span
    info: Debuginfo
    function: Function


def symbol_at(snap: Snapshot, uri: str, pos: Position) -> Symbol | None:
    """The script symbol whose name is at pos (from the whole document's editor model when it is built, else
    from the item around pos)."""
    a = analysis_near(snap, uri, snap.lines(uri).offset(pos))
    if a is None or a.model is None:
        return None
    doc = snap.document(uri)
    sym = Q.symbol_at(a, doc.filename, pos.line, pos.column)
    if sym is None or sym.name.startswith("tapkit__"):
        return None
    return sym


def references(snap: Snapshot, uri: str, sym: Symbol, include_definition: bool = True) -> list[Span]:
    """Where the symbol is named in the analysed program (the document and the library code it uses),
    the editor runs' own additions left out."""
    a = analysis(snap, uri)
    if a is None:
        return []
    if a.model is not None and sym not in a.model.symbols:  # found in the item's model: this one's uses are all
        sym = next((o for o in a.model.symbols if same_symbol(o, sym)), sym)
    doc = snap.document(uri)
    return [r for r in Q.references(a, sym, include_definition) if r.file != doc.filename or in_document(r, doc)]


def same_symbol(a: Symbol, b: Symbol) -> bool:
    """The same variable or function in two models of one program (declared at one place)."""
    da, db = a.definition, b.definition
    return a.kind == b.kind and a.name == b.name and da is not None and db is not None and \
        (da.file, da.line, da.column) == (db.file, db.line, db.column)


def token_at(snap: Snapshot, uri: str, pos: Position) -> tuple[int, Token] | None:
    lexed = snap.lexed(uri)
    offset = snap.lines(uri).offset(pos)
    k = bisect_right(lexed.ends, offset)  # the first token ending after offset
    if k < len(lexed.tokens) and lexed.tokens[k].pos <= offset < lexed.tokens[k].end_pos:
        return k, lexed.tokens[k]
    return None


def c_at(snap: Snapshot, uri: str, pos: Position) -> CType | CFunction | None:
    """The C thing at pos: in a target expression (`$v`, `->m`), @cast's type string, or a probe point's
    function("…") string."""
    hit = token_at(snap, uri, pos)
    if hit is None:
        return None
    k, tok = hit
    doc = snap.document(uri)
    span = Span(doc.filename, tok.line, tok.column, tok.end_line, tok.end_column)
    toks = snap.lexed(uri).tokens
    if tok.type == "STRING":
        value = tok.text[1:-1]
        if cast_argument(toks, k) == 2:
            module = toks[k + 2].text[1:-1] if k + 2 < len(toks) and toks[k + 2].type == "STRING" else "kernel"
            found = ctypes.find_cast_type(snap, value, module)
            if found is not None:
                info, tid = found
                return CType(span, value, info, tid, ctypes.type_decl(info, tid))
            return None
        place = snap.lexed(uri).places[k]
        if place.region is Region.PROBE_HEADER and k >= 2 and toks[k - 1].type == "LPAR" and \
                toks[k - 2].text in ("function", "statement"):
            spec = ctypes.point_spec(point_components(toks, k - 3) or [])
            found_info = ctypes.debuginfo(snap, spec) if spec is not None else None
            name = value.partition("@")[0]
            if found_info is not None and name and not any(c in name for c in "*?["):
                fn = ctypes.function(found_info, name)
                if fn is not None:
                    return CFunction(span, found_info, fn)
        return None
    if tok.type not in ("TVAR", "IDENT", "DOLLARS"):
        return None
    a = analysis_near(snap, uri, tok.pos)
    if a is None:
        return None
    for node in reversed(Q.node_at(a, doc.filename, pos.line, pos.column)):
        if isinstance(node, A.TargetVar) and node.name_span.contains(pos.line, pos.column):
            return _variable(a, doc.filename, node, pos)
        if isinstance(node, A.TargetMember) and node.name_span.contains(pos.line, pos.column):
            return _member(a, doc.filename, node, pos)
    return None


def _variable(a: Analysis, path: str, node: A.TargetVar, pos: Position) -> CType | None:
    target = Q.target_type_at(a, path, pos.line, pos.column)
    if target is None or target.info is None:
        return None
    ctx = Q.probe_context_at(a, path, pos.line, pos.column)
    decl, origin = None, ""
    fn = ctx.function if ctx is not None else None
    if fn is not None:
        for kind, variables in (("parameter", fn.params), ("local", fn.locals)):
            var = next((v for v in variables if v.name == node.name[1:]), None)
            if var is not None:
                decl, origin = var.decl, f"{kind} of {fn.name}"
                break
    return CType(node.name_span, node.name, target.info, target.type, decl, origin=origin)


def _member(a: Analysis, path: str, node: A.TargetMember, pos: Position) -> CType | None:
    container = Q.target_type_at(a, path, pos.line, pos.column)
    if container is None or container.info is None:
        return None
    info = container.info
    try:
        member = info.member(container.type, node.name)
    except (UnknownName, DebuginfoError, ValueError, KeyError):
        return None
    if isinstance(member, UnknownName):
        return None
    owner = ctypes.struct_of(info, container.type)
    decl = None
    if owner is not None and owner.decl is not None and member.line:
        decl = Decl(owner.decl.file, member.line)
    spelled = info.spell(owner.id) if owner is not None else container.spelled()
    return CType(node.name_span, f"->{node.name}", info, member.type, decl, member, spelled)
