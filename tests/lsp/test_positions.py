"""LSP columns are UTF-16 code units unless the client and server agree on another encoding;
tapkit counts code points. Everything that crosses the wire must convert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.lsp.conftest import RELEASE, SERVER
from tests.lsp.rawclient import RawClient, initialize
from tests.tooling import require_tool

TEXT = 'probe begin { s = "😀😀"; n = user_string_n(1, 2) }\n'
CP = TEXT.index("user_string_n")  # code points before the name: 29
U16 = CP + 2  # each 😀 is two UTF-16 units


def _session(tmp_path: Path, encodings: list[str] | None) -> tuple[RawClient, Any, dict[str, Any]]:
    require_tool("stap")  # user_string_n comes from its tapset library
    client, proc = RawClient.process(SERVER)
    caps: dict[str, Any] = {"textDocument": {"completion": {"completionItem": {"snippetSupport": True}}}}
    if encodings is not None:
        caps["general"] = {"positionEncodings": encodings}
    result = initialize(client, tmp_path.as_uri(), caps, {"release": RELEASE})
    uri = (tmp_path / "emoji.stp").as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "systemtap", "version": 1,
                                                            "text": TEXT}})
    return client, proc, {"uri": uri, "capabilities": result["result"]["capabilities"]}


def _finish(client: RawClient, proc: Any) -> None:
    client.request(99, "shutdown", None)
    client.notify("exit", None)
    proc.wait(timeout=30)
    proc.communicate(timeout=10)


def _checks(client: RawClient, uri: str, col: int) -> None:
    hover = client.request(2, "textDocument/hover", {"textDocument": {"uri": uri},
                                                     "position": {"line": 0, "character": col + 3}})
    rng = hover["result"]["range"]
    assert (rng["start"]["character"], rng["end"]["character"]) == (col, col + len("user_string_n"))
    completion = client.request(3, "textDocument/completion", {"textDocument": {"uri": uri},
                                                               "position": {"line": 0, "character": col + 4}})
    item = next(i for i in completion["result"]["items"] if i["label"] == "user_string_n")
    assert item["textEdit"]["range"]["start"]["character"] == col
    assert item["textEdit"]["range"]["end"]["character"] == col + 4
    tokens = client.request(4, "textDocument/semanticTokens/full", {"textDocument": {"uri": uri}})["result"]["data"]
    starts, char = [], 0
    for i in range(0, len(tokens), 5):
        char = tokens[i + 1] if tokens[i] else char + tokens[i + 1]
        starts.append((char, tokens[i + 2]))
    assert (col, len("user_string_n")) in starts
    string_len = 6 if col != CP else 4  # two quotes and two emoji of 2 (UTF-16) or 1 (UTF-32) units each
    assert (TEXT.index('"'), string_len) in starts


def test_utf16_by_default(tmp_path: Path) -> None:
    client, proc, s = _session(tmp_path, None)
    try:
        assert s["capabilities"].get("positionEncoding", "utf-16") == "utf-16"
        _checks(client, s["uri"], U16)
    finally:
        _finish(client, proc)


def test_utf32_when_the_client_prefers_it(tmp_path: Path) -> None:
    client, proc, s = _session(tmp_path, ["utf-32", "utf-16"])
    try:
        assert s["capabilities"]["positionEncoding"] == "utf-32"
        _checks(client, s["uri"], CP)
    finally:
        _finish(client, proc)
