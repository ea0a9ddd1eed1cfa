"""The semantic pass over the program a document is: what diagnostics, hover, references and completion read.

Three runs of tapkit.semantic.analyze, each cached by the document's content and the configuration:

    verdict(snap, uri)          stap -p2's judgement of a script (a normal run: optimizer, types, checks;
                                part by part, tapkit.semantic.incremental: an edit re-runs the part it
                                touched); for a tapset file, what resolution finds wrong in it (see below)
    analysis(snap, uri)         the editor model of the whole document (analyze(editor=True)), with every
                                function the document defines resolved, used or not
    focused(snap, uri, offset)  completion's: the document with every probe but the one around offset left
                                out (their text blanked, positions kept), and optionally the word being
                                typed at offset replaced by PLACEHOLDER so that a half-typed `p->` parses

The normal run and the editor run cannot be one: the optimizer elides what the editor must still
see, and the editor run never reaches the optimizer's and type checker's verdicts. stap resolves a
function only when something calls it; a tapset file being edited defines functions nothing calls, so
the editor runs add a `probe never` (after the document's last line, its spans outside the text)
that calls each of them.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from tapkit.cache import cache_dir, content_hash
from tapkit.diagnostics import Diagnostic, Related, Severity, Span
from tapkit.ide.line_index import LineIndex, Position
from tapkit.ide.structure import Region
from tapkit.ide.workspace import Document, DocumentKind, Lexed, Snapshot
from tapkit.semantic import Analysis, AnalysisOptions, ScriptFile, TapsetLibrary, analyze
from tapkit.semantic.editor import user_code_only
from tapkit.semantic.incremental import PartCache, analyze_in_parts
from tapkit.syntax import ast as A
from tapkit.syntax.parser import ParseResult, parse
from tapkit.values import replace

PLACEHOLDER = "tapkit__here"  # what completion types at the cursor so the text around it parses
USES_PROBE = "never"  # the probe the editor runs add to call every function of the document
UNCLOSED = 1 << 62  # the end of an item that runs to the end of the text

T = TypeVar("T")
log = logging.getLogger("tapkit.ide")


class _StapsLibrary(TapsetLibrary):
    """The library as stap 4.8 treats a tapset file that does not parse: a warning and the file skipped
    (tapkit.semantic fails the whole run instead; see the module docstring of tapkit.ide.diagnostics)."""

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return ()


def _stap_library(lib: TapsetLibrary) -> TapsetLibrary:
    """A view of lib sharing its index and loaded trees, without pass-1 errors of its files."""
    view = copy.copy(lib)
    view.__class__ = _StapsLibrary
    return view


_views: dict[int, tuple[TapsetLibrary, TapsetLibrary]] = {}
_views_lock = threading.Lock()


def semantic_library(snap: Snapshot) -> TapsetLibrary | None:
    lib = snap.library.semantic
    if lib is None:
        return None
    with _views_lock:
        hit = _views.get(id(lib))
        if hit is None or hit[0] is not lib:
            hit = _views[id(lib)] = (lib, _stap_library(lib))
            for key in [k for k, (orig, _) in _views.items() if orig is not lib]:
                del _views[key]  # one library in use at a time
        return hit[1]


def skipped_tapsets(snap: Snapshot, filename: str) -> list[Diagnostic]:
    """stap's warning for each tapset file with parse errors, placed at the document's start."""
    lib = snap.library.semantic
    if lib is None:
        return []
    out = []
    for entry in lib.index.files:
        errors = [d for d in entry.diagnostics if d.is_error]
        if errors and entry.path != filename:
            out.append(Diagnostic(Severity.WARNING, "parse.tapset-skipped",
                                  f'tapset "{entry.path}" has errors, and will be skipped',
                                  Span(filename, 1, 1, 1, 1), kind="parse",
                                  related=tuple(Related(d.message, d.span) for d in errors[:3])))
    for d in lib.macros.diagnostics:
        if d.is_error and d.span.file != filename:
            out.append(replace(d, severity=Severity.WARNING, span=Span(filename, 1, 1, 1, 1),
                                           related=(Related(d.message, d.span),)))
    return out


# ---------------------------------------------------------------- caching

_flights: dict[object, threading.Lock] = {}
_flights_lock = threading.Lock()


def _cached(snap: Snapshot, what: object, key: object, compute: Callable[[], T]) -> T:
    """The cached value for (what, key), computed once even when several threads ask at the same time."""
    hit = snap._cache.get(what, key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    with _flights_lock:
        lock = _flights.setdefault(what, threading.Lock())
    with lock:
        hit = snap._cache.get(what, key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        value = compute()
        snap._cache.put(what, key, value)
        return value


def _key(snap: Snapshot, doc: Document, text: str) -> tuple[object, ...]:
    lib = snap.library.semantic
    return (content_hash(text), doc.kind, lib.fingerprint if lib is not None else None, snap.target,
            tuple(sorted(snap.options.debuginfo.items())), snap.macros.fingerprint)


def options_for(snap: Snapshot, doc: Document) -> AnalysisOptions:
    """A tapset file is privileged code, as guru mode makes a script."""
    if doc.kind is DocumentKind.SCRIPT or snap.options.target.guru_mode:
        return snap.options
    return dataclasses.replace(snap.options, target=replace(snap.options.target, guru_mode=True))


# ---------------------------------------------------------------- the three runs

def verdict(snap: Snapshot, uri: str) -> list[Diagnostic]:
    """Pass 1 and 2 diagnostics of the document, in stap's order; pass 1 alone until the library is loaded."""
    doc = snap.document(uri)
    parsed = snap.parse(uri)
    lib = semantic_library(snap)
    if lib is None or doc.kind is DocumentKind.MACROS:
        return list(parsed.diagnostics)

    def run() -> list[Diagnostic]:
        if doc.kind is DocumentKind.TAPSET:
            a = analysis(snap, uri)
            if a is None:
                return [*parsed.diagnostics, failed_verdict(doc)]
            last = doc.text.count("\n") + 1
            return [d for d in a.diagnostics if d.span.file != doc.filename or d.span.line <= last]
        options = options_for(snap, doc)
        # what decides a part's verdict besides its text (tapkit.semantic.incremental keys parts by it): the
        # library, macros and options, and each debuginfo file's size and mtime (a rebuilt module is another)
        context = (lib.fingerprint, snap.macros.fingerprint, options.target, options.include_dirs,
                   tuple((name, path, _stamp(path)) for name, path in sorted(options.debuginfo.items())),
                   options.user_probes)
        try:
            diags = analyze_in_parts(ScriptFile(doc.filename, doc.text, parsed), lib, options, part_cache(), context)
        except Exception:  # a bug of the semantic pass: say so, and keep pass 1's diagnostics
            log.exception("the semantic pass failed on %s", doc.filename)
            return [*parsed.diagnostics, failed_verdict(doc)]
        return skipped_tapsets(snap, doc.filename) + diags

    return _cached(snap, ("verdict", uri), _key(snap, doc, doc.text), run)


