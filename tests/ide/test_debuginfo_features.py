"""Completion, hover, definition, diagnostics and code actions over the real openafs.ko (DWARF 5) and the
real tapset library: what the semantic pass and the debuginfo index add to the editor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tapkit.diagnostics import Span
from tapkit.ide import (
    CompletionKind,
    Completions,
    Settings,
    Workspace,
    code_actions,
    complete,
    definition,
    document_diagnostics,
    generate_edit,
    hover,
)
from tests.ide.conftest import RELEASE, Docs

pytestmark = pytest.mark.slow
K = CompletionKind
PUT = 'probe module("openafs").function("afs_PutDCache") {'


@pytest.fixture(scope="module")
def afs_workspace(openafs_ko: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from tests.tooling import require_tool

    require_tool("stap")
    root = tmp_path_factory.mktemp("afsws")
    ws = Workspace([root], Settings(release=RELEASE, debuginfo=(str(openafs_ko),)))
    ws.load_library()
    assert ws.index_debuginfo() == []
    return ws


@pytest.fixture
def afs(afs_workspace: Workspace) -> Iterator[Docs]:
    d = Docs(afs_workspace, afs_workspace.roots[0])
    yield d
    for uri in list(afs_workspace.snapshot().documents):
        afs_workspace.close(uri)


def run(docs: Docs, marked: str) -> Completions:
    return complete(*docs.at(marked))


def details(result: Completions) -> dict[str, str]:
    return {c.label: c.detail for c in result.items}


def test_members_after_cast_arrow(afs: Docs) -> None:
    result = run(afs, 'probe begin { p = 0; x = @cast(p, "vcache", "kernel:openafs")->| }')
    found = details(result)
    assert found["v"] == "struct inode (offset 0, size 632)"  # the first member of struct vcache
    assert found["f"] == "struct fvcache (offset 728, size 96)"
    assert {"lock", "callback", "cachingStates"} <= set(found)
    assert all(c.kind is K.FIELD for c in result.items)
    assert [c.label for c in result.items][:2] == ["v", "vlruq"]  # in declaration order


def test_member_chain_through_structs(afs: Docs) -> None:
    result = run(afs, 'probe begin { p = 0; x = @cast(p, "vcache", "kernel:openafs")->f->fid->| }')
    assert details(result) == {"Cell": "afs_int32 (offset 0, size 4)", "Fid": "struct AFSFid (offset 4, size 12)"}
    marked = 'probe begin { p = 0; x = @cast(p, "vcache", "kernel:openafs")->f->fid->Fi| }'
    typed = run(afs, marked)
    assert [c.label for c in typed.items] == ["Fid"]
    start = marked.index("Fi|") + 1
    assert (typed.replace.column, typed.replace.end_column) == (start, start + 2)  # the typed word


def test_target_variable_members_and_locals_holding_pointers(afs: Docs) -> None:
    result = run(afs, PUT + " x = $adc->| }")
    found = details(result)
    assert found["lruq"] == "struct afs_q (offset 0, size 16)" and found["f"].startswith("struct fcache")
    assert found["refCount"].startswith("short int (offset 164")
    through_typedef = run(afs, PUT + " x = $adc->lock->| }")  # afs_rwlock_t is a typedef of a struct
    assert through_typedef.items and all(c.kind is K.FIELD for c in through_typedef.items)
    local = run(afs, PUT + " p = $adc; x = p->f->| }")  # a local holding the pointer keeps its C type
    assert {"fid", "chunk", "modTime"} <= set(details(local))


def test_dollar_variables_of_the_probed_function(afs: Docs) -> None:
    result = run(afs, PUT + " x = $| }")
    assert details(result) == {"$adc": "struct dcache *", "$$parms": "string", "$$locals": "string",
                               "$$vars": "string"}
    assert result.items[0].label == "$adc"  # the function's own variables first


def test_names_inside_strings(afs: Docs) -> None:
    fns = run(afs, 'probe module("openafs").function("afs_PutDC|") {}')
    assert [(c.label, c.kind) for c in fns.items] == [("afs_PutDCache", K.FUNCTION)]
    many = run(afs, 'probe module("openafs").function("afs_Get|") {}')
    assert {"afs_GetDCache", "afs_GetVolume"} <= {c.label for c in many.items}
    types = run(afs, 'probe begin { x = @cast(0, "vcac|", "kernel:openafs") }')
    assert [(c.label, c.detail) for c in types.items] == [("vcache", "struct vcache (openafs)")]
    modules = run(afs, 'probe begin { x = @cast(0, "vcache", "|") }')
    assert {"kernel", "kernel:openafs", "openafs"} <= {c.label for c in modules.items}


def test_hover_layouts_like_ptype(afs: Docs) -> None:
    h = hover(*afs.at(PUT + " println($a|dc->f->chunk) }"))
    assert h is not None
    assert "struct dcache *adc" in h.markdown and "parameter of afs_PutDCache" in h.markdown
    assert "struct dcache {" in h.markdown and "/* size: 256, cachelines: 4, members: 12 */" in h.markdown
    member = hover(*afs.at(PUT + " println($adc->|f->chunk) }"))
    assert member is not None and "struct fcache f;  /* offset 168, size 80 */" in member.markdown
    assert "member of `struct dcache`" in member.markdown and "struct fcache {" in member.markdown
    cast = hover(*afs.at('probe begin { x = @cast(0, "vca|che", "kernel:openafs")->f }'))
    assert cast is not None and "struct vcache {" in cast.markdown and "afs.h:" in cast.markdown
    local = hover(*afs.at(PUT + " p| = $adc; println(p->f->chunk) }"))
    assert local is not None and "local p: long" in local.markdown and "struct dcache *" in local.markdown


def test_definition_reaches_the_c_source(afs: Docs) -> None:
    [param] = definition(*afs.at(PUT + " println($a|dc->index) }"))
    assert param.file.endswith("/afs_dcache.c") and Path(param.file).is_file()
    assert "afs_PutDCache" in Path(param.file).read_text(errors="replace").splitlines()[param.line - 1]
    [fn] = definition(*afs.at('probe module("openafs").function("afs_Put|DCache") { println(1) }'))
    assert (fn.file, fn.line) == (param.file, param.line)
    [struct] = definition(*afs.at('probe begin { x = @cast(0, "vca|che", "kernel:openafs")->f }'))
    assert struct.file.endswith("/afs.h") and "struct vcache" in Path(struct.file).read_text(
        errors="replace").splitlines()[struct.line - 1]


def test_semantic_diagnostics_with_did_you_mean_fixes(afs: Docs) -> None:
    text = PUT + ' println(@cast($adc, "vcache", "kernel:openafs")->fidd) }'
    snap, uri = afs.open(text)
    [d] = [d for d in document_diagnostics(snap, uri) if d.code == "sem.unknown-member"]
    assert d.message.startswith("unable to find member 'fidd' for struct vcache")
    actions = code_actions(snap, uri, Span(d.span.file, 1, text.index("fidd") + 2, 1, text.index("fidd") + 2))
    fixes = [a for a in actions if a.kind == "quickfix"]
    assert fixes[0].title == "Change to 'f'" and fixes[0].preferred and fixes[0].edits[0].new_text == "f"
    assert fixes[0].edits[0].span.column == text.index("fidd") + 1


def test_generate_print_functions_for_a_struct(afs: Docs) -> None:
    text = 'probe begin { x = @cast(0, "fcache", "kernel:openafs")->chunk; println(x) }\n'
    snap, uri = afs.open(text)
    [gen] = [a for a in code_actions(snap, uri, Span("", 1, 30, 1, 30)) if a.kind == "refactor.generate"]
    assert gen.resolve == ("generate", "fcache", "openafs") and not gen.edits
    edit = generate_edit(snap, uri, "fcache", "openafs")
    assert (edit.span.line, edit.span.column) == (2, 1)  # appended after the last line
    assert "function Printfcache" in edit.new_text or "Printfcache" in edit.new_text
    assert "@cast(" in edit.new_text
