"""The server never dies on bad input: malformed messages and parameters get LSP errors, bad
documents get diagnostics, internal errors are logged and answered; shutdown/exit ends with 0.
Also: `tapkit lsp --tcp PORT`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.lsp.conftest import RELEASE, SERVER
from tests.lsp.rawclient import RawClient, initialize

INVALID_PARAMS, PARSE_ERROR, METHOD_NOT_FOUND = -32602, -32700, -32601


def test_garbage_in_errors_out_and_the_server_lives_on(tmp_path: Path) -> None:
    client, proc = RawClient.process(SERVER)
    try:
        result = initialize(client, tmp_path.as_uri(), options={"release": RELEASE, "guruMode": "maybe"})
        assert "capabilities" in result["result"]
        uri = (tmp_path / "bad.stp").as_uri()

        client.send_body(b"{this is not json")
        assert client.next_response()["error"]["code"] == PARSE_ERROR
        client.send_bytes(b"Content-Length: nonsense\r\n\r\n")  # a broken header is skipped
        hover = client.request(2, "textDocument/hover", {"textDocument": {"uri": uri}, "position": "here"})
        assert hover["error"]["code"] == INVALID_PARAMS and "textDocument/hover" in hover["error"]["message"]
        assert client.request(3, "textDocument/frobnicate", {})["error"]["code"] == METHOD_NOT_FOUND
        unknown = client.request(4, "textDocument/documentSymbol", {"textDocument": {"uri": uri}})
        assert unknown["error"]["code"] == INVALID_PARAMS and "no such document" in unknown["error"]["message"]
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri}})  # no text: logged, ignored
        client.send_body(b"[1, 2, 3]")  # JSON, but not a message

        junk = "probe begin {\x00 x = \"\\\n\udcff" + "(" * 3000 + "\n" + "%{" * 3
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "systemtap",
                                                                "version": 1, "text": junk.encode(
                                                                    "utf-8", "replace").decode()}})
        diags = client.wait_notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
        assert diags["params"]["diagnostics"]
        deep = (tmp_path / "deep.stp").as_uri()
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": deep, "languageId": "systemtap", "version": 1,
            "text": "probe begin { x = " + "(" * 20000 + "1" + ")" * 20000 + " }\n"}})
        for n, method in enumerate(["textDocument/formatting", "textDocument/documentSymbol",
                                    "textDocument/semanticTokens/full", "textDocument/foldingRange"]):
            params = {"textDocument": {"uri": deep}, "options": {"tabSize": 2, "insertSpaces": True}}
            answer = client.request(10 + n, method, params)
            assert "result" in answer or answer["error"]["code"] < 0, answer  # an answer, either way

        ok = client.request(20, "textDocument/documentSymbol", {"textDocument": {"uri": uri}})
        assert "result" in ok
        warned = [n for n in client.notifications if n["method"] == "window/logMessage"]
        assert any("guruMode" in n["params"]["message"] for n in warned)
        assert client.request(30, "shutdown", None)["result"] is None
        client.notify("exit", None)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_exit_without_shutdown_is_an_error_exit(tmp_path: Path) -> None:
    client, proc = RawClient.process(SERVER)
    try:
        initialize(client, tmp_path.as_uri(), options={"release": RELEASE})
        client.notify("exit", None)
        assert proc.wait(timeout=30) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_tcp_mode(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tapkit.cli", "lsp", "--tcp", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = RawClient.tcp(port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        result = initialize(client, tmp_path.as_uri(), options={"release": RELEASE})
        assert result["result"]["serverInfo"]["name"] == "tapkit"
        uri = (tmp_path / "t.stp").as_uri()
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "systemtap", "version": 1,
                                                                "text": "probe begin { x = }\n"}})
        diags = client.wait_notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
        assert diags["params"]["diagnostics"][0]["code"] == "parse.expected-value"
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def test_bad_port_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "tapkit.cli", "lsp", "--tcp", "70000"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "not a port number" in proc.stdout
