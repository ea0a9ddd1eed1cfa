"""The tapset library for pass 2: a compact declarations index, and each file's tree only when used.

stap parses every tapset file in pass 1 but resolves only what the script reaches. tapkit keeps
what resolution needs to know about every file -- its functions (name, arity, per-file overload
number, privacy, signature, doc), globals, probe aliases and plain probes -- in a LibraryIndex
persisted under the cache dir, keyed by the library's files (path, size, mtime), their macros and
the target. A warm start loads that index (a few ms) and unpickles a file's tree only when the
script calls one of its functions, uses one of its globals or expands one of its aliases.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tapkit.cache import cache_dir, content_hash, store
from tapkit.diagnostics import Diagnostic
from tapkit.semantic.cachebound import prune, touch
from tapkit.syntax import ast as A
from tapkit.syntax.library import (
    LibraryFiles,
    cache_key,
    collect_library_macros,
    library_files,
    no_gc,
    parse_cached,
    parse_library,
    read_source,
    search_dirs,
    syntax_version,
    system_tapset_dir,
)
from tapkit.syntax.parser import LibraryMacros, ParseResult
from tapkit.target import Target

INDEX_VERSION = "5"


class FunctionEntry(NamedTuple):
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

    @property
    def arity(self) -> int:
        return len(self.params)

    def signature(self) -> str:
        params = ", ".join(f"{p}:{t}" if t else p for p, t in zip(self.params, self.param_types, strict=True))
        ret = f":{self.return_type}" if self.return_type else ""
        return f"{self.name}{ret}({params})"


class GlobalEntry(NamedTuple):
    name: str
    file: int
    item: int
    position: int  # which name of the `global a, b` declaration
    private: bool
    line: int
    column: int


class AliasEntry(NamedTuple):
    """`probe NAME[, NAME…] = / += …`: each name's components as (functor, argument kind or None)."""

    file: int
    item: int
    names: tuple[tuple[tuple[str, str | None], ...], ...]
    epilogue: bool
    line: int
    column: int
    doc: str = ""


class FileEntry(NamedTuple):
    path: str
    probes: tuple[int, ...]  # items that are plain probes (derived when the file is pulled in)
    diagnostics: tuple[Diagnostic, ...]


# A node of the alias trie: children by component ("name", "name(string)", "name(number)") and the
# aliases whose name ends there. The root's children are kept pickled until a probe point reaches them.
TrieNode = tuple[dict[str, "TrieNode"], tuple[int, ...]]


def trie_key(name: str, kind: str | None) -> str:
    return f"{name}({kind})" if kind else name


def split_trie_key(key: str) -> tuple[str, str | None]:
    if key.endswith(")") and "(" in key:
        name, _, kind = key[:-1].partition("(")
        return name, kind
    return key, None


class _Building:
    """A trie node while the index is built."""

    __slots__ = ("children", "ends")

    def __init__(self) -> None:
        self.children: dict[str, _Building] = {}
        self.ends: list[int] = []

    def freeze(self) -> TrieNode:
        return {k: v.freeze() for k, v in self.children.items()}, tuple(self.ends)


@dataclass(slots=True)
class LibraryDetails:
    """What only the editor needs: doc comments and the aliases' names (loaded on first use)."""

    function_docs: tuple[str, ...]
    aliases: tuple[AliasEntry, ...]


