"""The editor's world as the analysis sees it: open documents, settings, the tapset library.

A Workspace is mutable and owned by one server (documents open, change and close;
settings change; the library loads in the background). Features never read it: they
read a Snapshot, an immutable view taken at one moment, so a request computed on a
thread never sees a half-applied edit. Parse results are cached by document content
and configuration, shared between snapshots.

    ws = Workspace([Path("/repo")])
    ws.configure(settings)                  # cheap: library macros only
    ws.load_library(progress)               # seconds cold, well under one warm; call from a thread
    ws.open("file:///repo/x.stp", text, version=1)
    snap = ws.snapshot()
    snap.parse("file:///repo/x.stp").diagnostics

The semantic pass (tapkit.ide.program) reads the snapshot's `semantic` library and `options`
(target, -I dirs, --debuginfo overrides); its results are cached here by content too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from urllib.parse import quote, unquote, urlsplit

from tapkit.cache import content_hash
from tapkit.ide.declarations import Declarations, declarations, macro_docs
from tapkit.ide.library import LibraryView, Progress, load_library
from tapkit.ide.line_index import LineIndex
from tapkit.ide.settings import Settings
from tapkit.ide.structure import Place, places
from tapkit.semantic import AnalysisOptions
from tapkit.syntax.library import (
    collect_library_macros,
    library_files,
    parse_cached,
    read_source,
    system_tapset_dir,
)
from tapkit.syntax.parser import LibraryMacros, ParseResult, parse
from tapkit.syntax.tokens import RawComment, Token, lex
from tapkit.target import Target

MAX_WORKSPACE_FILES = 5000  # a workspace rooted at $HOME must not make symbol search crawl the disk
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "build", "dist", "out"})


def uri_to_path(uri: str) -> Path | None:
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path))


def path_to_uri(path: Path | str) -> str:
    return "file://" + quote(str(Path(path).absolute()), safe="/:@+,;=~!$&'()*")


class DocumentKind(Enum):
    SCRIPT = "script"  # a user script: stap parses it unprivileged, and it must not be empty
    TAPSET = "tapset"  # a .stp under a tapset directory: privileged, may be empty
    MACROS = "macros"  # a .stpm library macro file: only @define may remain after preprocessing


@dataclass(frozen=True, slots=True)
class Document:
    uri: str
    filename: str  # what spans name: the path of a file: URI, else the URI itself
    text: str
    version: int | None  # None: read from disk, not open in the editor
    kind: DocumentKind


class UnknownDocument(LookupError):
    def __init__(self, uri: str) -> None:
        super().__init__(f"no such document: {uri}")
        self.uri = uri


class _Cache:
    """Results keyed by (what, content key); one entry per `what`, so stale versions fall out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[object, tuple[object, object]] = {}

    def get(self, what: object, key: object) -> object | None:
        with self._lock:
            hit = self._entries.get(what)
        return hit[1] if hit is not None and hit[0] == key else None

    def put(self, what: object, key: object, value: object) -> None:
        with self._lock:
            self._entries[what] = (key, value)

    def drop(self, what: object) -> None:
        with self._lock:
            self._entries.pop(what, None)


@dataclass(frozen=True, slots=True)
class Lexed:
    """A document's raw tokens (blanks the lexer left as junk at the very end dropped), its comments,
    and where each token stands (places[i] before token i; places[-1] after the last)."""

    tokens: list[Token]
    comments: list[RawComment]
    places: list[Place]
    ends: list[int]  # tokens' end offsets, for bisecting


