"""pygls' protocol, made to answer every request: one whose parameters do not fit its method's
shape gets an InvalidParams error response (pygls would only log it, and the client would wait
forever), and a message that is not JSON gets a ParseError response."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from lsprotocol import types as T
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcParseError
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger("tapkit.lsp")


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: a valid request the server cannot carry out (the message says why)."""

    CODE = -32803
    MESSAGE = "Request failed"


@dataclass(frozen=True, slots=True)
class Malformed:
    """A request that could not be read into its method's parameter type."""

    id: int | str
    method: str
    reason: str


class TapkitProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data.get("id"), int | str) and isinstance(data.get("method"), str):
                cause = exc.__cause__ or exc
                return Malformed(data["id"], data["method"], str(cause).splitlines()[0] if str(cause) else "")
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, Malformed):
            log.warning("malformed %s request %r: %s", message.method, message.id, message.reason)
            error = JsonRpcInvalidParams(message=f"invalid parameters for {message.method}: {message.reason}")
            self._send_response(message.id, error=error.to_response_error())
            return
        if not hasattr(message, "jsonrpc"):  # valid JSON of the wrong shape (a list, a number, …)
            raise JsonRpcInvalidParams(message=f"not a JSON-RPC message: {str(message)[:80]}")
        super().handle_message(message)


def answer_unreadable(protocol: LanguageServerProtocol, error: Exception) -> None:
    """JSON-RPC's answer to a body that is not JSON: a ParseError with a null id."""
    if isinstance(error, json.JSONDecodeError):
        response = T.ResponseErrorMessage(id=None, error=JsonRpcParseError(message=str(error)).to_response_error())
        protocol._send_data(response)