_parts: list[PartCache] = []  # every script's parts, across edits, documents and servers (made on first use)


def part_cache() -> PartCache:
    if not _parts:
        _parts.append(PartCache(directory=cache_dir("parts")))
    return _parts[0]


def _stamp(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (0, 0)
    return (st.st_size, st.st_mtime_ns)


def failed_verdict(doc: Document) -> Diagnostic:
    return Diagnostic(Severity.WARNING, "internal.semantic-failed",
                      "tapkit's semantic pass failed on this document (an internal error, logged by the server); "
                      "only parse diagnostics are shown", Span(doc.filename, 1, 1, 1, 1), kind="internal")


def _editor_run(doc: Document, compute: Callable[[], Analysis]) -> Callable[[], Analysis | None]:
    """compute, with a failure of the semantic pass logged and answered as "no model" (the features fall back
    to what names alone tell) rather than as an error for every request."""
    def run() -> Analysis | None:
        try:
            return compute()
        except Exception:
            log.exception("the semantic pass failed on %s", doc.filename)
            return None
    return run


def analysis(snap: Snapshot, uri: str) -> Analysis | None:
    """The editor model of the whole document; None before the library is loaded or for a macro file."""
    doc = snap.document(uri)
    lib = semantic_library(snap)
    if lib is None or doc.kind is DocumentKind.MACROS:
        return None

    return _cached(snap, ("analysis", uri), _key(snap, doc, doc.text),
                   _editor_run(doc, lambda: whole_model(snap, uri, lib)))


def whole_model(snap: Snapshot, uri: str, lib: TapsetLibrary) -> Analysis:
    """analyze(editor=True) of the whole document, with a use of each function it defines (not cached)."""
    doc = snap.document(uri)
    parsed = snap.parse(uri)
    tree = with_uses(parsed.file, doc, snap, [i for i in parsed.file.items if isinstance(i, A.FunctionDecl)])
    return analyze([ScriptFile(doc.filename, doc.text, replace(parsed, file=tree))], lib, options_for(snap, doc),
                   editor=True)


def analysis_near(snap: Snapshot, uri: str, offset: int) -> Analysis | None:
    """What hover and definition read: the whole document's editor model when it is already built (references
    and rename build it), else the (much cheaper) model of the item around offset."""
    doc = snap.document(uri)
    hit = snap._cache.get(("analysis", uri), _key(snap, doc, doc.text))
    if isinstance(hit, Analysis):
        return hit
    return focused(snap, uri, offset)


def focused(snap: Snapshot, uri: str, offset: int, typed: tuple[int, int] | None = None) -> Analysis | None:
    """The editor model of the item around offset with the document's declarations. typed=(start, end):
    the characters there (the word being completed, maybe empty) are replaced by PLACEHOLDER.

    The last FOCUSED_KEPT of them (and EXPENSIVE_KEPT costly ones) are kept, by document and text: an edit
    elsewhere that leaves the item, what it uses and the line count alone keeps its analysis. Without a
    placeholder in a document that parses, the item's tree is taken from the document's parse rather than
    parsed again."""
    doc = snap.document(uri)
    lib = semantic_library(snap)
    if lib is None or doc.kind is DocumentKind.MACROS:
        return None
    lexed = snap.lexed(uri)
    closing = closers(lexed, offset)
    text = focused_text(doc.text, lexed, offset, typed) + closing
    key = (uri, _key(snap, doc, text))
    analyses = _focused_analyses(snap)
    found, hit = analyses.get(key)
    if hit:
        return found
    index = snap.lines(uri)
    at = index.position(offset)
    arity = call_arity(lexed, typed[1]) if typed is not None else None

    def run() -> Analysis:
        whole = snap.parse(uri)
        if typed is None and not closing and whole.ok:
            parsed = _kept_tree(whole, lexed, index, kept_items(lexed, offset))
        else:
            parsed = parse(text, doc.filename, snap.target, snap.macros_for(doc),
                           library=doc.kind is not DocumentKind.SCRIPT)
        functions = [i for i in parsed.file.items if isinstance(i, A.FunctionDecl)
                     and (i.span.line, i.span.column) <= (at.line, at.column) <= (i.span.end_line, i.span.end_column)]
        tree = with_uses(parsed.file, doc, snap, functions, text, arity)
        with user_code_only():  # its readers ask about the document only (references read analysis())
            return analyze([ScriptFile(doc.filename, text, ParseResult(tree, parsed.diagnostics))], lib,
                           options_for(snap, doc), editor=True)

    return analyses.compute(key, _editor_run(doc, run))


def is_focused_built(snap: Snapshot, uri: str, offset: int, typed: tuple[int, int] | None = None) -> bool:
    """Whether focused(snap, uri, offset, typed) would answer from what is kept (no analysis run)."""
    doc = snap.document(uri)
    lexed = snap.lexed(uri)
    text = focused_text(doc.text, lexed, offset, typed) + closers(lexed, offset)
    return _focused_analyses(snap).get((uri, _key(snap, doc, text)))[1]


FOCUSED_KEPT = 16  # focused analyses kept in a workspace, the most recent (~0.4-1.5 MB each)
EXPENSIVE_KEPT = 32  # and beyond those, the most recent of the ones that took EXPENSIVE or more to build
EXPENSIVE = 0.020  # seconds of CPU: a probe on syscall_any (~45 ms: the syscall table's `probe init`)
_MISSING = object()


class _Analyses:
    """Focused analyses by key, least recently used first, one computed at a time: FOCUSED_KEPT recent ones,
    then EXPENSIVE_KEPT of those that cost the most to build (going back to a probe, hovering then going to
    the definition). An evicted analysis nobody else holds is taken apart, so that reference counting frees
    it: its session, model and probes form cycles, and left to the collector they made generation-1 passes
    of ~0.5 s in the middle of requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._computing = threading.Lock()
        self._recent: OrderedDict[object, tuple[Analysis | None, float]] = OrderedDict()
        self._expensive: OrderedDict[object, tuple[Analysis | None, float]] = OrderedDict()

    def get(self, key: object) -> tuple[Analysis | None, bool]:
        with self._lock:
            for entries in (self._recent, self._expensive):
                found = entries.get(key, _MISSING)
                if found is not _MISSING:
                    entries.move_to_end(key)
                    return found[0], True  # type: ignore[index]
            return None, False

    def compute(self, key: object, run: Callable[[], Analysis | None]) -> Analysis | None:
        with self._computing:
            found, hit = self.get(key)
            if hit:
                return found
            started = time.thread_time()
            value = run()
            with self._lock:
                self._recent[key] = (value, time.thread_time() - started)
                while len(self._recent) > FOCUSED_KEPT:
                    old_key, old = self._recent.popitem(last=False)
                    if old[1] >= EXPENSIVE:
                        self._expensive[old_key] = old
                    else:
                        _drop(old[0])
                    del old
                while len(self._expensive) > EXPENSIVE_KEPT:
                    _, old = self._expensive.popitem(last=False)
                    _drop(old[0])
                    del old
            return value


def _drop(a: Analysis | None) -> None:
    """a, evicted: taken apart unless someone else holds it (the tuple it came in, the argument and
    getrefcount's: nobody else)."""
    if a is not None and sys.getrefcount(a) <= 3:
        a.dispose()


_analyses_lock = threading.Lock()


def _focused_analyses(snap: Snapshot) -> _Analyses:
    """The workspace's focused analyses (one pool for all its documents: closing one does not free them)."""
    with _analyses_lock:
        found = snap._cache.get("focused", "analyses")
        if not isinstance(found, _Analyses):
            found = _Analyses()
            snap._cache.put("focused", "analyses", found)
        return found


def _kept_tree(whole: ParseResult, lexed: Lexed, index: LineIndex, keep: set[int]) -> ParseResult:
    """What parsing focused_text(...) gives, read from the document's own parse (which has no errors): the items
    kept, and of the rest what lies outside the items left out; doc comments outside the kept items dropped
    (focused_text blanks them)."""
    items = item_ranges(lexed)
    kept = [(it.start, it.end) for i, it in enumerate(items) if i in keep]
    left_out = [(it.start, it.end) for i, it in enumerate(items) if i not in keep]

    def start(node: A.Node) -> int:
        return index.offset(Position(node.span.line, node.span.column))

    def inside(offset: int, ranges: list[tuple[int, int]]) -> bool:
        return any(a <= offset < b for a, b in ranges)

    out: list[A.Item] = []
    for item in whole.file.items:
        if isinstance(item, A.ProbeDecl | A.AliasDecl | A.FunctionDecl):
            a, b = start(item), index.offset(Position(item.span.end_line, item.span.end_column))
            if not any(a < e and s < b for s, e in kept):
                continue
        doc = getattr(item, "doc", None)
        if doc is not None and not inside(start(doc), kept):
            item = replace(item, doc=None)
        out.append(item)
    f = whole.file
    tree = replace(f, items=tuple(out), comments=tuple(c for c in f.comments if inside(start(c), kept)),
                   inactive=tuple(r for r in f.inactive if not inside(start(r), left_out)),
                   conditionals=tuple(c for c in f.conditionals if not inside(start(c), left_out)),
                   macro_calls=tuple(c for c in f.macro_calls if not inside(start(c), left_out)))
    diagnostics = tuple(d for d in whole.diagnostics if d.span.file != f.span.file
                        or not inside(index.offset(Position(d.span.line, d.span.column)), left_out))
    return ParseResult(tree, diagnostics)


def with_uses(tree: A.File, doc: Document, snap: Snapshot, functions: list[A.FunctionDecl],
              text: str | None = None, placeholder_arity: int | None = None) -> A.File:
    """tree with a `probe never` after the text's last line calling each function (so that it is resolved),
    and with placeholder_arity, a function PLACEHOLDER taking that many parameters (the call being completed
    then resolves: an unresolved one costs a "similar" list over every library function, ~70 ms)."""
    if not functions and placeholder_arity is None:
        return tree
    calls = []
    for n, f in enumerate(functions):
        args = ", ".join(f"{PLACEHOLDER}_{n}_{i}" for i in range(len(f.params)))
        calls.append(f"{f.name}({args})")
    lines = (doc.text if text is None else text).count("\n") + 1
    source = "\n" * lines
    if calls:
        source += f"probe {USES_PROBE} {{ {'; '.join(calls)} }}\n"
    if placeholder_arity is not None:
        params = ", ".join(f"{PLACEHOLDER}_p{i}" for i in range(placeholder_arity))
        source += f"function {PLACEHOLDER}({params}) {{ }}\n"
    extra = parse(source, doc.filename, snap.target, None, library=doc.kind is not DocumentKind.SCRIPT)
    return replace(tree, items=tree.items + extra.file.items)


def call_arity(lexed: Lexed, end: int) -> int | None:
    """When the word ending at end is called (`name(a, b)`): its number of arguments, else None (also when
    the parentheses are not closed: the count would be a guess)."""
    k = bisect.bisect_right(lexed.ends, end)
    toks = lexed.tokens
    if k >= len(toks) or toks[k].type != "LPAR" or toks[k].pos < end:
        return None
    depth, commas = 0, 0
    for j in range(k, len(toks)):
        t = toks[j].type
        if t in ("LPAR", "LSQB", "LBRACE"):
            depth += 1
        elif t in ("RPAR", "RSQB", "RBRACE"):
            depth -= 1
            if depth == 0:
                return 0 if j == k + 1 else commas + 1
        elif t == "COMMA" and depth == 1:
            commas += 1
    return None


def in_document(span: Span | None, doc: Document) -> bool:
    """span is in the document's own text (not in the uses the editor runs add past its end)."""
    return span is not None and span.file == doc.filename and span.line <= doc.text.count("\n") + 1


# ---------------------------------------------------------------- the item around a position

class Item(NamedTuple):
    """A top-level probe, alias or function as raw tokens show it: offsets and token indexes."""

    start: int
    end: int  # UNCLOSED: runs to the end of the text
    kind: str  # "probe", "alias" or "function"
    name: str  # a function's name; the first component of a probe's or alias's first point
    first: int  # index of its first token
    last: int  # index past its last token


_items_cache: list[tuple[Lexed, list[Item]]] = []


def item_ranges(lexed: Lexed) -> list[Item]:
    """Each top-level probe, alias and function, from raw tokens: `probe`/`function` at depth 0 to the `}`
    closing its body (or its `%{ %}` body; the end of the text if it is not closed yet)."""
    for cached, found in _items_cache:
        if cached is lexed:
            return found
    toks, places = lexed.tokens, lexed.places
    out: list[Item] = []
    k = 0
    while k < len(toks):
        p = places[k]
        if toks[k].type not in ("PROBE", "FUNCTION") or p.depth or p.parens or p.macros or \
                p.region not in (Region.TOP, Region.GLOBAL):  # (a `global` line goes on until the next item)
            k += 1
            continue
        is_function = toks[k].type == "FUNCTION"
        name = toks[k + 1].text if k + 1 < len(toks) else ""
        start, alias, j = toks[k].pos, False, k + 1
        while j < len(toks) and not (toks[j].type == "LBRACE" and places[j].depth == 0 and not places[j].group):
            if is_function and toks[j].type == "EMBEDDED":
                break
            if toks[j].type in ("EQUAL", "PLUSASSIGN") and places[j].parens == 0 and not is_function:
                alias = True
            j += 1
        j = min(j + 1, len(toks))
        if not (is_function and toks[j - 1].type == "EMBEDDED"):
            while j < len(toks) and places[j].depth > 0:  # places[j]: the depth before token j
                j += 1
        unclosed = j == len(toks) and places[j].depth > 0  # still being typed: it runs to the end of the text
        kind = "function" if is_function else "alias" if alias else "probe"
        out.append(Item(start, UNCLOSED if unclosed else toks[j - 1].end_pos, kind, name, k, j))
        k = j
    _items_cache[:] = [(lexed, out)]  # one document at a time: completion asks again and again
    return out


_CLOSING = {"LPAR": ")", "LSQB": "]", "LBRACE": "}"}
_OPENING = {"RPAR": "LPAR", "RSQB": "LSQB", "RBRACE": "LBRACE"}


def closers(lexed: Lexed, offset: int) -> str:
    """When the item around offset runs to the end of the text unclosed (the user is typing it): what
    closes its open brackets, on a line after the text, so that the placeholder in it parses."""
    ranges = item_ranges(lexed)
    if not ranges or ranges[-1].end != UNCLOSED or offset < ranges[-1].start:
        return ""
    start = ranges[-1].start
    stack: list[str] = []
    for tok in lexed.tokens:
        if tok.pos < start:
            continue
        if tok.type in _CLOSING:
            stack.append(tok.type)
        elif tok.type in _OPENING and stack and stack[-1] == _OPENING[tok.type]:
            stack.pop()
    return "\n" + "".join(_CLOSING[t] for t in reversed(stack)) if stack else ""


def kept_items(lexed: Lexed, offset: int) -> set[int]:
    """The items (indexes into item_ranges) focused_text keeps for offset: the one around it and, transitively,
    the functions and aliases it names."""
    items = item_ranges(lexed)
    toks = lexed.tokens
    keep = {i for i, it in enumerate(items) if it.start <= offset <= it.end}
    functions: dict[str, list[int]] = {}
    aliases: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        if it.kind in ("function", "alias"):
            (functions if it.kind == "function" else aliases).setdefault(it.name, []).append(i)
    todo = list(keep)
    while todo:
        it = items[todo.pop()]
        header = it.kind != "function"  # a probe's or alias's points: the aliases they may name
        for k in range(it.first, min(it.last, len(toks) - 1)):
            tok = toks[k]
            if header and tok.type == "LBRACE" and lexed.places[k].depth == 0 and not lexed.places[k].group:
                header = False
            found = aliases.get(tok.text, ()) if header else \
                functions.get(tok.text, ()) if tok.type == "IDENT" and toks[k + 1].type == "LPAR" else ()
            for j in found:
                if j not in keep:
                    keep.add(j)
                    todo.append(j)
    return keep


def focused_text(text: str, lexed: Lexed, offset: int, typed: tuple[int, int] | None = None) -> str:
    """text with what the item around offset cannot use blanked (lines and columns all hold): every other
    probe, every alias its points do not name and every function it does not call (directly or through the
    functions and aliases it keeps), and the comments between items. Globals, macros and embedded C stay.
    A blanked part keeps its newlines and the width of its last line only (a shorter text to parse and
    hash). typed=(start, end): those characters replaced by PLACEHOLDER."""
    items = item_ranges(lexed)
    keep = kept_items(lexed, offset)
    blank = [(it.start, it.end) for i, it in enumerate(items) if i not in keep]
    kept = [(it.start, it.end) for i, it in enumerate(items) if i in keep]
    blank += [(c.pos, c.end_pos) for c in lexed.comments  # comments between items: only lexing to pay for
              if not any(a <= c.pos < b for a, b in kept)]
    out: list[str] = []
    done = shift = 0  # shift: what the blanking took out before `typed`
    for start, end in sorted(blank):
        if start < done:
            continue  # a comment inside a blanked item
        out.append(text[done:start])
        piece = text[start:end]
        if typed is not None and start < typed[1] and typed[0] < end:  # the word is in it: keep every column
            short = "\n".join(" " * len(line) for line in piece.split("\n"))
        else:
            last = piece.rfind("\n")
            short = "\n" * piece.count("\n") + " " * (len(piece) - last - 1)
        if typed is not None and end <= typed[0]:
            shift += len(piece) - len(short)
        out.append(short)
        done = end
    out.append(text[done:])
    result = "".join(out)
    if typed is not None:
        result = result[:typed[0] - shift] + PLACEHOLDER + result[typed[1] - shift:]
    return result
