"""tapkit.cache.store: cache files written whole or not at all."""

from __future__ import annotations

from pathlib import Path

from tapkit.cache import store


def test_store_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "entry.json"
    path.write_text("old")
    assert store(path, '{"new": 1}')
    assert path.read_text() == '{"new": 1}'
    assert store(path, b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]


def test_store_that_cannot_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "dir"
    target.mkdir()  # a directory where the file should go: the final rename fails
    (target / "keep").write_text("x")
    assert not store(target, "data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]
    assert not store(tmp_path / "missing" / "entry", "data")