@dataclass(slots=True)
class LibraryIndex:
    """Every declaration of the library, in library order, with lookups by name.

    alias_trie holds the aliases' names as a tree of components, each of the root's subtrees
    pickled on its own: resolving `begin` never unpickles the 6,000 names under `syscall`.
    alias_files/alias_items locate each alias's declaration; names and docs are in details."""

    files: tuple[FileEntry, ...]
    functions: tuple[FunctionEntry, ...]
    globals: tuple[GlobalEntry, ...]
    alias_files: tuple[int, ...]
    alias_items: tuple[int, ...]
    by_function: dict[str, tuple[int, ...]]
    by_global: dict[str, tuple[int, ...]]
    by_file: dict[int, tuple[tuple[int, ...], tuple[int, ...]]]
    overloads: dict[str, int]
    public_functions: frozenset[str]
    alias_trie: dict[str, bytes]
    details_key: str = ""
    tree_caches: tuple[str, ...] = ()  # each file's entry in the parse cache

    @classmethod
    def build(cls, files: tuple[FileEntry, ...], functions: tuple[FunctionEntry, ...],
              globals_: tuple[GlobalEntry, ...], aliases: tuple[AliasEntry, ...]) -> LibraryIndex:
        by_f: dict[str, list[int]] = {}
        per_file: dict[int, tuple[list[int], list[int]]] = {}
        overloads: dict[str, int] = {}
        for i, f in enumerate(functions):
            by_f.setdefault(f.name, []).append(i)
            per_file.setdefault(f.file, ([], []))[0].append(i)
            overloads[f.name] = max(overloads.get(f.name, 0), f.overload + 1)
        by_g: dict[str, list[int]] = {}
        for i, g in enumerate(globals_):
            by_g.setdefault(g.name, []).append(i)
            per_file.setdefault(g.file, ([], []))[1].append(i)
        root: dict[str, _Building] = {}
        for i, a in enumerate(aliases):
            for name in a.names:
                level = root
                last: _Building | None = None
                for comp, kind in name:
                    last = level.setdefault(trie_key(comp, kind), _Building())
                    level = last.children
                if last is not None:
                    last.ends.append(i)

        trie = {k: pickle.dumps(v.freeze(), protocol=pickle.HIGHEST_PROTOCOL) for k, v in root.items()}
        return cls(files, functions, globals_, tuple(a.file for a in aliases), tuple(a.item for a in aliases),
                   {k: tuple(v) for k, v in by_f.items()}, {k: tuple(v) for k, v in by_g.items()},
                   {k: (tuple(a), tuple(b)) for k, (a, b) in per_file.items()}, overloads,
                   frozenset(f.name for f in functions if not f.private), trie)

    def file_functions(self, file: int) -> list[FunctionEntry]:
        return [self.functions[i] for i in self.by_file.get(file, ((), ()))[0]]

    def file_globals(self, file: int) -> list[GlobalEntry]:
        return [self.globals[i] for i in self.by_file.get(file, ((), ()))[1]]


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
    """A tree's functions, globals, aliases and plain probes (docs: function_docs())."""
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
                isinstance(item.body, A.EmbeddedCode)))
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


def function_docs(file: A.File) -> list[str]:
    return [doc_summary(item.doc) for item in file.items if isinstance(item, A.FunctionDecl)]


# ---------------------------------------------------------------- the library

