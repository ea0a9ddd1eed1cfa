"""The outline of a document and symbol search across documents, workspace files and the library."""

from __future__ import annotations

from pathlib import Path

from tapkit.ide import Settings, SymbolKind, Workspace, document_symbols, path_to_uri, workspace_symbols
from tapkit.ide.symbols import matches
from tests.ide.conftest import FIXTURE_TAPSET, RELEASE, Docs

SCRIPT = """\
global hits, sizes[100]
private global secret = 3
@define twice(x) %( (@x * 2) %)

probe begin, timer.s(1) {
  count = 1
  foreach ([k, v] in sizes) total += v
}

probe my.alias = demo.open { extra = flags }

function add:long (a:long, b) {
  sum = a + b
  hits++
  return sum
}
%{ int c_side; %}
"""


def test_document_outline_is_hierarchical(docs: Docs) -> None:
    snap, uri = docs.open(SCRIPT)
    syms = document_symbols(snap, uri)
    assert [(s.name, s.kind) for s in syms] == [
        ("hits", SymbolKind.GLOBAL), ("sizes", SymbolKind.ARRAY), ("secret", SymbolKind.GLOBAL),
        ("@twice", SymbolKind.MACRO), ("begin, timer.s(1)", SymbolKind.PROBE), ("my.alias", SymbolKind.ALIAS),
        ("add", SymbolKind.FUNCTION), ("%{ %}", SymbolKind.EMBEDDED)]
    by_name = {s.name: s for s in syms}
    assert [c.name for c in by_name["begin, timer.s(1)"].children] == ["count", "k", "v", "total"]
    assert [c.name for c in by_name["my.alias"].children] == ["extra"]
    assert by_name["my.alias"].detail == "= demo.open"
    add = by_name["add"]
    assert add.detail == "function:long (a:long, b)"
    assert [(c.name, c.kind) for c in add.children] == [
        ("a", SymbolKind.PARAMETER), ("b", SymbolKind.PARAMETER), ("sum", SymbolKind.LOCAL)]  # hits is a global
    assert by_name["secret"].detail == "private global"
    assert (add.selection_span.line, add.selection_span.column) == (12, 10)
    for s in syms:  # every name lies inside its declaration
        assert (s.span.line, s.span.column) <= (s.selection_span.line, s.selection_span.column)


def test_half_typed_document_keeps_its_complete_items(docs: Docs) -> None:
    snap, uri = docs.open("global a\nfunction f() { return 1 }\nprobe begin { x = \n")
    assert [s.name for s in document_symbols(snap, uri)] == ["a", "f"]


def test_matching_ranks_prefix_then_substring_then_letters() -> None:
    assert matches("demo", "demo_read") == 0
    assert matches("read", "demo_read") == 1
    assert matches("drd", "demo_read") == 2
    assert matches("xyz", "demo_read") is None
    assert matches("", "anything") == 3


def test_workspace_symbols_cover_documents_files_and_library(tmp_path: Path) -> None:
    (tmp_path / "tapsets").mkdir()
    (tmp_path / "tapsets" / "local.stp").write_text("function demo_local() { return 2 }\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "skip.stp").write_text("function demo_skipped() {}\n")
    ws = Workspace([tmp_path], Settings(release=RELEASE), tapset_dir=FIXTURE_TAPSET)
    ws.load_library()
    ws.open(path_to_uri(tmp_path / "open.stp"), "function demo_open() { return 1 }\nprobe begin {}\n", 1)
    found = workspace_symbols(ws.snapshot(), "demo")
    names = [s.name for s in found]
    assert {"demo_open", "demo_local", "demo_read", "demo.open", "demo_count", "@demo_pick"} <= set(names)
    assert "demo_skipped" not in names and "demo_secret" not in names
    read = [s for s in found if s.name == "demo_read"]
    assert len(read) == 2 and read[0].container == str(FIXTURE_TAPSET / "demo.stp")
    assert names.index("demo_open") < names.index("_demo_internal")  # prefix matches rank first
    assert len(workspace_symbols(ws.snapshot(), "", limit=3)) == 3
