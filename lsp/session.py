"""The server's moving parts that are not request handlers: settings from the client, the tapset
library loading in the background with progress, and the diagnostics pipeline.

After the library is ready (requests are answered from then on), the same thread prepares, with its own
progress, what analyses would otherwise build inside the first requests that need it: the @cast headers the
library and the open documents name (a kbuild compile each, once per release), the tracepoint catalog, and
the library trees and debuginfo the open documents reach (tapkit.ide.prepare). Headers a document names
later are prepared on a thread of their own after its diagnostics run.

Diagnostics (pass 1 and stap's pass 2): every open/change/save schedules one run per document; runs
happen on one worker thread, so requests are answered while a document is being checked. An edit to a
document with no run pending or in flight, and that comes after a pause as long as the quiet time, is
diagnosed at once; others wait the quiet time (a newer edit cancels the pending run): half what the last
run of that document cost, between 30 and 100 ms, so fast typing coalesces into few runs.
A run whose version is already stale when the worker reaches it is skipped. A run computes on a snapshot
and publishes with that snapshot's document version, and only if the document still has that version,
so an older result never lands over a newer one.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as T

from tapkit import ide
from tapkit.diagnostics import Diagnostic
from tapkit.ide import prepare
from tapkit.ide.line_index import LineIndex

from . import conversions as conv

if TYPE_CHECKING:
    from .server import TapkitServer

log = logging.getLogger("tapkit.lsp")
Progress = Callable[[int, int, str], None]

DEBOUNCE_SECONDS = 0.1  # the longest quiet time before diagnosing an edit
MIN_DEBOUNCE_SECONDS = 0.03
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
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="tapkit-diagnostics")  # one run at a time
        self._tasks: set[asyncio.Future[None]] = set()  # background work, kept until done
        self._running: set[str] = set()  # documents whose diagnostics are being computed
        self._edited: dict[str, float] = {}  # when each document was last scheduled
        self._prepare_pool = ThreadPoolExecutor(1, thread_name_prefix="tapkit-prepare")  # header compiles
        self._prepare_lock = threading.Lock()
        self._prepared: set[str] = set()  # header parts prepared (or being prepared) for _prepared_for
        self._prepared_for: object = None

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

    def _progress(self, loop: asyncio.AbstractEventLoop, title: str) -> tuple[Progress, Callable[[str], None]]:
        """LSP work-done progress (when the client takes it): a reporter and an ending, callable from any thread."""
        token = str(uuid.uuid4())
        progress_ok = self._progress_supported()
        if progress_ok:
            self.server.work_done_progress.create(token)
            self.server.work_done_progress.begin(token, T.WorkDoneProgressBegin(title=title, percentage=0,
                                                                                cancellable=False))

        def report(done: int, total: int, what: str) -> None:
            if progress_ok:
                pct = int(100 * done / total) if total else 100
                loop.call_soon_threadsafe(self.server.work_done_progress.report, token,
                                          T.WorkDoneProgressReport(message=f"{done}/{total} {what}", percentage=pct))

        def end(message: str) -> None:
            if progress_ok:
                loop.call_soon_threadsafe(self.server.work_done_progress.end, token,
                                          T.WorkDoneProgressEnd(message=message))
        return report, end

    def load_library(self) -> None:
        """Load the tapset library, then index the debuginfo of the settings, on a daemon thread, each with its
        progress; then refresh what depends on them."""
        loop = asyncio.get_running_loop()
        report, end = self._progress(loop, "tapkit: loading the tapset library")
        self.library_ready.clear()
        if self._library_event is not None:
            self._library_event.clear()
        debuginfo = bool(self.workspace.settings.debuginfo)
        indexing = self._progress(loop, "tapkit: indexing debuginfo") if debuginfo else None
        preparing = self._progress(loop, "tapkit: preparing @cast headers and tracepoints")

        def run() -> None:
            view = None
            try:
                view = self.workspace.load_library(report)
                message = (f"{len(view.files)} files, {sum(map(len, view.functions.values()))} functions, "
                           f"{sum(map(len, view.aliases.values()))} probe aliases")
            except Exception as e:  # never take the server down; say what happened
                log.exception("loading the tapset library failed")
                message = f"failed: {e}"
            end(message)
            if indexing is not None:
                self._index_debuginfo(*indexing)
            loop.call_soon_threadsafe(self._library_loaded)
            # after library_ready (requests are not held up), before the first request needs them
            files = [*view.semantic.files.macro_files, *view.files] if view is not None and view.semantic else []
            texts = [d.text for d in self.snapshot().documents.values()]
            self._prepare(prepare.library_header_parts(files) | prepare.header_parts(texts), *preparing, warm=True)

        self._loading = threading.Thread(target=run, name="tapkit-library", daemon=True)
        self._loading.start()

    def _prepare(self, parts: set[str], report: Progress | None = None, end: Callable[[str], None] | None = None,
                 warm: bool = False) -> None:
        """Compile and index the @cast header parts not prepared yet, and load the tracepoint catalog; warm: then
        load what the open documents' analyses reach (tapkit.ide.prepare); blocking, on a thread other than the
        loop's."""
        with self._prepare_lock:
            target = self.workspace.target
            if target != self._prepared_for:
                self._prepared, self._prepared_for = set(), target
            todo = parts - self._prepared
            self._prepared |= todo
        try:
            failed = prepare.prepare(target, todo, report)
        except Exception as e:  # never take the server down: the requests then build what they need
            log.exception("preparing @cast headers failed")
            failed = [("", str(e))]
        for part, problem in failed:
            log.info("prepare %s: %s", part, problem)
        snap = self.snapshot()
        for uri in snap.documents if warm else ():
            try:
                prepare.warm(snap, uri)
            except Exception:  # a bug of the semantic pass: the document's own runs report it
                log.exception("warming %s failed", uri)
        if warm:
            gc.collect()  # the dropped models' cycles: collected here, not by a pass in the middle of a request
        if end is not None:
            end(f"{len(todo) - len(failed)} of {len(todo)} headers ready")

    def prepare_headers(self, text: str) -> None:
        """A document's @cast headers not prepared yet, prepared on the preparing thread."""
        if self._prepared_for is None:
            return  # the library's load prepares the open documents' headers
        parts = prepare.header_parts([text])
        with self._prepare_lock:
            new = parts - self._prepared
        if new:
            self._prepare_pool.submit(self._prepare, new)

    def _index_debuginfo(self, report: Progress, end: Callable[[str], None]) -> None:
        """Open every --debuginfo file (indexed once per build-id), so that the first request finds it ready."""
        try:
            failed = self.workspace.index_debuginfo(report)
        except Exception as e:  # never take the server down
            log.exception("indexing debuginfo failed")
            end(f"failed: {e}")
            return
        for file, problem in failed:
            self.server.window_log_message(T.LogMessageParams(type=T.MessageType.Warning,
                                                              message=f"tapkit: debuginfo {file}: {problem}"))
        count = len(self.workspace.settings.debuginfo_overrides())
        end(f"{count - len(failed)} of {count} debuginfo files ready")

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
        gc.freeze()  # the library's index and trees live as long as the server: no collector passes over them
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
        """Diagnostics of the workspace's own tapset files that are not open (those under -I dirs in the
        workspace), computed on the diagnostics thread."""
        snap = self.snapshot()
        roots = [r.resolve() for r in snap.roots]
        uris = [ide.path_to_uri(p) for p in snap.library.files if any(p.resolve().is_relative_to(r) for r in roots)]
        uris = [u for u in uris if u not in snap.documents]
        self._background(self._publish_tapsets(snap, uris))

    async def _publish_tapsets(self, snap: ide.Snapshot, uris: list[str]) -> None:
        loop = asyncio.get_running_loop()
        for uri in uris:
            try:
                diags = await loop.run_in_executor(self._pool, ide.document_diagnostics, snap, uri)
            except Exception:  # a bug of ours must not cost the user the server
                log.exception("diagnostics for %s failed", uri)
                continue
            if uri not in self.workspace.snapshot().documents:  # opened meanwhile: its own run publishes
                self._publish(uri, None, diags, snap)
        for uri in self._published_tapsets - set(uris):
            if uri not in self.workspace.snapshot().documents:
                self.server.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        self._published_tapsets = set(uris)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ diagnostics

    def schedule(self, uri: str, delay: float | None = None) -> None:
        now = time.perf_counter()
        last, self._edited[uri] = self._edited.get(uri, float("-inf")), now
        if delay is None:
            delay = min(max(self._cost.get(uri, DEBOUNCE_SECONDS) / 2, MIN_DEBOUNCE_SECONDS), DEBOUNCE_SECONDS)
            if now - last >= delay and uri not in self._pending and uri not in self._running:
                delay = 0  # the first edit after a pause, nothing in flight: diagnosed at once
        old = self._pending.pop(uri, None)
        if old is not None:
            old.cancel()
        self._pending[uri] = asyncio.ensure_future(self._diagnose_later(uri, delay))

    async def _diagnose_later(self, uri: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            return
        if self._pending.get(uri) is asyncio.current_task():
            del self._pending[uri]
        await self.diagnose(uri)

    async def diagnose(self, uri: str) -> None:
        """Diagnose on the diagnostics thread (requests keep being answered meanwhile); publish on the loop."""
        snap = self.snapshot()
        doc = snap.documents.get(uri)
        if doc is None:
            return
        started = time.perf_counter()

        def run() -> list[Diagnostic] | None:
            if self.workspace.version(uri) != doc.version:
                return None  # a newer edit came while this run waited for the worker
            return ide.document_diagnostics(snap, uri)
        self._running.add(uri)
        try:
            diags = await asyncio.get_running_loop().run_in_executor(self._pool, run)
        except Exception:  # a bug of ours must not cost the user the server
            log.exception("diagnostics for %s failed", uri)
            return
        finally:
            self._running.discard(uri)
        if diags is None:
            return
        self._cost[uri] = time.perf_counter() - started
        if self.workspace.version(uri) != doc.version:
            return  # a newer edit arrived meanwhile; its own run publishes
        self._publish(uri, doc.version, diags, snap)
        self.prepare_headers(doc.text)

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

