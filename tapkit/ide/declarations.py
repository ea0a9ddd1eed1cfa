"""What a file declares, read from its pass-1 tree: functions, probe aliases, globals, macros.

This is the editor's name-level view of the tapset library and of open scripts, enough for
completion, signature help, symbols and name lookups before the semantic pass exists. Once
tapkit.semantic indexes the library (issue 4), LibraryIndex is fed from that index instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tapkit.diagnostics import Span
from tapkit.ide.docs import DocComment, parse_doc_comment
from tapkit.syntax import ast as A
from tapkit.syntax.library import collect_library_macros, library_files, no_gc, parse_cached, read_source
from tapkit.syntax.parser import LibraryMacros, ParseResult
from tapkit.syntax.probes import probe_point_text
from tapkit.syntax.tokens import lex
from tapkit.syntax.walk import walk
from tapkit.target import Target


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    name: str
    params: tuple[A.Param, ...]
    return_type: str | None
    span: Span
    name_span: Span
    doc: DocComment | None = None
    private: bool = False
    embedded: bool = False  # body is %{ C %}

    @property
    def arity(self) -> int:
        return len(self.params)

    def param_labels(self) -> tuple[str, ...]:
        return tuple(f"{p.name}:{p.type}" if p.type else p.name for p in self.params)

    def signature(self) -> str:
        """As the tapset docs write it: `user_string_n:string (addr:long, n:long)`."""
        ret = f":{self.return_type}" if self.return_type else ""
        return f"{self.name}{ret} ({', '.join(self.param_labels())})"


@dataclass(frozen=True, slots=True)
class AliasInfo:
    name: str  # the alias's probe point, printed: `syscall.open.return`
    span: Span
    name_span: Span
    points: tuple[str, ...]  # what it expands to
    epilogue: bool
    doc: DocComment | None = None
    locals: tuple[str, ...] = ()  # names its bodies assign: what a probe on it can read


@dataclass(frozen=True, slots=True)
class GlobalInfo:
    name: str
    span: Span
    name_span: Span
    private: bool = False
    doc: DocComment | None = None


@dataclass(frozen=True, slots=True)
class MacroInfo:
    name: str
    params: tuple[str, ...]
    span: Span
    name_span: Span
    doc: DocComment | None = None

    def signature(self) -> str:
        return f"@{self.name}" + (f"({', '.join(self.params)})" if self.params else "")


@dataclass(frozen=True, slots=True)
class Declarations:
    """One file's declarations, in source order."""

    functions: tuple[FunctionInfo, ...] = ()
    aliases: tuple[AliasInfo, ...] = ()
    globals: tuple[GlobalInfo, ...] = ()
    macros: tuple[MacroInfo, ...] = ()


def _doc(c: A.Comment | None) -> DocComment | None:
    return parse_doc_comment(c.text) if c is not None else None


def declarations(file: A.File, macro_docs: Mapping[str, DocComment] | None = None) -> Declarations:
    functions: list[FunctionInfo] = []
    aliases: list[AliasInfo] = []
    globals_: list[GlobalInfo] = []
    for item in file.items:
        if isinstance(item, A.FunctionDecl):
            functions.append(FunctionInfo(item.name, item.params, item.return_type, item.span, item.name_span,
                                          _doc(item.doc), item.private, isinstance(item.body, A.EmbeddedCode)))
        elif isinstance(item, A.AliasDecl):
            points = tuple(probe_point_text(p) for p in item.points)
            doc = _doc(item.doc)
            bodies = [item.body] + ([item.body2] if item.body2 is not None else [])
            written = tuple(dict.fromkeys(v.name for b in bodies for v in assigned_vars(b)))
            for name in item.names:
                aliases.append(AliasInfo(probe_point_text(name), item.span, name.span, points, item.epilogue, doc,
                                         written))
        elif isinstance(item, A.GlobalDecl):
            doc = _doc(item.doc)
            for v in item.vars:
                globals_.append(GlobalInfo(v.name, v.span, v.name_span, item.private, doc))
    docs = macro_docs or {}
    macros = tuple(MacroInfo(m.name, m.params, m.span, m.name_span, docs.get(m.name)) for m in file.macros)
    return Declarations(tuple(functions), tuple(aliases), tuple(globals_), macros)


