"""Find references and rename: locals in their probe, a script's own functions and globals, and what a
workspace tapset defines across every workspace file; the tapset library is not renamed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.ide import (
    Position,
    RenameError,
    Settings,
    Workspace,
    path_to_uri,
    prepare_rename,
    references,
    rename,
)
from tests.ide.conftest import FIXTURE_TAPSET, RELEASE

MINE = "global mine_count\nfunction mine_twice:long (n:long) { mine_count++; return n * 2 }\n"
A = "probe begin { println(mine_twice(1)) }\n"
B = "probe end { x = mine_twice(2); println(x + mine_count) }\n"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    (tmp_path / "tapsets").mkdir()
    (tmp_path / "tapsets" / "mine.stp").write_text(MINE)
    (tmp_path / "a.stp").write_text(A)
    (tmp_path / "b.stp").write_text(B)
    w = Workspace([tmp_path], Settings(release=RELEASE, tapset_dirs=(tmp_path / "tapsets",)),
                  tapset_dir=FIXTURE_TAPSET)
    w.load_library()
    return w


def where(spans: list[object]) -> list[tuple[str, int, int]]:
    return [(Path(s.file).name, s.line, s.column) for s in spans]  # type: ignore[attr-defined]


def test_workspace_tapset_function_is_found_and_renamed_everywhere(ws: Workspace, tmp_path: Path) -> None:
    snap = ws.snapshot()
    a = path_to_uri(tmp_path / "a.stp")
    at = Position(1, A.index("mine_twice") + 2)
    assert where(references(snap, a, at)) == [("a.stp", 1, 23), ("b.stp", 1, 17), ("mine.stp", 2, 10)]
    assert where(references(snap, a, at, include_definition=False)) == [("a.stp", 1, 23), ("b.stp", 1, 17)]
    edits = rename(snap, a, at, "mine_thrice")
    assert {(Path(e.span.file).name, e.span.column, e.new_text) for e in edits} == {
        ("a.stp", 23, "mine_thrice"), ("b.stp", 17, "mine_thrice"), ("mine.stp", 10, "mine_thrice")}
    assert all(e.span.end_column - e.span.column == len("mine_twice") for e in edits)


def test_open_document_text_wins_over_the_file(ws: Workspace, tmp_path: Path) -> None:
    b = path_to_uri(tmp_path / "b.stp")
    ws.open(b, "\n" + B, version=2)  # edited in the editor, not saved: one line lower
    snap = ws.snapshot()
    a = path_to_uri(tmp_path / "a.stp")
    found = where(references(snap, a, Position(1, A.index("mine_twice") + 2)))
    assert ("b.stp", 2, 17) in found and ("b.stp", 1, 17) not in found


def test_locals_stay_in_their_probe(ws: Workspace, tmp_path: Path) -> None:
    snap = ws.snapshot()
    b = path_to_uri(tmp_path / "b.stp")
    x = Position(1, B.index("x =") + 1)
    assert where(references(snap, b, x)) == [("b.stp", 1, 13), ("b.stp", 1, 40)]
    assert prepare_rename(snap, b, x).column == 13
    assert [(e.span.column, e.new_text) for e in rename(snap, b, x, "total")] == [(13, "total"), (40, "total")]


def test_rename_refuses_what_it_cannot_do(ws: Workspace, tmp_path: Path) -> None:
    snap = ws.snapshot()
    b = path_to_uri(tmp_path / "b.stp")
    x = Position(1, B.index("x =") + 1)
    with pytest.raises(RenameError, match="already a global"):
        rename(snap, b, x, "mine_count")
    with pytest.raises(RenameError, match="not a valid name"):
        rename(snap, b, x, "2x")
    with pytest.raises(RenameError, match="not a valid name"):
        rename(snap, b, x, "probe")
    with pytest.raises(RenameError, match="no variable or function"):
        prepare_rename(snap, b, Position(1, B.index("println") + 2))  # a built-in
    ws.open(path_to_uri(tmp_path / "c.stp"), "probe begin { println(demo_read(1)) }\n", version=1)
    snap = ws.snapshot()
    with pytest.raises(RenameError, match="tapset library"):
        prepare_rename(snap, path_to_uri(tmp_path / "c.stp"), Position(1, 25))
