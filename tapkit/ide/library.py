"""The tapset library as the editor reads it: a thin view over tapkit.semantic's TapsetLibrary.

The semantic pass keeps one declarations index of the library (persisted, trees loaded on use);
this module only reshapes it for completion, hover, symbols and signature help — functions by
name with parsed doc comments, aliases by name, public globals, macros with their docs — and
fills an alias's expansion and the variables it defines from that alias's file alone, on demand.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tapkit.diagnostics import Span
from tapkit.ide.declarations import (
    AliasInfo,
    FunctionInfo,
    GlobalInfo,
    MacroInfo,
    ParamInfo,
    declarations,
    macro_docs,
)
from tapkit.ide.docs import DocComment, parse_doc_comment
from tapkit.semantic.library import TapsetLibrary
from tapkit.syntax import ast as A
from tapkit.syntax.library import read_source
from tapkit.syntax.parser import LibraryMacros
from tapkit.target import Target
from tapkit.values import replace

Progress = Callable[[int, int, str], None]  # (done, total, what) while loading


def _name(components: tuple[tuple[str, str | None], ...]) -> str:
    """An alias's name as written: components joined by dots (library aliases take no arguments)."""
    return ".".join(c if k is None else f"{c}(…)" for c, k in components)


class LibraryView:
    """Name lookups over a TapsetLibrary (public names only: private ones are visible in their own file).

    An empty view (no library loaded yet) answers every lookup with nothing."""

    def __init__(self, semantic: TapsetLibrary | None = None) -> None:
        self.semantic = semantic
        self.functions: Mapping[str, tuple[FunctionInfo, ...]] = {}
        self.aliases: Mapping[str, tuple[AliasInfo, ...]] = {}
        self.globals: Mapping[str, GlobalInfo] = {}
        self.macros: Mapping[str, MacroInfo] = {}
        self._expanded: dict[tuple[int, int], tuple[AliasInfo, ...]] = {}
        self._numbers: dict[str, int] | None = None  # library file path -> its number in the index
        self._lock = threading.Lock()
        if semantic is not None:
            self._build(semantic)

    @property
    def loaded(self) -> bool:
        return self.semantic is not None

    @property
    def files(self) -> tuple[Path, ...]:
        """The library's script files, in stap's order."""
        return self.semantic.files.script_files if self.semantic is not None else ()

    def _build(self, lib: TapsetLibrary) -> None:
        index = lib.index
        docs = lib.details.function_docs
        functions: dict[str, list[FunctionInfo]] = {}
        for i, f in enumerate(index.functions):
            if f.private:
                continue
            path = index.files[f.file].path
            name_span = Span(path, f.line, f.column, f.line, f.column + len(f.name))
            doc = parse_doc_comment(docs[i]) if i < len(docs) and docs[i] else None
            params = tuple(ParamInfo(n, t) for n, t in zip(f.params, f.param_types, strict=True))
            functions.setdefault(f.name, []).append(FunctionInfo(f.name, params, f.return_type, name_span, name_span,
                                                                 doc, False, f.embedded))
        aliases: dict[str, list[AliasInfo]] = {}
        for a in lib.details.aliases:
            path = index.files[a.file].path
            span = Span(path, a.line, a.column, a.line, a.column + len("probe"))
            doc = parse_doc_comment(a.doc) if a.doc else None
            for components in a.names:
                name = _name(components)
                aliases.setdefault(name, []).append(AliasInfo(name, span, span, (), a.epilogue, doc,
                                                              source=(a.file, a.item)))
        globals_: dict[str, GlobalInfo] = {}
        for g in index.globals:
            if not g.private:
                path = index.files[g.file].path
                globals_.setdefault(g.name, GlobalInfo(g.name, Span(path, g.line, g.column, g.line,
                                                                    g.column + len(g.name)),
                                                       Span(path, g.line, g.column, g.line, g.column + len(g.name))))
        self.functions = {k: tuple(v) for k, v in functions.items()}
        self.aliases = {k: tuple(v) for k, v in aliases.items()}
        self.globals = globals_
        self.macros = {m.name: m for m in macro_infos(lib.macros)}

    def expanded(self, alias: AliasInfo) -> AliasInfo:
        """alias with its name's span, what it expands to and the variables its body defines, read from
        its file's tree (the library's aliases are listed without them)."""
        if alias.source is None or self.semantic is None:
            return alias
        return next((a for a in self._item_aliases(*alias.source) if a.name == alias.name), alias)

    def _item_aliases(self, file: int, item: int) -> tuple[AliasInfo, ...]:
        assert self.semantic is not None
        with self._lock:
            found = self._expanded.get((file, item))
        if found is None:
            tree = self.semantic.tree(file)
            found = declarations(replace(tree, items=(tree.items[item],))).aliases
            with self._lock:
                self._expanded[(file, item)] = found
        return found

    def alias_defining(self, span: Span) -> AliasInfo | None:
        """The library alias whose body holds span (where a variable a probe can read is set)."""
        if self.semantic is None:
            return None
        with self._lock:
            if self._numbers is None:
                self._numbers = {f.path: i for i, f in enumerate(self.semantic.index.files)}
            file = self._numbers.get(span.file)
        if file is None:
            return None
        for k, item in enumerate(self.semantic.tree(file).items):
            if isinstance(item, A.AliasDecl) and item.span.contains(span.line, span.column):
                found = self._item_aliases(file, k)
                return found[0] if found else None
        return None


def macro_infos(macros: LibraryMacros) -> list[MacroInfo]:
    """The library's macros, each with the doc comment written before its @define."""
    infos = []
    docs_by_file: dict[str, dict[str, DocComment]] = {}
    for name in macros.macros:
        d = macros.definition(name)
        if d is None:
            continue
        file = d.span.file
        if file not in docs_by_file:
            try:
                docs_by_file[file] = macro_docs(read_source(file), file)
            except OSError:
                docs_by_file[file] = {}
        infos.append(MacroInfo(d.name, d.params, d.span, d.name_span, docs_by_file[file].get(name)))
    return infos


def load_library(target: Target, include_dirs: Sequence[Path], progress: Progress | None = None,
                 tapset_dir: Path | None = None) -> LibraryView:
    """The semantic pass's TapsetLibrary for target (its persisted index when warm; every file parsed when
    cold), viewed for the editor. progress sees the start and the end: the load reports nothing between."""
    if progress is not None:
        progress(0, 1, "tapset library")
    lib = TapsetLibrary.load(target, tuple(include_dirs), tapset_dir)
    view = LibraryView(lib)
    if progress is not None:
        progress(1, 1, "done")
    return view


__all__ = ["LibraryView", "Progress", "load_library", "macro_infos"]
