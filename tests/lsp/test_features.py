"""Every feature of `tapkit lsp`, end to end over stdio (pytest-lsp), against the real tapset library."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig

from tests.lsp.conftest import (
    SERVER,
    RecordingClient,
    change_doc,
    doc_id,
    init_params,
    make_client,
    make_workspace,
    open_doc,
    pos,
    wait_until,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCRIPT = """\
global hits
probe vfs.read {
  hits++
  n = mine_twice(bytes_to_read)
}
function report(total) {
  printf("%d\\n", total)
}
probe end { report(hits) }
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("lspws"))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, client_factory=make_client),
                    scope="module")
async def client(lsp_client: RecordingClient, root: Path) -> AsyncIterator[None]:
    result = await lsp_client.initialize_session(init_params(root))
    caps = result.capabilities
    assert caps.completion_provider is not None and caps.document_formatting_provider
    assert caps.semantic_tokens_provider is not None and caps.signature_help_provider is not None
    yield
    await lsp_client.shutdown_session()


def own(diagnostics: Sequence[T.Diagnostic]) -> list[T.Diagnostic]:
    """The diagnostics of the document itself: without stap's warning, on every script once the library is
    loaded, that the workspace's broken tapset (tapsets/broken.stp, in an -I dir) is skipped."""
    return [d for d in diagnostics if d.code != "parse.tapset-skipped"]


def ended(client: RecordingClient) -> bool:
    return any(isinstance(v, T.WorkDoneProgressEnd) for values in client.progress_reports.values() for v in values)


async def test_library_loads_with_progress(client: RecordingClient, root: Path) -> None:
    await wait_until(lambda: ended(client), what="the end of the library progress")
    values, preparing = client.progress_reports.values()  # the library, then the @cast headers (after it)
    assert isinstance(values[0], T.WorkDoneProgressBegin) and "tapset library" in values[0].title
    assert isinstance(preparing[0], T.WorkDoneProgressBegin) and "@cast headers" in preparing[0].title
    assert any(isinstance(v, T.WorkDoneProgressReport) and v.percentage is not None for v in values)
    assert isinstance(values[-1], T.WorkDoneProgressEnd) and "files" in (values[-1].message or "")
    await wait_until(lambda: client.refreshes >= 1, what="semantic tokens refresh once the library is in")
    # the workspace's own tapsets get their diagnostics too
    broken = (root / "tapsets" / "broken.stp").as_uri()
    await wait_until(lambda: broken in client.diagnostics, what="workspace tapset diagnostics")
    assert client.diagnostics[broken][0].range.start.line == 0


async def test_diagnostics_follow_the_latest_version(client: RecordingClient, root: Path) -> None:
    uri = (root / "edit.stp").as_uri()
    open_doc(client, uri, "probe begin {\n  x = \n}\n")
    await wait_until(lambda: any(p.uri == uri for p in client.published), what="diagnostics on open")
    [first] = [p for p in client.published if p.uri == uri]
    [error] = own(first.diagnostics)
    assert first.version == 1 and error.code == "parse.expected-value"
    assert error.range.start == T.Position(line=2, character=0)
    for v in range(2, 8):  # typing fast: the first edit after the pause at once, then only the last version
        change_doc(client, uri, "probe begin {\n  println(" + "1" * (v - 1) + (" +" if v < 7 else "") + ")\n}\n", v)
    await wait_until(lambda: client.published[-1].uri == uri and client.published[-1].version == 7,
                     what="diagnostics of version 7")
    later = [p for p in client.published if p.uri == uri][1:]
    assert [p.version for p in later] in ([7], [2, 7]) and not own(later[-1].diagnostics)
    seen = len(client.published)
    client.text_document_did_close(T.DidCloseTextDocumentParams(text_document=doc_id(uri)))
    await wait_until(lambda: any(p.uri == uri and not p.diagnostics for p in client.published[seen:]),
                     what="diagnostics cleared on close")


async def test_document_symbols(client: RecordingClient, root: Path) -> None:
    uri = (root / "script.stp").as_uri()
    open_doc(client, uri, SCRIPT)
    symbols = await client.text_document_document_symbol_async(T.DocumentSymbolParams(text_document=doc_id(uri)))
    assert symbols is not None
    assert [(s.name, s.kind) for s in symbols] == [  # type: ignore[union-attr]
        ("hits", T.SymbolKind.Variable), ("vfs.read", T.SymbolKind.Event), ("report", T.SymbolKind.Function),
        ("end", T.SymbolKind.Event)]
    probe = symbols[1]
    assert isinstance(probe, T.DocumentSymbol) and [c.name for c in probe.children or []] == ["n"]
    assert probe.range.start == T.Position(line=1, character=0)


