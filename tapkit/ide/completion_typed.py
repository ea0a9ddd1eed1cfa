"""Completion from the semantic pass and the debuginfo: members after `->`, the probe's `$` variables,
the variables in scope with their types, @cast type names, and the arguments of probe points
(functions of a module or process, module names, paths, tracepoints).

Each asks tapkit.ide.program.focused for the item around the cursor with the word being typed
replaced by a placeholder (so `p->` parses, and every keystroke of one word shares one analysis).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tapkit.diagnostics import Span
from tapkit.ide import ctypes
from tapkit.ide.completion_items import Completion, CompletionKind
from tapkit.ide.cursor import Cursor
from tapkit.ide.program import PLACEHOLDER, focused
from tapkit.ide.structure import Region
from tapkit.ide.workspace import Snapshot
from tapkit.semantic import queries as Q
from tapkit.semantic.analysis import Analysis
from tapkit.syntax.tokens import KEYWORDS, Token

K = CompletionKind
_NAME_TYPES = frozenset({"IDENT", *KEYWORDS.values()})
_POINT_STARTS = frozenset({"PROBE", "COMMA", "EQUAL", "PLUSASSIGN", "LBRACE"})


def _word_end(text: str, offset: int) -> int:
    while offset < len(text) and (text[offset].isalnum() or text[offset] == "_"):
        offset += 1
    return offset


def _analysis_at(snap: Snapshot, uri: str, cursor: Cursor, offset: int) -> tuple[Analysis, str, int, int] | None:
    """The focused analysis with the typed word replaced, and where the placeholder stands."""
    doc = snap.document(uri)
    a = focused(snap, uri, offset, (cursor.prefix_start, _word_end(doc.text, offset)))
    if a is None:
        return None
    pos = snap.lines(uri).position(cursor.prefix_start)
    return a, doc.filename, pos.line, pos.column


# ---------------------------------------------------------------- after `->`

def members(snap: Snapshot, uri: str, cursor: Cursor, offset: int) -> list[Completion]:
    found = _analysis_at(snap, uri, cursor, offset)
    if found is None:
        return []
    a, path, line, column = found
    target = Q.target_type_at(a, path, line, column)
    if target is None:
        return []
    out = []
    for i, m in enumerate(ctypes.members(target)):
        where = f"offset {m.offset}, size {m.size}"
        if m.bit_size is not None:
            where = f"offset {m.offset}, bits {m.bit_offset}+{m.bit_size}"
        out.append(Completion(m.name, K.FIELD, f"{m.type_name} ({where})",
                              f"`{m.type_name} {m.name}` in `{target.spelled()}`", sort_key=f"{i:05d}"))
    return out


# ---------------------------------------------------------------- `$` variables

def target_variables(snap: Snapshot, uri: str, cursor: Cursor, offset: int) -> list[Completion] | None:
    """The probe's `$` variables; None when the probe is unknown (the generic `$$…` then)."""
    found = _analysis_at(snap, uri, cursor, offset)
    if found is None:
        return None
    a, path, line, column = found
    ctx = Q.probe_context_at(a, path, line, column)
    if ctx is None:
        return None
    variables = Q.context_variables(ctx)
    if not variables:
        return None if ctx.family == "dwarf" else []
    where = ctx.display_point or ctx.family
    return [Completion(v.name, K.VARIABLE, v.c_type or v.type, f"from `{where}`",
                       sort_key="1" if v.name.startswith("$$") else "0") for v in variables]


# ---------------------------------------------------------------- names in scope

def in_scope(snap: Snapshot, uri: str, cursor: Cursor, offset: int) -> list[Completion] | None:
    """Locals and parameters of the enclosing probe or function (an alias's included) and the program's
    globals, with their types; None when the semantic pass cannot answer (library not loaded)."""
    found = _analysis_at(snap, uri, cursor, offset)
    if found is None or found[0].model is None:
        return None
    a, path, line, column = found
    model = found[0].model
    out: list[Completion] = []
    scope = Q.scope_at(a, path, line, column)
    for sym in scope.locals if scope is not None else ():
        if sym.name.startswith(PLACEHOLDER):
            continue
        kind = K.PARAMETER if sym.kind == "param" else K.VARIABLE
        where, doc = "parameter" if sym.kind == "param" else "local", ""
        if sym.definition is not None and sym.definition.file != path:  # a variable an alias's body sets
            if sym.name.startswith("_"):
                continue  # the alias's own bookkeeping
            alias = snap.library.alias_defining(sym.definition)
            where = f"from probe {alias.name}" if alias is not None else f"from {Path(sym.definition.file).name}"
            doc = (alias.doc.param(sym.name) or "") if alias is not None and alias.doc is not None else ""
        out.append(Completion(sym.name, kind, f"{where}: {_type(sym.type, sym.index_types)}", doc, sort_key="0"))
    named = set()
    for sym in model.symbols:
        if sym.kind == "global" and not sym.name.startswith(PLACEHOLDER):
            named.add(sym.name)
            lib = f" ({Path(sym.definition.file).name})" if sym.library and sym.definition else ""
            out.append(Completion(sym.name, K.GLOBAL, f"global{lib}: {_type(sym.type, sym.index_types)}",
                                  sort_key="1" if not sym.library else "6"))
    for g in snap.declarations(uri).globals:
        if g.name not in named:  # declared but not used yet: the semantic pass drops it
            out.append(Completion(g.name, K.GLOBAL, "global", sort_key="1"))
    return out


def _type(t: str, index_types: tuple[str, ...]) -> str:
    return f"[{', '.join(index_types)}] {t}" if index_types else t


# ---------------------------------------------------------------- inside strings

