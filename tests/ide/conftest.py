"""Shared helpers: a workspace over the small fixture tapset (tests/ide/tapset) or the real library,
and `|` markers for cursor positions in test sources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tapkit.ide import LineIndex, Position, Settings, Snapshot, Workspace

HERE = Path(__file__).resolve().parent
FIXTURE_TAPSET = HERE / "tapset"
RELEASE = "6.1.0-56-amd64"


def cursor(marked: str) -> tuple[str, Position]:
    """The text without its one `|`, and the position the `|` marked."""
    offset = marked.index("|")
    text = marked[:offset] + marked[offset + 1:]
    return text, LineIndex(text).position(offset)


class Docs:
    """Opens texts as documents of one workspace and hands out snapshots."""

    def __init__(self, ws: Workspace, root: Path) -> None:
        self.ws = ws
        self.root = root
        self.count = 0

    def open(self, text: str, name: str | None = None) -> tuple[Snapshot, str]:
        self.count += 1
        path = self.root / (name or f"doc{self.count}.stp")
        uri = path.as_uri()
        self.ws.open(uri, text, version=1)
        return self.ws.snapshot(), uri

    def at(self, marked: str, name: str | None = None) -> tuple[Snapshot, str, Position]:
        text, pos = cursor(marked)
        snap, uri = self.open(text, name)
        return snap, uri, pos


@pytest.fixture(scope="session")
def fixture_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("ws")
    ws = Workspace([root], Settings(release=RELEASE), tapset_dir=FIXTURE_TAPSET)
    ws.load_library()
    return ws


@pytest.fixture
def docs(fixture_workspace: Workspace) -> Iterator[Docs]:
    d = Docs(fixture_workspace, fixture_workspace.roots[0])
    yield d
    for uri in list(fixture_workspace.snapshot().documents):
        fixture_workspace.close(uri)


@pytest.fixture(scope="session")
def library_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The real Debian tapset library (/usr/share/systemtap/tapset)."""
    from tests.tooling import require_tool

    require_tool("stap")
    root = tmp_path_factory.mktemp("libws")
    ws = Workspace([root], Settings(release=RELEASE))
    ws.load_library()
    return ws


@pytest.fixture
def lib_docs(library_workspace: Workspace) -> Iterator[Docs]:
    d = Docs(library_workspace, library_workspace.roots[0])
    yield d
    for uri in list(library_workspace.snapshot().documents):
        library_workspace.close(uri)
