"""End to end over stdio (pytest-lsp): what the semantic pass and the openafs.ko debuginfo bring to the editor —
semantic diagnostics, typed completion (after `->`, `$`, inside strings), ptype-like hover, definition into the C
source, references, rename, code actions (did-you-mean, declare a global, generate through tapkit gen) and
completionItem/resolve — with debuginfo indexing reported as LSP progress."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig

from tests.lsp.conftest import (
    SERVER,
    RecordingClient,
    doc_id,
    init_params,
    make_client,
    make_workspace,
    open_doc,
    pos,
    wait_until,
)

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

PUT = 'probe module("openafs").function("afs_PutDCache") {\n'
AFS = PUT + """  println($adc->f->chunk)
  p = $adc
  println(p->index)
}
"""
CAST = 'probe begin {\n  v = @cast(0, "vcache", "kernel:openafs")->\n}\n'
CHAIN = 'probe begin {\n  w = @cast(0, "vcache", "kernel:openafs")->f->fid->\n}\n'
ADC = PUT + "  x = $adc->\n}\n"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, openafs_ko: Path) -> Path:
    return make_workspace(tmp_path_factory.mktemp("semws"))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, client_factory=make_client),
                    scope="module")
async def client(lsp_client: RecordingClient, root: Path, openafs_ko: Path) -> AsyncIterator[None]:
    result = await lsp_client.initialize_session(init_params(root, debuginfo=[str(openafs_ko)]))
    caps = result.capabilities
    assert caps.references_provider and caps.rename_provider and caps.code_action_provider
    yield
    await lsp_client.shutdown_session()


def titles(client: RecordingClient) -> list[str]:
    return [v.title for values in client.progress_reports.values() for v in values
            if isinstance(v, T.WorkDoneProgressBegin)]


def ends(client: RecordingClient) -> list[str]:
    return [v.message or "" for values in client.progress_reports.values() for v in values
            if isinstance(v, T.WorkDoneProgressEnd)]


async def test_debuginfo_indexing_is_reported(client: RecordingClient) -> None:
    await wait_until(lambda: len(ends(client)) >= 3, what="library, debuginfo and header progress ends")
    assert titles(client) == ["tapkit: loading the tapset library", "tapkit: indexing debuginfo",
                              "tapkit: preparing @cast headers and tracepoints"]
    assert ends(client)[1] == "1 of 1 debuginfo files ready"
    assert re.fullmatch(r"\d+ of \d+ headers ready", ends(client)[2])


async def complete(client: RecordingClient, uri: str, text: str, marker: str,
                   after: int) -> dict[str, T.CompletionItem]:
    result = await client.text_document_completion_async(T.CompletionParams(
        text_document=doc_id(uri), position=pos(text, marker, after)))
    assert isinstance(result, T.CompletionList)
    return {i.label: i for i in result.items}


async def test_completion_after_arrow_from_openafs(client: RecordingClient, root: Path) -> None:
    await wait_until(lambda: len(ends(client)) >= 2, what="the library and the index")
    for name, text in (("cast.stp", CAST), ("chain.stp", CHAIN), ("adc.stp", ADC), ("afs.stp", AFS)):
        open_doc(client, (root / name).as_uri(), text)
    cast = await complete(client, (root / "cast.stp").as_uri(), CAST, "->\n", 2)
    assert cast["v"].detail == "struct inode (offset 0, size 632)" and cast["v"].kind == T.CompletionItemKind.Field
    assert cast["f"].detail == "struct fvcache (offset 728, size 96)"
    chain = await complete(client, (root / "chain.stp").as_uri(), CHAIN, "->f->fid->", 10)
    assert {k: i.detail for k, i in chain.items()} == {"Cell": "afs_int32 (offset 0, size 4)",
                                                      "Fid": "struct AFSFid (offset 4, size 12)"}
    adc = await complete(client, (root / "adc.stp").as_uri(), ADC, "x = $adc->", 10)
    assert adc["refCount"].detail == "short int (offset 164, size 2)" and "lruq" in adc
    dollars = await complete(client, (root / "afs.stp").as_uri(), AFS, "$adc->f->chunk", 1)
    assert {"$adc", "$$parms", "$$locals", "$$vars"} <= set(dollars)
    assert dollars["$adc"].detail == "struct dcache *"


async def test_completion_inside_strings(client: RecordingClient, root: Path) -> None:
    uri = (root / "strings.stp").as_uri()
    text = 'probe module("openafs").function("afs_PutDC") { println(@cast(0, "vcac", "kernel:openafs")) }\n'
    open_doc(client, uri, text)
    fns = await complete(client, uri, text, "afs_PutDC", 9)
    assert list(fns) == ["afs_PutDCache"] and fns["afs_PutDCache"].kind == T.CompletionItemKind.Function
    edit = fns["afs_PutDCache"].text_edit
    assert isinstance(edit, T.TextEdit) and edit.range.start.character == text.index("afs_PutDC")
    types = await complete(client, uri, text, '"vcac"', 5)
    assert types["vcache"].detail == "struct vcache (openafs)" and types["vcache"].kind == T.CompletionItemKind.Struct


async def test_hover_and_definition_into_c(client: RecordingClient, root: Path) -> None:
    uri = (root / "afs.stp").as_uri()
    h = await client.text_document_hover_async(T.HoverParams(text_document=doc_id(uri),
                                                             position=pos(AFS, "$adc->f->chunk", 2)))
    assert h is not None and isinstance(h.contents, T.MarkupContent)
    assert "struct dcache *adc" in h.contents.value
    assert "/* size: 256, cachelines: 4, members: 12 */" in h.contents.value
    member = await client.text_document_hover_async(T.HoverParams(text_document=doc_id(uri),
                                                                  position=pos(AFS, "f->chunk", 0)))
    assert member is not None and isinstance(member.contents, T.MarkupContent)
    assert "struct fcache f;  /* offset 168, size 80 */" in member.contents.value
    local = await client.text_document_hover_async(T.HoverParams(text_document=doc_id(uri),
                                                                 position=pos(AFS, "p = $adc", 0)))
    assert local is not None and isinstance(local.contents, T.MarkupContent)
    assert "local p: long" in local.contents.value and "struct dcache *" in local.contents.value
    found = await client.text_document_definition_async(T.DefinitionParams(
        text_document=doc_id(uri), position=pos(AFS, "afs_PutDCache", 3)))
    assert isinstance(found, list) and len(found) == 1 and isinstance(found[0], T.Location)
    assert found[0].uri.endswith("/afs_dcache.c")
    line = Path(found[0].uri.removeprefix("file://")).read_text(errors="replace").splitlines()[found[0].range.start.line]
    assert "afs_PutDCache" in line


async def test_semantic_diagnostics_and_did_you_mean(client: RecordingClient, root: Path) -> None:
    uri = (root / "typo.stp").as_uri()
    text = PUT + '  println(@cast($adc, "vcache", "kernel:openafs")->fidd)\n}\n'
    open_doc(client, uri, text)
    await wait_until(lambda: any(d.code == "sem.unknown-member" for d in client.diagnostics.get(uri, ())),
                     what="the semantic diagnostic")
    [d] = [d for d in client.diagnostics[uri] if d.code == "sem.unknown-member"]
    assert d.message.startswith("unable to find member 'fidd' for struct vcache") and d.source == "tapkit semantic"
    at = pos(text, "fidd", 1)
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        text_document=doc_id(uri), range=T.Range(start=at, end=at), context=T.CodeActionContext(diagnostics=[d])))
    assert actions
    fix = actions[0]
    assert isinstance(fix, T.CodeAction) and fix.title == "Change to 'f'" and fix.is_preferred
    assert fix.edit is not None and fix.edit.changes is not None
    [edit] = fix.edit.changes[uri]
    assert edit.new_text == "f" and edit.range.start == pos(text, "fidd")


async def test_declare_missing_global_and_generate(client: RecordingClient, root: Path) -> None:
    uri = (root / "undeclared.stp").as_uri()
    text = 'probe begin { counts[1] = 2 }\nprobe end { println(@cast(0, "fcache", "kernel:openafs")->chunk) }\n'
    open_doc(client, uri, text)
    await wait_until(lambda: bool(client.diagnostics.get(uri)), what="diagnostics")
    at = pos(text, "counts", 1)
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        text_document=doc_id(uri), range=T.Range(start=at, end=at),
        context=T.CodeActionContext(diagnostics=list(client.diagnostics[uri]))))
    assert actions is not None
    declare = [a for a in actions if isinstance(a, T.CodeAction) and a.title == "Declare global 'counts'"]
    assert declare and declare[0].edit is not None and declare[0].edit.changes is not None
    assert declare[0].edit.changes[uri][0].new_text == "global counts\n"
    at = pos(text, '"fcache"', 2)
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        text_document=doc_id(uri), range=T.Range(start=at, end=at), context=T.CodeActionContext(diagnostics=[])))
    assert actions is not None
    [gen] = [a for a in actions if isinstance(a, T.CodeAction) and a.kind == "refactor.generate"]
    assert gen.edit is None and gen.data is not None  # the edit is made when picked
    resolved = await client.code_action_resolve_async(gen)
    assert resolved.edit is not None and resolved.edit.changes is not None
    [appended] = resolved.edit.changes[uri]
    assert appended.range.start == T.Position(line=2, character=0) and "Printfcache" in appended.new_text


async def test_references_and_rename_across_the_workspace(client: RecordingClient, root: Path) -> None:
    uri = (root / "uses.stp").as_uri()
    text = "probe begin { println(mine_twice(1), execname()) }\n"
    open_doc(client, uri, text)
    at = pos(text, "mine_twice", 2)
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=doc_id(uri), position=at, context=T.ReferenceContext(include_declaration=True)))
    assert refs is not None
    assert {(Path(r.uri).name, r.range.start.line) for r in refs} >= {("uses.stp", 0), ("mine.stp", 4)}
    ready = await client.text_document_prepare_rename_async(T.PrepareRenameParams(text_document=doc_id(uri),
                                                                                  position=at))
    assert isinstance(ready, T.Range) and ready.start == pos(text, "mine_twice")
    edit = await client.text_document_rename_async(T.RenameParams(text_document=doc_id(uri), position=at,
                                                                  new_name="mine_double"))
    assert edit is not None and edit.changes is not None
    assert uri in edit.changes and (root / "tapsets" / "mine.stp").as_uri() in edit.changes
    assert all(e.new_text == "mine_double" for edits in edit.changes.values() for e in edits)
    with pytest.raises(Exception, match="only what the workspace defines"):
        await client.text_document_rename_async(T.RenameParams(
            text_document=doc_id(uri), position=pos(text, "execname", 2), new_name="x"))


async def test_completion_resolve_adds_alias_docs(client: RecordingClient, root: Path) -> None:
    uri = (root / "alias.stp").as_uri()
    text = "probe syscall.\n"
    open_doc(client, uri, text)
    items = await complete(client, uri, text, "syscall.", 8)
    item = items["open"]
    assert item.data is not None  # what the alias defines is read on resolve
    resolved = await client.completion_item_resolve_async(item)
    assert isinstance(resolved.documentation, T.MarkupContent) and "filename" in resolved.documentation.value
