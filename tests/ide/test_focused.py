"""The item-focused analyses hover, definition and completion read (tapkit.ide.program.focused): the tree taken
from the document's parse is what parsing the blanked text gives, analyses are kept and evicted ones freed, and
the editor's type inference (which skips settled units) ends where sweeping everything ends."""

from __future__ import annotations

import contextlib
import gc
import weakref

import pytest

from tapkit.ide import hover, program
from tapkit.semantic import ir
from tapkit.semantic.check import CheckOptions, analyze_text
from tapkit.semantic.errors import SemanticError
from tapkit.semantic.infer import TypeResolver
from tapkit.syntax.parser import parse
from tests.ide.conftest import RELEASE, Docs

SCRIPT = """\
# a comment between items
global counts, names[10]
@define mac(n) %( @n + 1 %)

/** the doc comment of twice: focused_text blanks it */
function twice(x) { return 2 * x }

function unused:string(s:string) { return s . "!" }

probe begin {
  counts = twice(21)
  names[1] = @mac(3)
}

probe timer.s(1) {
  /* inside the item: kept */
  printf("%d\\n", @mac(counts))
}

probe end { println(unused("x")) }
"""


@pytest.mark.parametrize("marker", ["counts = ", "printf", "println", "return 2"])
def test_the_kept_tree_is_what_parsing_the_focused_text_gives(docs: Docs, marker: str) -> None:
    snap, uri = docs.open(SCRIPT)
    doc, lexed, index = snap.document(uri), snap.lexed(uri), snap.lines(uri)
    offset = SCRIPT.index(marker)
    text = program.focused_text(SCRIPT, lexed, offset)
    assert text.count("\n") == SCRIPT.count("\n") and len(text) < len(SCRIPT)
    parsed = parse(text, doc.filename, snap.target, snap.macros)
    assert snap.parse(uri).ok
    kept = program._kept_tree(snap.parse(uri), lexed, index, program.kept_items(lexed, offset))
    assert kept.file.items == parsed.file.items  # spans, and the doc comment focused_text blanked, included
    assert kept.file.macro_calls == parsed.file.macro_calls and kept.file.comments == parsed.file.comments
    assert len(kept.file.items) < len(snap.parse(uri).file.items)


def test_a_placeholder_in_the_focused_text_stands_where_the_word_was(docs: Docs) -> None:
    snap, uri = docs.open(SCRIPT)
    start = SCRIPT.index("counts))")
    text = program.focused_text(SCRIPT, snap.lexed(uri), start, (start, start + len("counts")))
    lines, at = text.split("\n"), snap.lines(uri).position(start)
    assert lines[at.line - 1][at.column - 1:].startswith(program.PLACEHOLDER + "))")


def test_focused_analyses_are_kept_and_evicted_ones_freed(lib_docs: Docs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(program, "FOCUSED_KEPT", 2)
    monkeypatch.setattr(program, "EXPENSIVE", float("inf"))  # none kept for its cost
    snap, uri = lib_docs.open(SCRIPT)
    offsets = [SCRIPT.index(m) for m in ("counts = ", "printf", "println")]
    first = program.focused(snap, uri, offsets[0])
    assert first is not None and program.is_focused_built(snap, uri, offsets[0])
    held = first
    gone = weakref.ref(program.focused(snap, uri, offsets[1]))
    assert gone() is not None and program.focused(snap, uri, offsets[1]) is gone()
    enabled = gc.isenabled()
    gc.disable()  # freed by reference counting, not by the collector
    try:
        program.focused(snap, uri, offsets[2])  # evicts the first: held here, so left whole
        program.focused(snap, uri, offsets[0])  # rebuilt; evicts the second: nobody holds it
        assert gone() is None
    finally:
        if enabled:
            gc.enable()
    assert not program.is_focused_built(snap, uri, offsets[1])
    assert held.model is not None and held.session is not None


def test_hover_answers_alike_from_the_item_and_the_whole_document(lib_docs: Docs) -> None:
    """(A function's doc comment lies between items: the item's analysis does not see it, the whole one does.)"""
    snap, uri = lib_docs.open(SCRIPT)
    places = [snap.lines(uri).position(SCRIPT.index(m) + 1) for m in ("unused(", "counts = ", "names[1]")]
    from_items = [hover(snap, uri, pos) for pos in places]
    program.analysis(snap, uri)  # built: analysis_near reads it from now on
    assert [hover(snap, uri, pos) for pos in places] == from_items
    assert [h.markdown.split("\n")[1] for h in from_items if h is not None] == [
        "function unused:string (s:string)", "global counts: long", "global names: [long] long"]


def _types(a: object) -> list[object]:
    s = a.session  # type: ignore[attr-defined]
    roots = [s.functions[k].body for k in sorted(s.functions)] + [dp.body for dp in s.probes]
    out: list[object] = [(type(n).__name__, n.type, n.details is not None) for r in roots if r is not None
                         for n in ir.walk(r) if isinstance(n, ir.Expr)]
    out += [(v.name, v.type, tuple(v.index_types)) for v in s.globals]
    out += [(fd.name, fd.type, [p.type for p in fd.params]) for fd in s.functions.values()]
    return out


def test_editor_inference_ends_where_sweeping_everything_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe of 150 statements (skipped once settled) feeding a chain of functions that takes several sweeps
    to resolve, and reading its end (so it must be visited again once settled)."""
    table = "\n".join(f'  names[{i}] = "n{i}"' for i in range(150))
    text = (f"global names, last, again\nprobe begin {{\n{table}\n  again = a(4)\n}}\n"
            "function a(x) { return b(x) }\nfunction b(y) { return c(y) }\nfunction c(z) { return names[z] }\n"
            "probe end { last = a(3); t = last }\n")
    options = CheckOptions(release=RELEASE)
    skipping = analyze_text(text, "t.stp", options, editor=True)

    def sweep_everything(s: object) -> None:
        tr = TypeResolver(s)  # type: ignore[arg-type]
        for _ in range(64):
            tr.newly = tr.still = 0
            with contextlib.suppress(SemanticError):
                tr.sweep(final=False)
            if tr.newly == 0:
                break

    from tapkit.semantic import editor

    monkeypatch.setattr(editor, "infer_quietly", sweep_everything)
    everything = analyze_text(text, "t.stp", options, editor=True)
    assert _types(skipping) == _types(everything)
    assert ("last", "string", ()) in _types(skipping) and ("again", "string", ()) in _types(skipping)


def test_documents_share_one_bounded_pool_and_never_each_others_analyses(
        lib_docs: Docs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(program, "FOCUSED_KEPT", 2)
    monkeypatch.setattr(program, "EXPENSIVE", float("inf"))
    offset = SCRIPT.index("counts = ")
    opened = [lib_docs.open(SCRIPT) for _ in range(3)]  # the same text: only the file differs
    found = [program.focused(snap, uri, offset) for snap, uri in opened]
    files = [a.files[0].path for a in found if a is not None]
    assert files == [snap.document(uri).filename for snap, uri in opened] and len(set(files)) == 3
    snap = opened[-1][0]
    assert [program.is_focused_built(snap, uri, offset) for _, uri in opened] == [False, True, True]