async def test_workspace_symbols(client: RecordingClient, root: Path) -> None:
    await wait_until(lambda: ended(client), what="the library")
    found = await client.workspace_symbol_async(T.WorkspaceSymbolParams(query="mine_tw"))
    assert found is not None
    [mine] = [s for s in found if s.name == "mine_twice"]
    assert isinstance(mine, T.SymbolInformation) and mine.kind == T.SymbolKind.Function
    assert mine.location.uri == (root / "tapsets" / "mine.stp").as_uri()
    assert mine.location.range.start.line == 4
    disk = await client.workspace_symbol_async(T.WorkspaceSymbolParams(query="from_disk"))
    assert disk and disk[0].location.uri == (root / "other.stp").as_uri()
    lib = await client.workspace_symbol_async(T.WorkspaceSymbolParams(query="user_string_n"))
    assert lib and all(s.location.uri.startswith("file:///usr/share/systemtap/tapset/")
                       for s in lib if s.name == "user_string_n")


async def test_folding_and_selection(client: RecordingClient, root: Path) -> None:
    uri = (root / "script.stp").as_uri()
    folds = await client.text_document_folding_range_async(T.FoldingRangeParams(text_document=doc_id(uri)))
    assert folds is not None
    assert {(f.start_line, f.end_line) for f in folds} == {(1, 3), (5, 6)}
    sel = await client.text_document_selection_range_async(T.SelectionRangeParams(
        text_document=doc_id(uri), positions=[pos(SCRIPT, "bytes_to_read", 2)]))
    assert sel is not None
    chain = []
    node: T.SelectionRange | None = sel[0]
    while node is not None:
        chain.append(node.range)
        node = node.parent
    assert chain[0] == T.Range(start=T.Position(line=3, character=17), end=T.Position(line=3, character=30))
    assert chain[-1].start == T.Position(line=0, character=0) and len(chain) >= 5


async def test_semantic_tokens(client: RecordingClient, root: Path) -> None:
    uri = (root / "script.stp").as_uri()
    tokens = await client.text_document_semantic_tokens_full_async(T.SemanticTokensParams(text_document=doc_id(uri)))
    assert tokens is not None
    legend = ["keyword", "function", "variable", "parameter", "property", "type", "namespace", "event", "macro",
              "string", "number", "comment", "operator"]
    line = char = 0
    decoded = {}
    data = tokens.data
    for i in range(0, len(data), 5):
        line += data[i]
        char = data[i + 1] if data[i] else char + data[i + 1]
        decoded[(line, char)] = (legend[data[i + 3]], data[i + 2], data[i + 4])
    assert decoded[(0, 0)] == ("keyword", 6, 0)  # global
    assert decoded[(0, 7)] == ("variable", 4, 0b101)  # hits: declaration | static
    assert decoded[(3, 6)][0] == "function"  # mine_twice
    assert decoded[(6, 9)] == ("string", 6, 0)
    assert decoded[(5, 16)][0] == "parameter"  # total


async def test_formatting(client: RecordingClient, root: Path) -> None:
    uri = (root / "messy.stp").as_uri()
    text = "probe begin{\nx=1\n      y = x+2\n}\n"
    open_doc(client, uri, text)
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        text_document=doc_id(uri), options=T.FormattingOptions(tab_size=4, insert_spaces=True)))
    assert edits
    lines = text.split("\n")
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        head = "\n".join([*lines[:e.range.start.line], lines[e.range.start.line][:e.range.start.character]])
        tail_line = lines[e.range.end.line] if e.range.end.line < len(lines) else ""
        tail = "\n".join([tail_line[e.range.end.character:], *lines[e.range.end.line + 1:]])
        lines = (head + e.new_text + tail).split("\n")
    assert "\n".join(lines) == "probe begin {\n    x = 1\n    y = x + 2\n}\n"


