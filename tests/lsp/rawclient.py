"""A bare JSON-RPC client over a subprocess's pipes or a socket: for sending what no well-behaved
client library would (broken JSON, wrong parameters), and for checking the exit code."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import threading
from typing import Any, BinaryIO

SERVER_REQUEST_ANSWERS: dict[str, Any] = {"workspace/configuration": [None], "window/workDoneProgress/create": None,
                                          "client/registerCapability": None,
                                          "workspace/semanticTokens/refresh": None}


class RawClient:
    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self.reader = reader
        self.writer = writer
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    @classmethod
    def process(cls, args: list[str]) -> tuple[RawClient, subprocess.Popen[bytes]]:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None and proc.stdout is not None
        return cls(proc.stdout, proc.stdin), proc

    @classmethod
    def tcp(cls, port: int) -> RawClient:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        return cls(sock.makefile("rb"), sock.makefile("wb"))

    def _read(self) -> None:
        while True:
            length = None
            while True:
                line = self.reader.readline()
                if not line:
                    self.messages.put(None)
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if line in (b"\r\n", b"\n"):
                    break
            assert length is not None
            self.messages.put(json.loads(self.reader.read(length)))

    def send_bytes(self, data: bytes) -> None:
        self.writer.write(data)
        self.writer.flush()

    def send_body(self, body: bytes) -> None:
        self.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def send(self, message: dict[str, Any]) -> None:
        self.send_body(json.dumps({"jsonrpc": "2.0", **message}).encode())

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def next_response(self, timeout: float = 60) -> dict[str, Any]:
        """The next response to one of our requests (answering the server's own requests on the way)."""
        while True:
            msg = self.messages.get(timeout=timeout)
            if msg is None:
                raise EOFError("the server closed its output")
            if "method" in msg and "id" in msg:
                self.send({"id": msg["id"], "result": SERVER_REQUEST_ANSWERS.get(msg["method"])})
            elif "method" in msg:
                self.notifications.append(msg)
            else:
                return msg

    def request(self, id: int, method: str, params: Any, timeout: float = 60) -> dict[str, Any]:
        self.send({"id": id, "method": method, "params": params})
        response = self.next_response(timeout)
        assert response.get("id") == id, response
        return response

    def wait_notification(self, method: str, predicate: Any = None, timeout: float = 60) -> dict[str, Any]:
        for n in self.notifications:
            if n["method"] == method and (predicate is None or predicate(n["params"])):
                return n
        while True:
            msg = self.messages.get(timeout=timeout)
            if msg is None:
                raise EOFError("the server closed its output")
            if "method" in msg and "id" in msg:
                self.send({"id": msg["id"], "result": SERVER_REQUEST_ANSWERS.get(msg["method"])})
                continue
            if "method" in msg:
                self.notifications.append(msg)
                if msg["method"] == method and (predicate is None or predicate(msg["params"])):
                    return msg


def initialize(client: RawClient, root_uri: str, capabilities: dict[str, Any] | None = None,
               options: dict[str, Any] | None = None) -> dict[str, Any]:
    result = client.request(1, "initialize", {"processId": None, "rootUri": root_uri,
                                              "capabilities": capabilities or {},
                                              "initializationOptions": options or {}})
    client.notify("initialized", {})
    return result
