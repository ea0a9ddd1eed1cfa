"""Driving the real `tapkit lsp` over stdio with pytest-lsp: a client that records every
publishDiagnostics (with its version), a workspace folder with a tapset directory, helpers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

SERVER = [sys.executable, "-m", "tapkit.cli", "lsp"]
RELEASE = "6.1.0-56-amd64"


class RecordingClient(LanguageClient):
    """A pytest-lsp client that also keeps every diagnostics notification, in order."""

    published: list[T.PublishDiagnosticsParams]
    refreshes: int


def make_client() -> RecordingClient:
    client = RecordingClient(converter_factory=default_converter)
    client.published = []
    client.refreshes = 0

    def publish(c: RecordingClient, params: T.PublishDiagnosticsParams) -> None:
        c.diagnostics[params.uri] = params.diagnostics
        c.published.append(params)

    def refresh(c: RecordingClient, params: None) -> None:
        c.refreshes += 1

    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: publish,
                                   T.WORKSPACE_SEMANTIC_TOKENS_REFRESH: refresh})
    return client


def make_workspace(root: Path) -> Path:
    """A workspace folder with its own tapsets/ (one documented function, one broken file) and a script.
    The server under test also reads the system tapset library: without SystemTap, there is none."""
    from tests.tooling import require_tool

    require_tool("stap")
    (root / "tapsets").mkdir(parents=True, exist_ok=True)
    (root / "tapsets" / "mine.stp").write_text(
        "/**\n * sfunction mine_twice - Double a number\n * @n: the number\n */\n"
        "function mine_twice:long (n:long) { return n * 2 }\n")
    (root / "tapsets" / "broken.stp").write_text("function broken( { }\n")
    (root / "other.stp").write_text("function from_disk() { return 1 }\nprobe begin { from_disk() }\n")
    return root


def init_params(root: Path, **options: Any) -> T.InitializeParams:
    caps = client_capabilities("visual-studio-code")
    settings = {"tapsetDirs": ["tapsets"], "release": RELEASE, **options}
    return T.InitializeParams(capabilities=caps, root_uri=root.as_uri(),
                              workspace_folders=[T.WorkspaceFolder(uri=root.as_uri(), name="ws")],
                              initialization_options=settings)


async def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(T.DidOpenTextDocumentParams(
        text_document=T.TextDocumentItem(uri=uri, language_id="systemtap", version=version, text=text)))


def change_doc(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[T.TextDocumentContentChangeWholeDocument(text=text)]))


def doc_id(uri: str) -> T.TextDocumentIdentifier:
    return T.TextDocumentIdentifier(uri=uri)


def pos(text: str, marker: str, after: int = 0) -> T.Position:
    """The LSP position (UTF-16) of marker's first occurrence plus `after` characters."""
    offset = text.index(marker) + after
    line = text.count("\n", 0, offset)
    col_text = text[text.rfind("\n", 0, offset) + 1:offset]
    return T.Position(line=line, character=len(col_text.encode("utf-16-le")) // 2)