def in_string(snap: Snapshot, uri: str, cursor: Cursor, offset: int) -> tuple[Span, list[Completion], bool] | None:
    """Completion inside a string: @cast's type and module, a probe point's argument. Returns the span the
    items replace, the items, and whether more would match."""
    lexed = snap.lexed(uri)
    doc = snap.document(uri)
    toks = lexed.tokens
    k = cursor.index
    tok = toks[k]
    typed = doc.text[tok.pos + 1:offset]
    cast = cast_argument(toks, k)
    index = snap.lines(uri)

    def span(start: int) -> Span:
        a, b = index.position(start), index.position(offset)
        return Span(doc.filename, a.line, a.column, b.line, b.column)

    if cast == 2:
        module = _string_value(toks[k + 2]) if k + 2 < len(toks) and toks[k + 1].type == "COMMA" else "kernel"
        return span(tok.pos + 1), list(_cast_types(snap, typed, module or "kernel")), False
    if cast == 3:
        return span(tok.pos + 1), list(_cast_modules(snap)), False
    if cursor.place.region is not Region.PROBE_HEADER or k < 2 or toks[k - 1].type != "LPAR":
        return None
    component = toks[k - 2].text
    before = point_components(toks, k - 3)
    if component in ("function", "statement") and before is not None:
        spec = ctypes.point_spec(before)
        info = ctypes.debuginfo(snap, spec) if spec is not None else None
        if info is None or any(c in typed for c in "*?[@:"):
            return span(tok.pos + 1), [], False
        names = info.function_names(typed)
        items = [Completion(n, K.FUNCTION, f"function in {info.module}") for n in names[:MAX_NAMES]]
        return span(tok.pos + 1), items, len(names) > MAX_NAMES
    if component == "module" and before == []:
        names = sorted({*ctypes.module_names(snap.target.release),
                        *(n for n in snap.options.debuginfo if n not in ("kernel", "*"))})
        return span(tok.pos + 1), [Completion(n, K.MODULE, "kernel module") for n in names], False
    if component in ("process", "library") and not any(c in typed for c in "*?["):
        tail, entries = ctypes.path_entries(typed, Path(doc.filename).parent)
        items = [Completion(name + ("/" if is_dir else ""), K.FOLDER if is_dir else K.FILE,
                            sort_key="0" if is_dir else "1") for name, is_dir in entries[:MAX_NAMES]]
        return span(offset - len(tail)), items, len(entries) > MAX_NAMES
    if component == "trace" and before == [("kernel", None)]:
        from tapkit.semantic.tracepoints import catalog

        names = sorted({n for events in catalog(snap.target).values() for n in events})
        return span(tok.pos + 1), [Completion(n, K.PROBE, "tracepoint") for n in names], False
    return span(tok.pos + 1), [], False


MAX_NAMES = 1000


def _string_value(tok: Token) -> str | None:
    if tok.type != "STRING":
        return None
    return tok.text[1:-1]


def cast_argument(toks: list[Token], k: int) -> int:
    """Which argument of an @cast the string at toks[k] is (0: not in an @cast)."""
    depth, commas = 0, 0
    for j in range(k - 1, -1, -1):
        t = toks[j].type
        if t in ("RPAR", "RSQB", "RBRACE"):
            depth += 1
        elif t in ("LPAR", "LSQB", "LBRACE"):
            if depth == 0:
                return commas + 1 if t == "LPAR" and j > 0 and toks[j - 1].type == "AT_CAST" else 0
            depth -= 1
        elif t == "COMMA" and depth == 0:
            commas += 1
        elif t in ("SEMI",):
            return 0
    return 0


def point_components(toks: list[Token], j: int) -> list[tuple[str, str | None]] | None:
    """The probe-point components that end at toks[j] (the `.` before the one being written), as
    (name, argument text); None when they cannot be read."""
    if j < 0:
        return None
    if toks[j].type in _POINT_STARTS:
        return []
    if toks[j].type != "DOT":
        return None
    out: list[tuple[str, str | None]] = []
    j -= 1
    while j >= 0:
        arg = None
        if toks[j].type == "RPAR":
            if j < 2 or toks[j - 2].type != "LPAR":
                return None
            arg = _string_value(toks[j - 1]) if toks[j - 1].type == "STRING" else toks[j - 1].text
            j -= 3
        if j < 0 or toks[j].type not in _NAME_TYPES:
            return None
        out.insert(0, (toks[j].text, arg))
        j -= 1
        if j < 0 or toks[j].type in _POINT_STARTS:
            return out
        if toks[j].type != "DOT":
            return None
        j -= 1
    return out


def _cast_types(snap: Snapshot, typed: str, module: str) -> Iterator[Completion]:
    seen: set[str] = set()
    for info in ctypes.cast_debuginfo(snap, module):
        for tn in info.type_names(typed, ("struct", "union", "typedef", "enum")):
            if tn.name in seen:
                continue
            seen.add(tn.name)
            order = {"struct": "0", "union": "1", "typedef": "2", "enum": "3"}[tn.kind]
            yield Completion(tn.name, K.TYPE, f"{tn.spelled} ({info.module})", sort_key=order)


def _cast_modules(snap: Snapshot) -> Iterator[Completion]:
    yield Completion("kernel", K.MODULE, "the kernel", sort_key="0")
    for name in snap.options.debuginfo:
        if name not in ("kernel", "*"):
            yield Completion(f"kernel:{name}", K.MODULE, f"the kernel, then module {name}", sort_key="1")
            yield Completion(name, K.MODULE, "kernel module", sort_key="1")


__all__ = ["MAX_NAMES", "cast_argument", "in_scope", "in_string", "members", "point_components", "target_variables"]