@dataclass(frozen=True)
class Snapshot:
    """One consistent view: documents, settings and library at the moment it was taken."""

    settings: Settings
    target: Target
    roots: tuple[Path, ...]
    documents: Mapping[str, Document]
    macros: LibraryMacros
    library: LibraryView
    tapset_roots: tuple[Path, ...]
    options: AnalysisOptions  # what the semantic pass is run with
    _cache: _Cache = field(repr=False, compare=False)

    # ------------------------------------------------------------ documents

    def document(self, uri: str) -> Document:
        """The open document, else the file on disk (never opened, or closed since)."""
        doc = self.documents.get(uri)
        if doc is not None:
            return doc
        path = uri_to_path(uri)
        if path is None or not path.is_file():
            raise UnknownDocument(uri)
        try:
            stat = path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            cached = self._cache.get(("disk", uri), key)
            if isinstance(cached, Document):
                return cached
            doc = Document(uri, str(path), read_source(path), None, self.kind_of(path))
        except OSError as e:
            raise UnknownDocument(uri) from e
        self._cache.put(("disk", uri), key, doc)
        return doc

    def kind_of(self, path: Path | str) -> DocumentKind:
        p = Path(path)
        if p.suffix == ".stpm":
            return DocumentKind.MACROS
        try:
            resolved = p.resolve()
        except OSError:
            return DocumentKind.SCRIPT
        if any(resolved.is_relative_to(r) for r in self.tapset_roots):
            return DocumentKind.TAPSET
        return DocumentKind.SCRIPT

    def lines(self, uri: str) -> LineIndex:
        doc = self.document(uri)
        cached = self._cache.get(("lines", uri), doc.text)
        if isinstance(cached, LineIndex):
            return cached
        index = LineIndex(doc.text)
        self._cache.put(("lines", uri), doc.text, index)
        return index

    def lexed(self, uri: str) -> Lexed:
        doc = self.document(uri)
        cached = self._cache.get(("lexed", uri), doc.text)
        if isinstance(cached, Lexed):
            return cached
        raw = lex(doc.text, doc.filename)
        tokens = [t for t in raw.tokens if not (t.type == "JUNK" and t.text.isspace())]
        end = Token("IDENT", "", doc.filename, 0, 0, 0, 0, len(doc.text), len(doc.text))
        result = Lexed(tokens, raw.comments, places([*tokens, end]), [t.end_pos for t in tokens])
        self._cache.put(("lexed", uri), doc.text, result)
        return result

    # ------------------------------------------------------------ pass 1

    def parse(self, uri: str) -> ParseResult:
        doc = self.document(uri)
        key = (content_hash(doc.text), self.macros.fingerprint, self.target, doc.kind)
        cached = self._cache.get(("parse", uri), key)
        if isinstance(cached, ParseResult):
            return cached
        library = doc.kind is not DocumentKind.SCRIPT
        if doc.version is None:  # a file on disk: the persistent content-hash cache pays off across sessions
            result = parse_cached(doc.text, doc.filename, self.target, self.macros_for(doc), library=library)
        else:
            result = parse(doc.text, doc.filename, self.target, self.macros_for(doc), library=library)
        self._cache.put(("parse", uri), key, result)
        return result

    def macros_for(self, doc: Document) -> LibraryMacros:
        """The library macros a document sees; a .stpm file does not see its own (it defines them)."""
        if doc.kind is not DocumentKind.MACROS:
            return self.macros
        here = Path(doc.filename).resolve()
        own = [k for k, v in self.macros.macros.items() if Path(v.name_token.file).resolve() == here]
        if not own:
            return self.macros
        kept = {k: v for k, v in self.macros.macros.items() if k not in own}
        return LibraryMacros(kept, self.macros.diagnostics, self.macros.fingerprint + "-" + content_hash(str(here)))

    def declarations(self, uri: str) -> Declarations:
        result = self.parse(uri)
        cached = self._cache.get(("declarations", uri), id(result))
        if isinstance(cached, tuple) and cached[0] is result:  # the same tree, not one equal to it
            return cached[1]  # type: ignore[no-any-return]
        doc = self.document(uri)
        docs = macro_docs(doc.text, doc.filename) if doc.kind is DocumentKind.MACROS else None
        decls = declarations(result.file, docs)
        self._cache.put(("declarations", uri), id(result), (result, decls))
        return decls

    # ------------------------------------------------------------ the workspace's files

    def workspace_files(self) -> list[Path]:
        """The .stp and .stpm files under the workspace roots (hidden and build folders skipped)."""
        found: list[Path] = []
        for root in self.roots:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
                for name in sorted(filenames):
                    if name.endswith((".stp", ".stpm")):
                        found.append(Path(dirpath, name))
                        if len(found) >= MAX_WORKSPACE_FILES:
                            return found
        return found