async def test_completion(client: RecordingClient, root: Path) -> None:
    uri = (root / "complete.stp").as_uri()
    text = "probe vfs.read {\n  x = mine\n}\nprobe syscall.\n"
    open_doc(client, uri, text)
    result = await client.text_document_completion_async(T.CompletionParams(
        text_document=doc_id(uri), position=pos(text, "mine", 4)))
    assert isinstance(result, T.CompletionList)
    [item] = [i for i in result.items if i.label == "mine_twice"]
    assert item.kind == T.CompletionItemKind.Function and item.detail == "mine_twice:long (n:long)"
    assert isinstance(item.text_edit, T.TextEdit) and item.text_edit.new_text == "mine_twice(${1:n})"
    assert item.text_edit.range == T.Range(start=T.Position(line=1, character=6), end=T.Position(line=1, character=10))
    assert item.insert_text_format == T.InsertTextFormat.Snippet
    assert isinstance(item.documentation, T.MarkupContent) and "Double a number" in item.documentation.value
    points = await client.text_document_completion_async(T.CompletionParams(
        text_document=doc_id(uri), position=pos(text, "syscall.", 8)))
    assert isinstance(points, T.CompletionList)
    assert {"open", "read", "close"} <= {i.label for i in points.items}
    body = await client.text_document_completion_async(T.CompletionParams(
        text_document=doc_id(uri), position=pos(text, "x = ", 4)))
    assert isinstance(body, T.CompletionList)
    assert {"bytes_to_read", "file", "x"} <= {i.label for i in body.items}  # vfs.read defines them


async def test_signature_help(client: RecordingClient, root: Path) -> None:
    uri = (root / "sig.stp").as_uri()
    text = "probe begin { s = user_string_n(a, ) }\n"
    open_doc(client, uri, text)
    help = await client.text_document_signature_help_async(T.SignatureHelpParams(
        text_document=doc_id(uri), position=pos(text, ", )", 2)))
    assert help is not None and help.active_parameter == 1
    assert [s.label for s in help.signatures][:2] == ["user_string_n:string (addr:long, n:long)",
                                                      "user_string_n:string (addr:long, n:long, err_msg:string)"]
    assert help.signatures[0].parameters and help.signatures[0].parameters[1].label == "n:long"


async def test_hover_and_definition(client: RecordingClient, root: Path) -> None:
    uri = (root / "script.stp").as_uri()
    h = await client.text_document_hover_async(T.HoverParams(text_document=doc_id(uri),
                                                             position=pos(SCRIPT, "mine_twice", 3)))
    assert h is not None and isinstance(h.contents, T.MarkupContent)
    assert "function mine_twice:long (n:long)" in h.contents.value and "Double a number" in h.contents.value
    assert h.range == T.Range(start=T.Position(line=3, character=6), end=T.Position(line=3, character=16))
    found = await client.text_document_definition_async(T.DefinitionParams(
        text_document=doc_id(uri), position=pos(SCRIPT, "vfs.read", 5)))
    assert isinstance(found, list) and len(found) >= 1
    assert all(isinstance(loc, T.Location) and loc.uri.endswith("/vfs.stp") for loc in found)
    local = await client.text_document_definition_async(T.DefinitionParams(
        text_document=doc_id(uri), position=pos(SCRIPT, "report(hits)", 1)))
    assert isinstance(local, list) and local[0].range.start == T.Position(line=5, character=9)  # type: ignore[union-attr]


async def test_settings_change_reaches_the_analysis(client: RecordingClient, root: Path) -> None:
    uri = (root / "guru.stp").as_uri()
    open_doc(client, uri, "%{ int x; %}\nprobe begin { println(1) }\n")
    await wait_until(lambda: any(p.uri == uri for p in client.published), what="diagnostics")
    assert [d.code for d in own(client.diagnostics[uri])] == ["parse.embedded-unprivileged"]
    client.set_configuration({"tapsetDirs": ["tapsets"], "release": "6.1.0-56-amd64", "guruMode": True},
                             section="tapkit")
    client.workspace_did_change_configuration(T.DidChangeConfigurationParams(settings=None))  # "pull them"
    await wait_until(lambda: not own(client.diagnostics[uri]), what="diagnostics without the guru error")


async def test_workspace_folders_can_change(client: RecordingClient, root: Path,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    extra = tmp_path_factory.mktemp("second")
    (extra / "far.stp").write_text("function far_away_fn() { return 3 }\nprobe begin {}\n")
    assert not await client.workspace_symbol_async(T.WorkspaceSymbolParams(query="far_away_fn"))
    client.workspace_did_change_workspace_folders(T.DidChangeWorkspaceFoldersParams(event=T.WorkspaceFoldersChangeEvent(
        added=[T.WorkspaceFolder(uri=extra.as_uri(), name="second")], removed=[])))
    found = await client.workspace_symbol_async(T.WorkspaceSymbolParams(query="far_away_fn"))
    assert found and found[0].location.uri == (extra / "far.stp").as_uri()
