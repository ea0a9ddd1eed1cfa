"""The tapset library for pass 2: a compact declarations index, and each file's tree only when used.

stap parses every tapset file in pass 1 but resolves only what the script reaches. tapkit keeps
what resolution needs to know about every file -- its functions (name, arity, per-file overload
number, privacy, signature, doc), globals, probe aliases and plain probes -- in a LibraryIndex
persisted under the cache dir, keyed by the library's files (path, size, mtime), their macros and
the target. A warm start loads that index (a few ms) and unpickles a file's tree only when the
script calls one of its functions, uses one of its globals or expands one of its aliases.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tapkit.cache import cache_dir, content_hash
from tapkit.diagnostics import Diagnostic
from tapkit.syntax import ast as A
from tapkit.syntax.library import (
    LibraryFiles,
    collect_library_macros,
    library_files,
    no_gc,
    parse_cached,
    parse_library,
    read_source,
    syntax_version,
    system_tapset_dir,
)
from tapkit.syntax.parser import LibraryMacros
from tapkit.target import Target

INDEX_VERSION = "1"


@dataclass(frozen=True, slots=True)
class FunctionEntry:
    """A function declaration: enough to resolve a call, complete it and show its signature."""

    name: str
    file: int
    item: int
    overload: int  # how many same-named functions precede it in its file (stap's __overload_N)
    params: tuple[str, ...]
    param_types: tuple[str | None, ...]
    return_type: str | None
    private: bool
    line: int
    column: int
    embedded: bool
    doc: str = ""

    @property
    def arity(self) -> int:
        return len(self.params)

    def signature(self) -> str:
        params = ", ".join(f"{p}:{t}" if t else p for p, t in zip(self.params, self.param_types, strict=True))
        ret = f":{self.return_type}" if self.return_type else ""
        return f"{self.name}{ret}({params})"


@dataclass(frozen=True, slots=True)
class GlobalEntry:
    name: str
    file: int
    item: int
    index: int  # which name of the `global a, b` declaration
    private: bool
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class AliasEntry:
    """`probe NAME[, NAME…] = / += …`: each name's components as (functor, argument kind or None)."""

    file: int
    item: int
    names: tuple[tuple[tuple[str, str | None], ...], ...]
    epilogue: bool
    line: int
    column: int
    doc: str = ""


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    probes: tuple[int, ...]  # items that are plain probes (derived when the file is pulled in)
    diagnostics: tuple[Diagnostic, ...]


@dataclass(slots=True)
class LibraryIndex:
    files: tuple[FileEntry, ...]
    functions: tuple[FunctionEntry, ...]
    globals: tuple[GlobalEntry, ...]
    aliases: tuple[AliasEntry, ...]
    by_function: dict[str, tuple[int, ...]] = field(default_factory=dict)
    by_global: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.by_function:
            by_f: dict[str, list[int]] = {}
            for i, f in enumerate(self.functions):
                by_f.setdefault(f.name, []).append(i)
            self.by_function = {k: tuple(v) for k, v in by_f.items()}
            by_g: dict[str, list[int]] = {}
            for i, g in enumerate(self.globals):
                by_g.setdefault(g.name, []).append(i)
            self.by_global = {k: tuple(v) for k, v in by_g.items()}


# ---------------------------------------------------------------- declarations of one tree

def doc_summary(doc: A.Comment | None) -> str:
    """The text of a `/** … */` comment without its frame (the tapsets' `sfunction name - what` style)."""
    if doc is None:
        return ""
    text = doc.text
    if text.startswith("/**"):
        text = text[3:]
    if text.endswith("*/"):
        text = text[:-2]
    lines = [ln.strip().lstrip("*").strip() for ln in text.splitlines()]
    return "\n".join(ln for ln in lines).strip()


def point_key(pp: A.ProbePoint) -> tuple[tuple[str, str | None], ...]:
    out = []
    for c in pp.components:
        if isinstance(c, A.Component):
            arg = c.arg
            kind = None if arg is None else ("string" if isinstance(arg, A.StringLiteral) else "number")
            out.append((c.name, kind))
    return tuple(out)


def declarations(file: A.File, file_index: int) -> tuple[list[FunctionEntry], list[GlobalEntry], list[AliasEntry],
                                                          list[int]]:
    functions: list[FunctionEntry] = []
    globals_: list[GlobalEntry] = []
    aliases: list[AliasEntry] = []
    probes: list[int] = []
    counts: dict[str, int] = {}
    for i, item in enumerate(file.items):
        if isinstance(item, A.FunctionDecl):
            n = counts.get(item.name, 0)
            counts[item.name] = n + 1
            functions.append(FunctionEntry(
                item.name, file_index, i, n, tuple(p.name for p in item.params), tuple(p.type for p in item.params),
                item.return_type, item.private, item.name_span.line, item.name_span.column,
                isinstance(item.body, A.EmbeddedCode), doc_summary(item.doc)))
        elif isinstance(item, A.GlobalDecl):
            for j, v in enumerate(item.vars):
                globals_.append(GlobalEntry(v.name, file_index, i, j, item.private, v.name_span.line,
                                            v.name_span.column))
        elif isinstance(item, A.AliasDecl):
            aliases.append(AliasEntry(file_index, i, tuple(point_key(n) for n in item.names), item.epilogue,
                                      item.span.line, item.span.column, doc_summary(item.doc)))
        elif isinstance(item, A.ProbeDecl):
            probes.append(i)
    return functions, globals_, aliases, probes


