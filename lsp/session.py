"""The server's moving parts that are not request handlers: settings from the client, the tapset
library loading in the background with progress, and the diagnostics pipeline.

Diagnostics: every open/change/save schedules one run per document after a short quiet time
(a newer edit cancels the pending run). The quiet time follows what a run of that document
costs, between 50 and 150 ms: a small script is diagnosed almost at once, a big one waits
as long as its run takes, so fast typing never keeps the server busy more than half the time.
A run computes on a snapshot and publishes with that snapshot's document version, and only
if the document still has that version, so an older result never lands over a newer one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as T

from tapkit import ide
from tapkit.diagnostics import Diagnostic
from tapkit.ide.line_index import LineIndex

from . import conversions as conv

if TYPE_CHECKING:
    from .server import TapkitServer

log = logging.getLogger("tapkit.lsp")

DEBOUNCE_SECONDS = 0.15  # the longest quiet time before diagnosing an edit
MIN_DEBOUNCE_SECONDS = 0.05
LIBRARY_WAIT_SECONDS = 15.0


class Session:
    def __init__(self, server: TapkitServer) -> None:
        self.server = server
        self.workspace = ide.Workspace()
        self.settings_json: object = None
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._cost: dict[str, float] = {}  # seconds the last diagnostics run of a document took
        self._loading: threading.Thread | None = None
        self._published_tapsets: set[str] = set()
        self.library_ready = threading.Event()
        self._library_event: asyncio.Event | None = None  # the loop-side twin of library_ready

    # ------------------------------------------------------------ positions

    @property
    def encoding(self) -> ide.Encoding:
        return conv.encoding(self.server.workspace.position_encoding)

    def snapshot(self) -> ide.Snapshot:
        return self.workspace.snapshot()

    def index_for(self, snap: ide.Snapshot) -> conv.IndexFor:
        def index(filename: str) -> LineIndex | None:
            try:
                return snap.lines(uri_for(filename))
            except ide.UnknownDocument:
                return None
        return index

    # ------------------------------------------------------------ settings

    def roots_from(self, params: T.InitializeParams) -> list[Path]:
        roots = []
        for folder in params.workspace_folders or []:
            path = ide.uri_to_path(folder.uri)
            if path is not None:
                roots.append(path)
        if not roots and params.root_uri:
            path = ide.uri_to_path(params.root_uri)
            if path is not None:
                roots.append(path)
        if not roots and params.root_path:
            roots.append(Path(params.root_path))
        return roots

    def change_folders(self, added: Sequence[T.WorkspaceFolder], removed: Sequence[T.WorkspaceFolder]) -> None:
        gone = {ide.uri_to_path(f.uri) for f in removed}
        roots = [r for r in self.workspace.roots if r not in gone]
        for f in added:
            path = ide.uri_to_path(f.uri)
            if path is not None and path not in roots:
                roots.append(path)
        self.workspace.set_roots(roots)
        if self.library_ready.is_set():
            self.publish_workspace_tapsets()

    def apply_settings(self, value: object) -> bool:
        """Configure from the client's settings object; True when the analysis must be redone."""
        settings, problems = ide.settings_from_json(value, self.workspace.roots)
        for p in problems:
            self.server.window_log_message(T.LogMessageParams(type=T.MessageType.Warning,
                                                              message=f"tapkit settings: {p.message}"))
        changed = self.workspace.configure(settings)
        if changed:
            log.info("settings: %s", settings)
        return changed

    async def pull_settings(self) -> bool:
        caps = self.server.client_capabilities.workspace
        if caps is None or not caps.configuration:
            return False
        try:
            result = await self.server.workspace_configuration_async(
                T.ConfigurationParams(items=[T.ConfigurationItem(section="tapkit")]))
        except Exception as e:  # the client may refuse; the initializationOptions stay in force
            log.warning("workspace/configuration failed: %s", e)
            return False
        if not result or result[0] is None:
            return False
        return self.apply_settings(result[0])

    # ------------------------------------------------------------ the library

    def load_library(self) -> None:
        """Load the tapset library on a daemon thread, reporting progress; then refresh what depends on it."""
        loop = asyncio.get_running_loop()
        token = str(uuid.uuid4())
        progress_ok = self._progress_supported()
        if progress_ok:
            self.server.work_done_progress.create(token)
            self.server.work_done_progress.begin(token, T.WorkDoneProgressBegin(
                title="tapkit: loading the tapset library", percentage=0, cancellable=False))
        self.library_ready.clear()
        if self._library_event is not None:
            self._library_event.clear()

        def report(done: int, total: int, what: str) -> None:
            if progress_ok:
                pct = int(100 * done / total) if total else 100
                loop.call_soon_threadsafe(self.server.work_done_progress.report, token,
                                          T.WorkDoneProgressReport(message=f"{done}/{total} {what}", percentage=pct))

        def run() -> None:
            try:
                index = self.workspace.load_library(report)
                message = (f"{len(index.files)} files, {sum(map(len, index.functions.values()))} functions, "
                           f"{sum(map(len, index.aliases.values()))} probe aliases")
            except Exception as e:  # never take the server down; say what happened
                log.exception("loading the tapset library failed")
                message = f"failed: {e}"
            if progress_ok:
                loop.call_soon_threadsafe(self.server.work_done_progress.end, token,
                                          T.WorkDoneProgressEnd(message=message))
            loop.call_soon_threadsafe(self._library_loaded)

        self._loading = threading.Thread(target=run, name="tapkit-library", daemon=True)
        self._loading.start()

    async def library(self, timeout: float = LIBRARY_WAIT_SECONDS) -> None:
        """Wait (a bounded time) for a library load in progress: completion without the library's
        functions would look like a broken server. After the timeout the request goes on without them."""
        if self.library_ready.is_set() or self._loading is None:
            return
        if self._library_event is None:
            self._library_event = asyncio.Event()
        try:
            await asyncio.wait_for(self._library_event.wait(), timeout)
        except TimeoutError:
            log.warning("answering before the tapset library finished loading")

    def _progress_supported(self) -> bool:
        window = self.server.client_capabilities.window
        return bool(window is not None and window.work_done_progress)

    def _library_loaded(self) -> None:
        self.library_ready.set()
        if self._library_event is not None:
            self._library_event.set()
        self.publish_workspace_tapsets()
        for uri in list(self.workspace.snapshot().documents):
            self.schedule(uri, delay=0)
        caps = self.server.client_capabilities.workspace
        if caps is not None and caps.semantic_tokens is not None and caps.semantic_tokens.refresh_support:
            self.server.workspace_semantic_tokens_refresh(None)

    def publish_workspace_tapsets(self) -> None:
        """Parse diagnostics of the workspace's own tapset files (those under -I dirs in the workspace)."""
        snap = self.snapshot()
        roots = [r.resolve() for r in snap.roots]
        seen: set[str] = set()
        for path, result in snap.library.files.items():
            if not any(path.resolve().is_relative_to(r) for r in roots):
                continue
            uri = ide.path_to_uri(path)
            if uri in snap.documents:
                continue
            seen.add(uri)
            self._publish(uri, None, [d for d in result.diagnostics if d.span.file == str(path)], snap)
        for uri in self._published_tapsets - seen:
            if uri not in snap.documents:
                self.server.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        self._published_tapsets = seen

    # ------------------------------------------------------------ diagnostics

    def schedule(self, uri: str, delay: float | None = None) -> None:
        if delay is None:
            delay = min(max(self._cost.get(uri, DEBOUNCE_SECONDS), MIN_DEBOUNCE_SECONDS), DEBOUNCE_SECONDS)
        old = self._pending.pop(uri, None)
        if old is not None:
            old.cancel()
        self._pending[uri] = asyncio.ensure_future(self._diagnose_later(uri, delay))

    async def _diagnose_later(self, uri: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            return
        self._pending.pop(uri, None)
        self.diagnose(uri)

    def diagnose(self, uri: str) -> None:
        snap = self.snapshot()
        doc = snap.documents.get(uri)
        if doc is None:
            return
        started = time.perf_counter()
        try:
            diags = ide.document_diagnostics(snap, uri)
        except Exception:  # a bug of ours must not cost the user the server
            log.exception("diagnostics for %s failed", uri)
            return
        self._cost[uri] = time.perf_counter() - started
        if self.workspace.version(uri) != doc.version:
            return  # a newer edit arrived meanwhile; its own run publishes
        self._publish(uri, doc.version, diags, snap)

    def _publish(self, uri: str, version: int | None, diags: list[Diagnostic], snap: ide.Snapshot) -> None:
        try:
            index = snap.lines(uri)
        except ide.UnknownDocument:
            return
        caps = self.server.client_capabilities.text_document
        related = bool(caps and caps.publish_diagnostics and caps.publish_diagnostics.related_information)
        enc = self.encoding
        out = [conv.diagnostic(d, index, enc, self.index_for(snap), uri_for, related) for d in diags]
        self.server.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=out,
                                                                                 version=version))

    def closed(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        self.workspace.close(uri)
        self.server.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        if self.library_ready.is_set():
            self.publish_workspace_tapsets()  # a closed workspace tapset shows its on-disk diagnostics again

    def saved(self, uri: str) -> None:
        """A saved tapset or macro file changes the library: reload it (warm: only that file is parsed)."""
        self.schedule(uri, delay=0)
        snap = self.snapshot()
        doc = snap.documents.get(uri)
        if doc is not None and doc.kind is not ide.DocumentKind.SCRIPT:
            if doc.kind is ide.DocumentKind.MACROS:
                self.workspace.configure(self.workspace.settings, force=True)
            self.load_library()


def uri_for(filename: str) -> str:
    """Spans name files by path (or, for an unsaved document, by its URI)."""
    return filename if "://" in filename or filename.startswith("untitled:") else ide.path_to_uri(filename)