class Workspace:
    """The mutable side: what the editor has open and how it is configured."""

    def __init__(self, roots: Sequence[Path] = (), settings: Settings | None = None,
                 tapset_dir: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._roots = tuple(roots)
        self._tapset_dir = tapset_dir if tapset_dir is not None else system_tapset_dir()
        self._documents: dict[str, Document] = {}
        self._cache = _Cache()
        self._library = LibraryView()
        self._library_key: object = None
        self.settings = Settings()
        self.target = Target()
        self.macros = LibraryMacros()
        self.configure(settings or Settings())

    # ------------------------------------------------------------ configuration

    @property
    def roots(self) -> tuple[Path, ...]:
        return self._roots

    def set_roots(self, roots: Sequence[Path]) -> None:
        with self._lock:
            self._roots = tuple(roots)

    def configure(self, settings: Settings, force: bool = False) -> bool:
        """Apply settings; True when they changed what analysis sees (the library must then reload).
        force: read the library's macro files again even if the settings did not change."""
        with self._lock:
            if settings == self.settings and self.macros.fingerprint and not force:
                return False
            target = settings.target()
            files = library_files(target, settings.tapset_dirs, self._tapset_dir)
            self.settings, self.target = settings, target
            self.macros = collect_library_macros(files.macro_files, target)
            return True

    @property
    def library_key(self) -> object:
        """What the loaded library depends on; changes whenever it must be loaded again."""
        return (self.target, self.settings.tapset_dirs, self._tapset_dir, self.macros.fingerprint)

    @property
    def library(self) -> LibraryView:
        return self._library

    def library_is_current(self) -> bool:
        return self._library.loaded and self._library_key == self.library_key

    def load_library(self, progress: Progress | None = None) -> LibraryView:
        """Load the tapset library for the current settings (blocking: run it on a thread).

        A result for settings that changed while it loaded is not installed."""
        with self._lock:
            key = self.library_key
            target, dirs = self.target, self.settings.tapset_dirs
        view = load_library(target, dirs, progress, self._tapset_dir)
        with self._lock:
            if key == self.library_key:
                self._library, self._library_key = view, key
        return view

    def index_debuginfo(self, progress: Callable[[int, int, str], None] | None = None) -> list[tuple[str, str]]:
        """Open (indexing on first use, by build-id) every debuginfo file of the settings, so that the
        semantic pass finds them ready; blocking. Returns (file, problem) for those that failed."""
        from tapkit.debuginfo import DebuginfoError, open_debuginfo

        with self._lock:
            overrides = self.settings.debuginfo_overrides()
        failed = []
        for name, file in overrides.items():
            def report(done: int, total: int, file: str = file) -> None:
                if progress is not None:
                    progress(done, total, Path(file).name)
            try:
                # one process: the indexer's forked helper can deadlock on locks other threads hold
                open_debuginfo(file, module=name if name != "*" else None, progress=report, jobs=1)
            except (DebuginfoError, OSError) as e:
                failed.append((file, str(e)))
        return failed

    # ------------------------------------------------------------ documents

    def open(self, uri: str, text: str, version: int | None = None) -> Document:
        with self._lock:
            path = uri_to_path(uri)
            filename = str(path) if path is not None else uri
            kind = self.snapshot().kind_of(path) if path is not None else DocumentKind.SCRIPT
            doc = Document(uri, filename, text, version, kind)
            self._documents[uri] = doc
            return doc

    def update(self, uri: str, text: str, version: int | None = None) -> Document:
        return self.open(uri, text, version)

    def close(self, uri: str) -> None:
        with self._lock:
            self._documents.pop(uri, None)
            for what in ("parse", "lines", "lexed", "declarations"):
                self._cache.drop((what, uri))

    def version(self, uri: str) -> int | None:
        doc = self._documents.get(uri)
        return doc.version if doc is not None else None

    def is_open(self, uri: str) -> bool:
        return uri in self._documents

    def snapshot(self) -> Snapshot:
        with self._lock:
            tapset_roots = tuple(_resolved(p) for p in (self._tapset_dir, *self.settings.tapset_dirs))
            options = AnalysisOptions(self.target, tuple(str(d) for d in self.settings.tapset_dirs),
                                      self.settings.debuginfo_overrides())
            return Snapshot(self.settings, self.target, self._roots, MappingProxyType(dict(self._documents)),
                            self.macros, self._library, tapset_roots, options, self._cache)


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except OSError:
        return p
