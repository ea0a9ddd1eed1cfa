"""The semantic cache stays bounded: least recently used files go first, the newest write is always kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tapkit.semantic.cachebound import prune, touch
from tapkit.semantic.library import TapsetLibrary
from tapkit.target import Target
from tests.tooling import stap_release


def _file(directory: Path, name: str, size: int, age: float) -> Path:
    path = directory / name
    path.write_bytes(b"x" * size)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_the_oldest_files_go_until_the_rest_fits(tmp_path: Path) -> None:
    files = [_file(tmp_path, f"library-{i}.pickle", 1000, age=100.0 * i) for i in range(10)]
    (tmp_path / "formats-v1").mkdir()
    removed = prune(tmp_path, max_bytes=4500)
    assert sorted(removed) == sorted(files[4:])
    assert [p.exists() for p in files] == [True] * 4 + [False] * 6
    assert (tmp_path / "formats-v1").is_dir()


def test_age_bound_stale_temporaries_and_what_was_just_written(tmp_path: Path) -> None:
    old = _file(tmp_path, "files-old.pickle", 10, age=40 * 86400)
    fresh = _file(tmp_path, "files-new.pickle", 10, age=10)
    dead_tmp = _file(tmp_path, "library-x.pickle.123.tmp", 10, age=7200)
    live_tmp = _file(tmp_path, "library-y.pickle.456.tmp", 10, age=5)
    written = _file(tmp_path, "library-big.pickle", 5000, age=0)
    prune(tmp_path, max_bytes=10_000, keep=(written,))
    assert not old.exists() and not dead_tmp.exists()
    assert fresh.exists() and live_tmp.exists() and written.exists()


def test_a_hit_makes_a_file_recent_again(tmp_path: Path) -> None:
    used = _file(tmp_path, "library-used.pickle", 1000, age=5000)
    unused = _file(tmp_path, "library-unused.pickle", 1000, age=4000)
    touch(used)
    prune(tmp_path, max_bytes=1500)
    assert used.exists() and not unused.exists()


def test_loading_libraries_keeps_the_directory_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real library loads over many include-dir sets: the cache directory never passes the bound."""
    monkeypatch.setenv("TAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("tapkit.semantic.cachebound.MAX_BYTES", 3 << 20)
    target = Target(release=stap_release())
    directory = tmp_path / "cache" / "semantic"
    for i in range(4):
        inc = tmp_path / f"inc{i}"
        inc.mkdir()
        (inc / "mine.stp").write_text(f"function mine{i}() {{ return {i} }}\n")
        lib = TapsetLibrary.load(target, [str(inc)])
        assert lib.index is not None
        total = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
        assert total <= 3 << 20, total
    newest = max((p for p in directory.glob("library-*.pickle")), key=lambda p: p.stat().st_mtime)
    assert newest.stat().st_size > 0
    assert len(list(directory.glob("library-*.pickle"))) < 4