class TapsetLibrary:
    """The tapset files stap reads for a target, their macros, a declarations index and lazy trees.

    Build with TapsetLibrary.load(target, include_dirs); share one instance between analyses
    (trees, once loaded, stay in memory).
    """

    def __init__(self, target: Target, files: tuple[tuple[str, ...], tuple[str, ...]], macros: LibraryMacros,
                 index: LibraryIndex, fingerprint: str) -> None:
        self.target = target
        self._file_names = files
        self.macros = macros
        self.index = index
        self.fingerprint = fingerprint
        self._trees: dict[int, A.File] = {}
        self._details: LibraryDetails | None = None

    @classmethod
    def load(cls, target: Target, include_dirs: Sequence[str | Path] = (), tapset_dir: str | Path | None = None,
             *, use_cache: bool = True, jobs: int = 1) -> TapsetLibrary:
        """The library for target; the index comes from the cache when the files have not changed."""
        root = Path(tapset_dir) if tapset_dir is not None else system_tapset_dir()
        files = cached_library_files(target, include_dirs, root) if use_cache else \
            _names(library_files(target, include_dirs, root))
        key = _fingerprint(files, target, root, include_dirs)
        directory = cache_dir("semantic")
        path = directory / f"library-{key}.pickle"
        if use_cache:
            try:
                with no_gc():
                    macros, index = pickle.loads(path.read_bytes())
                if isinstance(index, LibraryIndex) and isinstance(macros, LibraryMacros):
                    touch(path)
                    return cls(target, files, macros, index, key)
            except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError, ImportError):
                pass
        parsed = parse_library(target, include_dirs, root, use_cache=use_cache, jobs=jobs)
        index, details = _build_index(parsed.files)
        index.details_key = key
        if use_cache:
            parse_dir = cache_dir("parsed")
            index.tree_caches = tuple(
                str(parse_dir / (cache_key(read_source(p), str(p), target, parsed.macros, True, None) + ".pickle"))
                for p, _ in parsed.files)
        lib = cls(target, files, parsed.macros, index, key)
        lib._details = details
        for i, (_, result) in enumerate(parsed.files):
            lib._trees[i] = result.file
        if use_cache:
            for target_path, data in ((directory / f"details-{key}.pickle", details), (path, (parsed.macros, index))):
                with contextlib.suppress(pickle.PicklingError, RecursionError):  # not picklable: not cached
                    store(target_path, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
            prune(directory, keep=(path, directory / f"details-{key}.pickle"))
        return lib

    @property
    def files(self) -> LibraryFiles:
        """The files stap's pass 1 reads, in its order (macro files, then scripts)."""
        macro, script = self._file_names
        return LibraryFiles(tuple(map(Path, macro)), tuple(map(Path, script)))

    @property
    def details(self) -> LibraryDetails:
        """Docs and alias names (the editor's), from their own cache file or the trees."""
        if self._details is None:
            path = cache_dir("semantic") / f"details-{self.fingerprint}.pickle"
            try:
                loaded = pickle.loads(path.read_bytes())
                if isinstance(loaded, LibraryDetails):
                    self._details = loaded
                    touch(path)
            except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError, ImportError):
                pass
            if self._details is None:
                docs: list[str] = []
                aliases: list[AliasEntry] = []
                for i in range(len(self.index.files)):
                    tree = self.tree(i)
                    docs += function_docs(tree)
                    aliases += declarations(tree, i)[2]
                self._details = LibraryDetails(tuple(docs), tuple(aliases))
        return self._details

    def function_doc(self, function: int) -> str:
        docs = self.details.function_docs
        return docs[function] if 0 <= function < len(docs) else ""

    def path(self, file: int) -> str:
        return self.index.files[file].path

    def tree(self, file: int) -> A.File:
        """The syntax tree of one library file (unpickled from the parse cache on first use)."""
        tree = self._trees.get(file)
        if tree is None and file < len(self.index.tree_caches):
            # the parse cache entry written when the index was built (the fingerprint vouches for the text)
            try:
                with no_gc(freeze=True):  # the collector need never walk library trees
                    loaded, _ = pickle.loads(Path(self.index.tree_caches[file]).read_bytes())
                if isinstance(loaded, A.File):
                    tree = self._trees[file] = loaded
            except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
                pass
        if tree is None:
            path = self.index.files[file].path
            result = parse_cached(read_source(path), path, self.target, self.macros, library=True)
            tree = self._trees[file] = result.file
        return tree

    @property
    def loaded_trees(self) -> frozenset[int]:
        """The files whose trees are in memory (the lazy loading at work)."""
        return frozenset(self._trees)

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Pass 1 problems in the library itself (stap fails the whole run on them)."""
        return self.macros.diagnostics + tuple(d for f in self.index.files for d in f.diagnostics)

    def function_names(self) -> frozenset[str]:
        return self.index.public_functions


def _build_index(parsed: Sequence[tuple[Path, ParseResult]]) -> tuple[LibraryIndex, LibraryDetails]:
    files: list[FileEntry] = []
    functions: list[FunctionEntry] = []
    globals_: list[GlobalEntry] = []
    aliases: list[AliasEntry] = []
    docs: list[str] = []
    for i, (path, result) in enumerate(parsed):
        tree = result.file
        f, g, a, p = declarations(tree, i)
        functions += f
        globals_ += g
        aliases += a
        docs += function_docs(tree)
        diags = tuple(d for d in result.diagnostics if d.is_error)
        files.append(FileEntry(str(path), tuple(p), diags))
    index = LibraryIndex.build(tuple(files), tuple(functions), tuple(globals_), tuple(aliases))
    return index, LibraryDetails(tuple(docs), tuple(aliases))


def _names(files: LibraryFiles) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(map(str, files.macro_files)), tuple(map(str, files.script_files))


def _fingerprint(files: tuple[tuple[str, ...], tuple[str, ...]], target: Target, root: Path,
                 include_dirs: Sequence[str | Path]) -> str:
    parts = [INDEX_VERSION, syntax_version(), target.release, target.arch, target.runtime, target.stap_version,
             str(target.guru_mode), target.privilege, str(root), *map(str, include_dirs)]
    config = target.kernel_config_file or f"/lib/modules/{target.release}/build/.config"
    for p in (config, f"/boot/config-{target.release}", *files[0], *files[1]):
        try:
            st = os.stat(p)
            parts.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{p}:-")
    return content_hash("\n".join(parts))


def cached_library_files(target: Target, include_dirs: Sequence[str | Path],
                         root: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """library_files, remembered with the search directories' mtimes (a file added or removed changes
    its directory's), so a warm start stats directories instead of globbing them."""
    dirs = [d for r in [root, *map(Path, include_dirs)] for d in search_dirs(r, target)]
    stamps = []
    for d in dirs:
        try:
            stamps.append(f"{d}:{os.stat(d).st_mtime_ns}")
        except OSError:
            stamps.append(f"{d}:-")
    key = content_hash("\n".join([INDEX_VERSION, target.release, target.arch, target.runtime, *stamps]))
    path = cache_dir("semantic") / f"files-{key}.pickle"
    try:
        found = pickle.loads(path.read_bytes())
        if isinstance(found, tuple) and len(found) == 2:
            touch(path)
            return found
    except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
        pass
    files = _names(library_files(target, include_dirs, root))
    store(path, pickle.dumps(files, protocol=pickle.HIGHEST_PROTOCOL))
    prune(path.parent, keep=(path,))
    return files


def load_library_macros(target: Target, include_dirs: Sequence[str | Path] = ()) -> LibraryMacros:
    """The library's macros alone (for a caller that needs no index)."""
    return collect_library_macros(library_files(target, include_dirs).macro_files, target)
