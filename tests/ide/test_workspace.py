"""The workspace model: documents and versions, snapshots, document kinds, the parse cache, the library."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.ide import DocumentKind, Settings, UnknownDocument, Workspace, path_to_uri, uri_to_path
from tests.ide.conftest import FIXTURE_TAPSET, RELEASE


def test_uris_and_paths_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "a dir" / "x#1.stp"
    uri = path_to_uri(p)
    assert uri.startswith("file://") and "%20" in uri and "%23" in uri
    assert uri_to_path(uri) == p
    assert uri_to_path("untitled:Untitled-1") is None


def test_snapshots_do_not_see_later_edits(tmp_path: Path) -> None:
    ws = Workspace([tmp_path], Settings(release=RELEASE), tapset_dir=FIXTURE_TAPSET)
    uri = path_to_uri(tmp_path / "a.stp")
    ws.open(uri, "probe begin { x = 1 }\n", version=1)
    before = ws.snapshot()
    ws.update(uri, "probe end { y = 2 }\n", version=2)
    after = ws.snapshot()
    assert before.document(uri).version == 1 and after.document(uri).version == 2
    assert "begin" in before.document(uri).text and ws.version(uri) == 2
    assert before.parse(uri).file.items[0].points[0].components[0].name == "begin"  # type: ignore[attr-defined]
    assert after.parse(uri).file.items[0].points[0].components[0].name == "end"  # type: ignore[attr-defined]


def test_parse_results_are_cached_by_content(tmp_path: Path) -> None:
    ws = Workspace([tmp_path], Settings(release=RELEASE), tapset_dir=FIXTURE_TAPSET)
    uri = path_to_uri(tmp_path / "a.stp")
    ws.open(uri, "probe begin {}\n", 1)
    first = ws.snapshot().parse(uri)
    ws.update(uri, "probe begin {}\n", 2)  # same text, new version
    assert ws.snapshot().parse(uri) is first
    ws.update(uri, "probe end {}\n", 3)
    assert ws.snapshot().parse(uri) is not first


def test_document_kinds_follow_the_tapset_dirs(tmp_path: Path) -> None:
    lib = tmp_path / "mytapsets"
    lib.mkdir()
    ws = Workspace([tmp_path], Settings(release=RELEASE, tapset_dirs=(lib,)), tapset_dir=FIXTURE_TAPSET)
    snap = ws.snapshot()
    assert snap.kind_of(tmp_path / "script.stp") is DocumentKind.SCRIPT
    assert snap.kind_of(lib / "t.stp") is DocumentKind.TAPSET
    assert snap.kind_of(FIXTURE_TAPSET / "demo.stp") is DocumentKind.TAPSET
    assert snap.kind_of(tmp_path / "m.stpm") is DocumentKind.MACROS
    # a tapset file may be empty; a script may not
    ws.open(path_to_uri(lib / "t.stp"), "", 1)
    ws.open(path_to_uri(tmp_path / "s.stp"), "", 1)
    snap = ws.snapshot()
    assert snap.parse(path_to_uri(lib / "t.stp")).diagnostics == ()
    assert [d.code for d in snap.parse(path_to_uri(tmp_path / "s.stp")).diagnostics] == ["parse.empty-file"]


def test_files_on_disk_are_documents_too(tmp_path: Path) -> None:
    ws = Workspace([tmp_path], Settings(release=RELEASE), tapset_dir=FIXTURE_TAPSET)
    f = tmp_path / "disk.stp"
    f.write_text("probe begin { exit() }\n")
    snap = ws.snapshot()
    doc = snap.document(path_to_uri(f))
    assert doc.version is None and doc.filename == str(f)
    assert snap.workspace_files() == [f]
    with pytest.raises(UnknownDocument):
        snap.document(path_to_uri(tmp_path / "missing.stp"))


def test_library_loads_with_progress_and_reloads_on_new_settings(tmp_path: Path) -> None:
    ws = Workspace([tmp_path], Settings(release=RELEASE), tapset_dir=FIXTURE_TAPSET)
    assert not ws.library.loaded and not ws.library_is_current()
    calls: list[tuple[int, int, str]] = []
    index = ws.load_library(lambda done, total, what: calls.append((done, total, what)))
    assert index.loaded and ws.library_is_current()
    assert calls[0] == (0, 1, "tapset library") and calls[-1] == (1, 1, "done")
    assert [f.arity for f in index.functions["demo_read"]] == [1, 2]
    assert "demo_secret" not in index.functions  # private to its file
    assert index.macros["demo_pick"].doc is not None
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "more.stp").write_text("function more() { return 1 }\n")
    assert ws.configure(Settings(release=RELEASE, tapset_dirs=(extra,)))
    assert not ws.library_is_current()
    assert "more" in ws.load_library().functions
    assert not ws.configure(Settings(release=RELEASE, tapset_dirs=(extra,)))  # unchanged