def assigned_vars(body: A.Node) -> list[A.Var]:
    """The plain names a body writes (assignments, ++/--, foreach variables, catch variables), first
    write of each name first: stap makes these locals unless a global of that name exists."""
    seen: dict[str, A.Var] = {}

    def add(var: A.Node | None) -> None:
        if isinstance(var, A.Var) and var.name not in seen:
            seen[var.name] = var

    for node in walk(body):
        if isinstance(node, A.Assignment):
            add(node.target)
        elif isinstance(node, A.Crement):
            add(node.operand)
        elif isinstance(node, A.ForeachLoop):
            add(node.value)
            for k in node.keys:
                add(k)
        elif isinstance(node, A.TryStatement):
            add(node.catch_var)
    return list(seen.values())


def macro_docs(text: str, filename: str) -> dict[str, DocComment]:
    """The doc comments written right before `@define`s (the .stpm files' `smacro` docs)."""
    lexed = lex(text, filename)
    docs: dict[str, DocComment] = {}
    tokens = lexed.tokens
    j = 0
    for c in lexed.comments:
        if not c.text.startswith("/**"):
            continue
        while j < len(tokens) and tokens[j].pos < c.end_pos:
            j += 1
        if j + 1 < len(tokens) and tokens[j].text == "@define":
            docs[tokens[j + 1].text] = parse_doc_comment(c.text)
    return docs


# ---------------------------------------------------------------- the library

Progress = Callable[[int, int, str], None]  # (done, total, what) while loading


@dataclass(frozen=True, slots=True)
class LibraryIndex:
    """Name lookups over the tapset library's declarations (public ones only: private names are
    visible in their own file alone)."""

    functions: Mapping[str, tuple[FunctionInfo, ...]] = field(default_factory=dict)
    aliases: Mapping[str, tuple[AliasInfo, ...]] = field(default_factory=dict)
    globals: Mapping[str, GlobalInfo] = field(default_factory=dict)
    macros: Mapping[str, MacroInfo] = field(default_factory=dict)
    files: Mapping[Path, ParseResult] = field(default_factory=dict)  # every library file's pass-1 result
    loaded: bool = False

    @staticmethod
    def build(results: Iterable[tuple[Path, ParseResult]], macro_infos: Iterable[MacroInfo] = ()) -> LibraryIndex:
        functions: dict[str, list[FunctionInfo]] = {}
        aliases: dict[str, list[AliasInfo]] = {}
        globals_: dict[str, GlobalInfo] = {}
        files: dict[Path, ParseResult] = {}
        for path, result in results:
            files[path] = result
            decls = declarations(result.file)
            for f in decls.functions:
                if not f.private:
                    functions.setdefault(f.name, []).append(f)
            for a in decls.aliases:
                aliases.setdefault(a.name, []).append(a)
            for g in decls.globals:
                if not g.private:
                    globals_.setdefault(g.name, g)
        return LibraryIndex({k: tuple(v) for k, v in functions.items()}, {k: tuple(v) for k, v in aliases.items()},
                            globals_, {m.name: m for m in macro_infos}, files, loaded=True)


def library_macro_infos(macros: LibraryMacros) -> list[MacroInfo]:
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


def load_library(target: Target, include_dirs: Sequence[Path], macros: LibraryMacros | None = None,
                 progress: Progress | None = None, tapset_dir: Path | None = None) -> LibraryIndex:
    """Parse (or load from the content-hash cache) every file stap reads for target, reporting progress."""
    files = library_files(target, include_dirs, tapset_dir)
    if macros is None:
        macros = collect_library_macros(files.macro_files, target)
    results: list[tuple[Path, ParseResult]] = []
    total = len(files.script_files)
    with no_gc(freeze=True):  # hundreds of thousands of acyclic tree nodes: see tapkit.syntax.library
        for i, path in enumerate(files.script_files):
            if progress is not None and i % 25 == 0:
                progress(i, total, path.name)
            try:
                text = read_source(path)
            except OSError:
                continue
            results.append((path, parse_cached(text, str(path), target, macros, library=True)))
    if progress is not None:
        progress(total, total, "done")
    return LibraryIndex.build(results, library_macro_infos(macros))
