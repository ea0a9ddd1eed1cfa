"""`tapkit lsp`: every LSP feature the server offers, one thin handler each.

A handler takes a snapshot, asks tapkit.ide, and converts the answer (conversions.py).
Lifecycle, settings, library loading and diagnostics live in session.py; what keeps the
server alive on malformed input lives in protocol.py.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types as T
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from tapkit import __version__, ide
from tapkit.ide.formatting import format_document

from . import conversions as conv
from .protocol import RequestFailed, TapkitProtocol, answer_unreadable
from .session import Session, uri_for

log = logging.getLogger("tapkit.lsp")
F = TypeVar("F", bound=Callable[..., Any])


class TapkitServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("tapkit", __version__, text_document_sync_kind=T.TextDocumentSyncKind.Incremental,
                         protocol_cls=TapkitProtocol)
        self.session = Session(self)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Out-of-band errors (a notification that failed, a message that did not parse) go to the log,
        not into the user's face; requests get their error response from pygls."""
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)
        answer_unreadable(self.protocol, error)
        with contextlib.suppress(Exception):  # the transport itself may be what failed
            self.window_log_message(T.LogMessageParams(type=T.MessageType.Error, message=f"tapkit: {error}"))


server = TapkitServer()


def _document(uri: str) -> tuple[ide.Snapshot, ide.LineIndex, ide.Encoding]:
    snap = server.session.snapshot()
    try:
        index = snap.lines(uri)
    except ide.UnknownDocument as e:
        raise JsonRpcInvalidParams(message=str(e)) from e
    return snap, index, server.session.encoding


# ---------------------------------------------------------------- lifecycle and settings

@server.feature(T.INITIALIZE)
def initialize(ls: TapkitServer, params: T.InitializeParams) -> None:
    ls.session.workspace.set_roots(ls.session.roots_from(params))
    ls.session.apply_settings(params.initialization_options)


@server.feature(T.INITIALIZED)
async def initialized(ls: TapkitServer, params: T.InitializedParams) -> None:
    await ls.session.pull_settings()
    ls.session.load_library()