# ---------------------------------------------------------------- the library

class TapsetLibrary:
    """The tapset files stap reads for a target, their macros, a declarations index and lazy trees.

    Build with TapsetLibrary.load(target, include_dirs); share one instance between analyses
    (trees, once loaded, stay in memory).
    """

    def __init__(self, target: Target, files: LibraryFiles, macros: LibraryMacros, index: LibraryIndex,
                 fingerprint: str) -> None:
        self.target = target
        self.files = files
        self.macros = macros
        self.index = index
        self.fingerprint = fingerprint
        self._trees: dict[int, A.File] = {}

    @classmethod
    def load(cls, target: Target, include_dirs: Sequence[str | Path] = (), tapset_dir: str | Path | None = None,
             *, use_cache: bool = True, jobs: int = 1) -> TapsetLibrary:
        """The library for target; the index comes from the cache when the files have not changed."""
        root = Path(tapset_dir) if tapset_dir is not None else system_tapset_dir()
        files = library_files(target, include_dirs, root)
        key = _fingerprint(files, target, root, include_dirs)
        path = cache_dir("semantic") / f"library-{key}.pickle"
        if use_cache:
            try:
                with no_gc():
                    macros, index = pickle.loads(path.read_bytes())
                if isinstance(index, LibraryIndex) and isinstance(macros, LibraryMacros):
                    return cls(target, files, macros, index, key)
            except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError, ImportError):
                pass
        parsed = parse_library(target, include_dirs, root, use_cache=use_cache, jobs=jobs)
        index = _build_index(parsed.files)
        lib = cls(target, files, parsed.macros, index, key)
        for i, (_, result) in enumerate(parsed.files):
            lib._trees[i] = result.file
        if use_cache:
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            try:
                tmp.write_bytes(pickle.dumps((parsed.macros, index), protocol=pickle.HIGHEST_PROTOCOL))
                tmp.replace(path)
            except (OSError, pickle.PicklingError, RecursionError):
                tmp.unlink(missing_ok=True)
        return lib

    def path(self, file: int) -> str:
        return self.index.files[file].path

    def tree(self, file: int) -> A.File:
        """The syntax tree of one library file (unpickled from the parse cache on first use)."""
        tree = self._trees.get(file)
        if tree is None:
            path = self.index.files[file].path
            result = parse_cached(read_source(path), path, self.target, self.macros, library=True)
            tree = self._trees[file] = result.file
        return tree

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Pass 1 problems in the library itself (stap fails the whole run on them)."""
        return self.macros.diagnostics + tuple(d for f in self.index.files for d in f.diagnostics)

    def function_names(self) -> set[str]:
        return {f.name for f in self.index.functions if not f.private}


def _build_index(parsed: Sequence[tuple[Path, object]]) -> LibraryIndex:
    files: list[FileEntry] = []
    functions: list[FunctionEntry] = []
    globals_: list[GlobalEntry] = []
    aliases: list[AliasEntry] = []
    for i, (path, result) in enumerate(parsed):
        tree: A.File = result.file  # type: ignore[attr-defined]
        f, g, a, p = declarations(tree, i)
        functions += f
        globals_ += g
        aliases += a
        diags = tuple(d for d in result.diagnostics if d.is_error)  # type: ignore[attr-defined]
        files.append(FileEntry(str(path), tuple(p), diags))
    return LibraryIndex(tuple(files), tuple(functions), tuple(globals_), tuple(aliases))


def _fingerprint(files: LibraryFiles, target: Target, root: Path, include_dirs: Sequence[str | Path]) -> str:
    parts = [INDEX_VERSION, syntax_version(), target.release, target.arch, target.runtime, target.stap_version,
             str(target.guru_mode), target.privilege, str(root), *map(str, include_dirs)]
    config = target.kernel_config_file or f"/lib/modules/{target.release}/build/.config"
    for p in (config, f"/boot/config-{target.release}", *files.all):
        try:
            st = os.stat(p)
            parts.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{p}:-")
    return content_hash("\n".join(parts))


def load_library_macros(target: Target, include_dirs: Sequence[str | Path] = ()) -> LibraryMacros:
    """The library's macros alone (for a caller that needs no index)."""
    return collect_library_macros(library_files(target, include_dirs).macro_files, target)