@server.feature(T.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: TapkitServer, params: T.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if isinstance(settings, dict) and settings:
        changed = ls.session.apply_settings(settings)
    else:  # `null`: the client says "pull them"
        changed = await ls.session.pull_settings()
    if changed:
        ls.session.load_library()
        for uri in ls.session.snapshot().documents:
            ls.session.schedule(uri, delay=0)


@server.feature(T.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def did_change_workspace_folders(ls: TapkitServer, params: T.DidChangeWorkspaceFoldersParams) -> None:
    ls.session.change_folders(params.event.added, params.event.removed)


# ---------------------------------------------------------------- documents

@server.feature(T.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: TapkitServer, params: T.DidOpenTextDocumentParams) -> None:
    d = params.text_document
    ls.session.workspace.open(d.uri, d.text, d.version)
    ls.session.schedule(d.uri, delay=0)


@server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: TapkitServer, params: T.DidChangeTextDocumentParams) -> None:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    ls.session.workspace.update(doc.uri, doc.source, params.text_document.version)
    ls.session.schedule(doc.uri)


@server.feature(T.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: TapkitServer, params: T.DidSaveTextDocumentParams) -> None:
    ls.session.saved(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: TapkitServer, params: T.DidCloseTextDocumentParams) -> None:
    ls.session.closed(params.text_document.uri)


# ---------------------------------------------------------------- features

@server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(ls: TapkitServer, params: T.DocumentSymbolParams) -> list[T.DocumentSymbol]:
    snap, index, enc = _document(params.text_document.uri)
    return conv.document_symbols(ide.document_symbols(snap, params.text_document.uri), index, enc)


@server.feature(T.WORKSPACE_SYMBOL)
async def workspace_symbol(ls: TapkitServer, params: T.WorkspaceSymbolParams) -> list[T.SymbolInformation]:
    await ls.session.library()
    snap = ls.session.snapshot()
    found = ide.workspace_symbols(snap, params.query)
    return conv.workspace_symbols(found, ls.session.index_for(snap), uri_for, ls.session.encoding)


@server.feature(T.TEXT_DOCUMENT_FOLDING_RANGE)
def folding_range(ls: TapkitServer, params: T.FoldingRangeParams) -> list[T.FoldingRange]:
    snap, _, _ = _document(params.text_document.uri)
    return conv.folding_ranges(ide.folding_ranges(snap, params.text_document.uri))


@server.feature(T.TEXT_DOCUMENT_SELECTION_RANGE)
def selection_range(ls: TapkitServer, params: T.SelectionRangeParams) -> list[T.SelectionRange]:
    snap, index, enc = _document(params.text_document.uri)
    positions = [conv.position(p, index, enc) for p in params.positions]
    return conv.selection_ranges(ide.selection_ranges(snap, params.text_document.uri, positions), index, enc)


@server.feature(T.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, conv.LEGEND)
def semantic_tokens_full(ls: TapkitServer, params: T.SemanticTokensParams) -> T.SemanticTokens:
    snap, index, enc = _document(params.text_document.uri)
    return conv.semantic_tokens(ide.semantic_tokens(snap, params.text_document.uri), index, enc)


@server.feature(T.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: TapkitServer, params: T.DocumentFormattingParams) -> list[T.TextEdit]:
    snap, index, enc = _document(params.text_document.uri)
    edits = format_document(snap, params.text_document.uri, conv.format_options(params.options))
    return conv.text_edits(edits, index, enc)


@server.feature(T.TEXT_DOCUMENT_COMPLETION,
                T.CompletionOptions(trigger_characters=[".", "@", "$", ">", "(", '"', "/"], resolve_provider=True))
async def completion(ls: TapkitServer, params: T.CompletionParams) -> T.CompletionList:
    await ls.session.library()
    uri = params.text_document.uri
    snap, index, enc = _document(uri)
    result = ide.complete(snap, uri, conv.position(params.position, index, enc))
    return conv.completions(result, index, enc, _snippets_supported(ls), uri)


@server.feature(T.COMPLETION_ITEM_RESOLVE)
def completion_resolve(ls: TapkitServer, item: T.CompletionItem) -> T.CompletionItem:
    found = conv.completion_to_resolve(item)
    if found is None:
        return item
    uri, tapkit_item = found
    return conv.resolved_completion(item, ide.resolve_completion(ls.session.snapshot(), uri, tapkit_item))


@server.feature(T.TEXT_DOCUMENT_SIGNATURE_HELP, T.SignatureHelpOptions(trigger_characters=["(", ","]))
async def signature_help(ls: TapkitServer, params: T.SignatureHelpParams) -> T.SignatureHelp | None:
    await ls.session.library()
    snap, index, enc = _document(params.text_document.uri)
    found = ide.signature_help(snap, params.text_document.uri, conv.position(params.position, index, enc))
    return conv.signature_help(found) if found is not None else None


@server.feature(T.TEXT_DOCUMENT_HOVER)
async def hover(ls: TapkitServer, params: T.HoverParams) -> T.Hover | None:
    await ls.session.library()
    snap, index, enc = _document(params.text_document.uri)
    found = ide.hover(snap, params.text_document.uri, conv.position(params.position, index, enc))
    return conv.hover(found, index, enc) if found is not None else None


@server.feature(T.TEXT_DOCUMENT_DEFINITION)
async def definition(ls: TapkitServer, params: T.DefinitionParams) -> list[T.Location]:
    await ls.session.library()
    snap, index, enc = _document(params.text_document.uri)
    spans = ide.definition(snap, params.text_document.uri, conv.position(params.position, index, enc))
    found = (conv.location(s, ls.session.index_for(snap), uri_for, enc) for s in spans)
    return [loc for loc in found if loc is not None]


@server.feature(T.TEXT_DOCUMENT_REFERENCES)
async def references(ls: TapkitServer, params: T.ReferenceParams) -> list[T.Location]:
    await ls.session.library()
    snap, index, enc = _document(params.text_document.uri)
    spans = ide.references(snap, params.text_document.uri, conv.position(params.position, index, enc),
                           params.context.include_declaration)
    return conv.locations(spans, ls.session.index_for(snap), uri_for, enc)


@server.feature(T.TEXT_DOCUMENT_PREPARE_RENAME)
async def prepare_rename(ls: TapkitServer, params: T.PrepareRenameParams) -> T.Range | None:
    await ls.session.library()
    snap, index, enc = _document(params.text_document.uri)
    try:
        span = ide.prepare_rename(snap, params.text_document.uri, conv.position(params.position, index, enc))
    except ide.RenameError as e:
        raise RequestFailed(message=str(e)) from e
    return conv.lsp_range(span, index, enc)


@server.feature(T.TEXT_DOCUMENT_RENAME, T.RenameOptions(prepare_provider=True))
async def rename(ls: TapkitServer, params: T.RenameParams) -> T.WorkspaceEdit:
    await ls.session.library()
    snap, index, enc = _document(params.text_document.uri)
    try:
        edits = ide.rename(snap, params.text_document.uri, conv.position(params.position, index, enc),
                           params.new_name)
    except ide.RenameError as e:
        raise RequestFailed(message=str(e)) from e
    return conv.workspace_edit(edits, ls.session.index_for(snap), uri_for, enc)


@server.feature(T.TEXT_DOCUMENT_CODE_ACTION,
                T.CodeActionOptions(code_action_kinds=[T.CodeActionKind.QuickFix, T.CodeActionKind.RefactorRewrite,
                                                       "refactor.generate"], resolve_provider=True))
async def code_action(ls: TapkitServer, params: T.CodeActionParams) -> list[T.CodeAction]:
    await ls.session.library()
    uri = params.text_document.uri
    snap, index, enc = _document(uri)
    span = conv.span_of(params.range, snap.document(uri).filename, index, enc)
    actions = ide.code_actions(snap, uri, span)
    return [conv.code_action(a, uri, index, ls.session.index_for(snap), uri_for, enc, True) for a in actions]


@server.feature(T.CODE_ACTION_RESOLVE)
def code_action_resolve(ls: TapkitServer, action: T.CodeAction) -> T.CodeAction:
    found = conv.action_to_resolve(action)
    if found is None or found[1][:1] != ("generate",) or len(found[1]) != 3:
        return action
    uri, (_, type_name, module) = found
    snap = ls.session.snapshot()
    try:
        edit = ide.generate_edit(snap, uri, type_name, module)
    except Exception as e:  # gen's and debuginfo's errors say what is wrong; show them
        raise RequestFailed(message=f"tapkit gen {type_name} --module {module}: {e}") from e
    action.edit = conv.workspace_edit([edit], ls.session.index_for(snap), uri_for, ls.session.encoding)
    action.data = None
    return action


def _snippets_supported(ls: TapkitServer) -> bool:
    td = ls.client_capabilities.text_document
    item = td.completion.completion_item if td is not None and td.completion is not None else None
    return bool(item is not None and item.snippet_support)


# ---------------------------------------------------------------- running

def main(tcp_port: int | None = None, host: str = "127.0.0.1") -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="tapkit lsp: %(levelname)s %(message)s")
    from tapkit.debuginfo import indexer

    # The server is threaded (library loading, diagnostics); a fork taken while another thread holds a lock
    # leaves the indexer's child hung, so debuginfo the semantic pass indexes on demand stays in-process too.
    indexer.PARALLEL_MIN_BYTES = sys.maxsize
    # Analyses make many short-lived acyclic objects (freed by reference counting); with Python's default
    # thresholds the collector's full passes over the library's trees took ~100 ms in the middle of requests.
    gc.set_threshold(50_000, 50, 100)
    try:
        if tcp_port is not None:
            server.start_tcp(host, tcp_port)
        else:
            server.start_io()
    except SystemExit as e:  # pygls leaves through sys.exit on `exit`
        return int(e.code or 0)
    # LSP: 0 when `shutdown` came before the end, 1 otherwise
    code = 0 if getattr(server.protocol, "_shutdown", False) else 1
    # Leave now: Python's exit would join the diagnostics worker, and a long run would hold the editor's
    # `exit` up (the client may then kill the server); nothing of ours is left to flush but the streams.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # pygls may have closed stdout already
            stream.flush()
    os._exit(code)
