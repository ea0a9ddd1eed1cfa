"""The state of one pass-2 run: chosen files, functions, globals and derived probes (stap's session).

Resolution starts from the user's files and grows: a call to a tapset function pulls its file
in (and that file's plain probes are derived), a global found in a tapset file does the same,
an alias that derives something adds its file. Lookups follow stap's order -- already chosen
symbols, then chosen files in order, then the rest of the library in library order -- with
per-file overload numbers and private names visible only inside their own file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tapkit.diagnostics import Span
from tapkit.semantic import ir
from tapkit.semantic.errors import ErrorSink, SemanticError, Where
from tapkit.semantic.library import FunctionEntry, GlobalEntry, TapsetLibrary, declarations
from tapkit.semantic.lower import Lowering
from tapkit.semantic.probes import AliasBuilder, AliasRef, LazyMatchNode, MatchNode, Point, ProbeSpec, register_alias
from tapkit.semantic.where import Locator, Sources, name_where
from tapkit.syntax import ast as A

if TYPE_CHECKING:
    from tapkit.semantic.context import ProbeContext
    from tapkit.semantic.options import AnalysisOptions


@dataclass(eq=False)
class SourceFile:
    """A file in the program: the user's scripts and the tapset files resolution pulled in."""

    path: str
    tree: A.File
    user: bool
    library_index: int | None
    functions: list[FunctionEntry]
    globals: list[GlobalEntry]

    @property
    def privileged(self) -> bool:
        return not self.user


@dataclass(frozen=True, slots=True)
class ProcfsFile:
    """The /proc/systemtap/MODULE file a procfs probe serves, and whether it handles writes or reads."""

    path: str
    write: bool


@dataclass(eq=False)
class DerivedProbe:
    """One concrete probe: a built-in probe point reached from a script probe through its aliases."""

    spec: ProbeSpec  # the expansion that reached the built-in point
    point: Point  # the built-in point as derived (wildcards filled in)
    context: ProbeContext
    body: ir.Block
    condition: ir.Expr | None = None
    locals: list[ir.VarDef] = field(default_factory=list)
    synthetic: bool = False
    procfs: ProcfsFile | None = None  # set by the procfs builder

    @property
    def decl(self) -> A.ProbeDecl:
        return self.spec.decl

    @property
    def file(self) -> str:
        return self.spec.file

    def name(self) -> str:
        """The concrete point as stap lists it (`module("m").function("f@file.c:12")`, wildcards resolved)."""
        return self.context.display_point or self.point.text(flags=False)

    def aliases(self) -> list[str]:
        """The aliases expanded to reach the built-in point, innermost first (as written where used)."""
        return [spec.alias_point.text(flags=False) for spec in self.spec.chain() if spec.alias_point is not None]

    def derivation(self) -> str:
        """stap's "X from: Y from: Z" chain of probe points, for "while processing probe" messages."""
        parts = [self.context.display_point or self.point.text(flags=False)]
        for spec in self.spec.chain():
            p = spec.alias_point if spec.alias_point is not None else (spec.points[0] if spec.points else None)
            if p is not None:
                parts.append(p.text(flags=False))
        return " from: ".join(parts)


def mangled(name: str, overload: int, private_file: str | None) -> str:
    if private_file is None:
        return f"__global_{name}__overload_{overload}"
    return f"__private_{detox(private_file)}{name}__overload_{overload}"


def detox(path: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in path) + "__"


class Session:
    """Mutable state of one analysis; Analysis (analysis.py) is the immutable view handed out."""

    def __init__(self, library: TapsetLibrary, options: AnalysisOptions) -> None:
        self.library = library
        self.options = options
        self.sources = Sources()
        self.locator = Locator(self.sources, self._macro_calls)
        self.lowering = Lowering()
        self.errors = ErrorSink(Span("<input>", 1, 1, 1, 1))
        self.files: list[SourceFile] = []
        self.user_files: list[SourceFile] = []
        self._globals_by_name: dict[str, list[tuple[SourceFile, GlobalEntry]]] = {}  # of self.files, in order
        self._chosen_library: dict[int, SourceFile] = {}
        self.functions: dict[str, ir.FunctionDef] = {}  # mangled name -> chosen function
        self.globals: list[ir.VarDef] = []
        self._global_keys: dict[tuple[str, str], ir.VarDef] = {}  # (private file or "", name)
        self.probes: list[DerivedProbe] = []
        self.match_root = MatchNode()
        self.parent_optional = False
        self.costly_suppressed = 0
        self.overload_count: dict[str, int] = {}
        self._alias_decls: dict[AliasRef, A.AliasDecl] = {}
        self.pulled_library_files: list[int] = []  # in the order resolution reached them
        self.debuginfo_cache: dict[str, object] = {}
        self.btf_noted: set[str] = set()  # modules whose probe points were resolved from BTF (warned once)
        self._target_decls: dict[int, ir.VarDef] = {}
        self.procfs_groups: dict[str, list[DerivedProbe]] = {}  # procfs path -> probes joined to it, in order

    # ------------------------------------------------------------ files
    def _macro_calls(self, path: str) -> tuple[A.MacroCall, ...]:
        for sf in self.files:
            if sf.path == path:
                return sf.tree.macro_calls
        for sf in self._chosen_library.values():
            if sf.path == path:
                return sf.tree.macro_calls
        return ()

    def add_user_file(self, path: str, tree: A.File, text: str) -> SourceFile:
        self.sources.add(path, text)
        funcs, globs, _aliases, _probes = declarations(tree, -1)
        sf = SourceFile(path, tree, True, None, funcs, globs)
        self.user_files.append(sf)
        self._add_file(sf)
        return sf

    def register(self) -> None:
        """Build the match tree (built-ins, library aliases, then the user's) and overload counts."""
        from tapkit.semantic.builtins import register_builtins

        index = self.library.index
        self.match_root = LazyMatchNode(index.alias_trie, self._library_alias_builder)
        for sf in self.user_files:
            for i, item in enumerate(sf.tree.items):
                if isinstance(item, A.AliasDecl):
                    from tapkit.semantic.library import point_key

                    register_alias(self.match_root, AliasRef(sf.path, i, None),
                                   tuple(point_key(n) for n in item.names))
        register_builtins(self.match_root)
        counts = dict(index.overloads)
        for sf in self.user_files:
            for f in sf.functions:
                counts[f.name] = max(counts.get(f.name, 0), f.overload + 1)
        self.overload_count = counts

    def target_decl(self, e: ir.Target) -> ir.VarDef:
        """The generated function a resolved target expression stands for (its type is the value's)."""
        decl = self._target_decls.get(id(e))
        if decl is None:
            decl = self._target_decls[id(e)] = ir.VarDef(e.name or "@target", "synthetic", e.src, e.span.file,
                                                         type=e.resolved_type, synthetic=True)
        return decl

    def _library_alias_builder(self, alias: int) -> AliasBuilder:
        index = self.library.index
        file = index.alias_files[alias]
        return AliasBuilder(AliasRef(index.files[file].path, index.alias_items[alias], file))

    def is_privileged_file(self, path: str) -> bool:
        """Tapset files are privileged; user scripts only in guru mode (-g)."""
        if self.options.guru:
            return True
        return not any(sf.path == path for sf in self.user_files)

    def library_file(self, index: int) -> SourceFile:
        sf = self._chosen_library.get(index)
        if sf is None:
            path = self.library.path(index)
            tree = self.library.tree(index)
            funcs = self.library.index.file_functions(index)
            globs = self.library.index.file_globals(index)
            sf = SourceFile(path, tree, False, index, funcs, globs)
            self._chosen_library[index] = sf
        return sf

    def _add_file(self, sf: SourceFile) -> None:
        self.files.append(sf)
        for g in sf.globals:
            self._globals_by_name.setdefault(g.name, []).append((sf, g))

    def choose_library_file(self, index: int) -> SourceFile:
        sf = self.library_file(index)
        if sf not in self.files:
            self._add_file(sf)
            self.pulled_library_files.append(index)
        return sf

    def is_chosen_library(self, index: int) -> bool:
        sf = self._chosen_library.get(index)
        return sf is not None and sf in self.files

    def alias_decl(self, ref: AliasRef) -> A.AliasDecl:
        decl = self._alias_decls.get(ref)
        if decl is None:
            if ref.library_file is not None:
                tree = self.library.tree(ref.library_file)
            else:
                tree = next(sf.tree for sf in self.user_files if sf.path == ref.file_path)
            item = tree.items[ref.item]
            assert isinstance(item, A.AliasDecl)
            decl = self._alias_decls[ref] = item
        return decl

    def use_alias_file(self, ref: AliasRef) -> None:
        if ref.library_file is not None:
            self.choose_library_file(ref.library_file)

    # ------------------------------------------------------------ probe groups
    def join_group(self, dp: DerivedProbe) -> None:
        """stap's derived_probe::join_group, run at the end of optimization on each probe left after
        elision: a procfs file takes one read probe (and, in the bpf runtime, not both kinds). The
        error has no position and ends pass 2, as stap throws it outside any per-probe handler."""
        f = dp.procfs
        if f is None:
            return
        joined = self.procfs_groups.setdefault(f.path, [])
        if joined:
            kinds = {p.procfs.write for p in joined if p.procfs is not None}
            if self.options.target.runtime == "bpf" and (not f.write) in kinds:
                raise SemanticError("sem.procfs-group", "both read and write procfs probes cannot exist for the "
                                    f"same procfs path \"{f.path}\" in the bpf runtime.")
            if not f.write and False in kinds:
                raise SemanticError("sem.procfs-group",
                                    f"only one read procfs probe can exist for procfs path \"{f.path}\"")
        joined.append(dp)

    # ------------------------------------------------------------ globals
    def find_global(self, name: str, arity: int, where: Where) -> ir.VarDef | None:
        """Chosen globals, then chosen files' globals, then the library's (pulling the file in)."""
        calling = where.span.file
        for key in (("", name), (calling, name)):
            v = self._global_keys.get(key)
            if v is not None:
                set_arity(v, arity, where, self)
                return v
        for sf, g in list(self._globals_by_name.get(name, ())):
            if not g.private or sf.path == calling:
                return self._choose_global(sf, g, arity, where)
        for gi in self.library.index.by_global.get(name, ()):
            g = self.library.index.globals[gi]
            if self.is_chosen_library(g.file):
                continue
            path = self.library.path(g.file)
            if g.private and path != calling:
                continue
            sf = self.choose_library_file(g.file)
            return self._choose_global(sf, g, arity, where)
        return None

    def _choose_global(self, sf: SourceFile, g: GlobalEntry, arity: int, where: Where) -> ir.VarDef:
        decl = sf.tree.items[g.item]
        assert isinstance(decl, A.GlobalDecl)
        gv = decl.vars[g.position]
        v = ir.VarDef(gv.name, "global", gv, sf.path, private=decl.private, wrap=gv.wrap, maxsize=gv.size or 0)
        if gv.init is not None:
            init = gv.init
            if isinstance(init, A.NumberLiteral | A.StringLiteral):
                v.init = init
                v.type = ir.LONG if isinstance(init, A.NumberLiteral) else ir.STRING
            elif isinstance(init, A.ScriptArg):  # `global argc = $#` in a tapset: pasted by stap
                v.type = ir.STRING if init.quoted and init.index is not None else ir.LONG
            # an initialized global is a scalar from its declaration on
            v.arity, v.arity_where = 0, Where(gv.name_span, f"identifier '{gv.name}'")
        self._global_keys[(sf.path if decl.private else "", gv.name)] = v
        self.globals.append(v)
        set_arity(v, arity, where, self)
        return v

    def all_global_names(self) -> set[str]:
        return {v.name for v in self.globals if not v.private}

    # ------------------------------------------------------------ functions
    def find_functions(self, name: str, arity: int, where: Where, privileged_caller: bool) -> list[ir.FunctionDef]:
        """stap's find_functions: every overload alternative whose arity matches, in overload order."""
        calling = where.span.file
        found_defs: list[ir.FunctionDef] = []
        last: tuple[SourceFile, FunctionEntry] | ir.FunctionDef | None = None
        for alt in range(self.overload_count.get(name, 0)):
            found = False
            for key in (mangled(name, alt, None), mangled(name, alt, calling)):
                fd = self.functions.get(key)
                if fd is not None:
                    if len(fd.params) == arity:
                        found_defs.append(fd)
                        found = True
                    else:
                        last = fd
                    break
            if not found:
                for sf in list(self.files):
                    for f in sf.functions:
                        if f.name == name and f.overload == alt and (not f.private or sf.path == calling):
                            if f.arity == arity:
                                found_defs.append(self._choose_function(sf, f))
                                found = True
                                break
                            last = (sf, f)
                    if found:
                        break
            if not found:
                for fi in self.library.index.by_function.get(name, ()):
                    f = self.library.index.functions[fi]
                    if f.overload != alt or self.is_chosen_library(f.file):
                        continue
                    if f.private and self.library.path(f.file) != calling:
                        continue
                    if f.arity == arity:
                        sf = self.choose_library_file(f.file)
                        found_defs.append(self._choose_function(sf, f))
                        break
                    last = (self.library_file(f.file), f)
        if last is not None and not found_defs:
            if isinstance(last, ir.FunctionDef):
                decl = last.decl
            else:
                item = last[0].tree.items[last[1].item]
                assert isinstance(item, A.FunctionDecl)
                decl = item
            raise SemanticError("sem.arity-mismatch",
                                f"arity mismatch found (function '{name}' takes {len(decl.params)} args)", where,
                                where2=name_where(decl.name, decl.name_span))
        for fd in found_defs:
            self._security_check(fd, where, privileged_caller)
        return found_defs

    def _choose_function(self, sf: SourceFile, f: FunctionEntry) -> ir.FunctionDef:
        key = mangled(f.name, f.overload, sf.path if f.private else None)
        existing = self.functions.get(key)
        if existing is not None and existing.file == sf.path:
            return existing
        decl = sf.tree.items[f.item]
        assert isinstance(decl, A.FunctionDecl)
        fd = ir.FunctionDef(f.name, decl, sf.path, f.overload)
        for p in decl.params:
            v = ir.VarDef(p.name, "param", p, sf.path)
            if p.type is not None:
                v.type = p.type
                v.explicit_type = True
            fd.params.append(v)
        if decl.return_type is not None:
            fd.type = decl.return_type
            fd.explicit_type = True
        fd.body = self.lowering.function_body(decl.body)
        self.functions.setdefault(key, fd)
        return fd

    def _security_check(self, fd: ir.FunctionDef, where: Where, privileged_caller: bool) -> None:
        body = fd.body
        if isinstance(body, ir.EmbeddedCode) and "/* guru */" in body.code and not privileged_caller:
            raise SemanticError("sem.guru", "function may not be used unless -g is specified", where)

    def all_function_names(self, with_uncalled_script_functions: bool = False) -> set[str]:
        """What stap suggests for an unresolved function: the library's and those resolved so far
        (a script function not called yet is not among them); optionally every script function too."""
        names = {fd.name for fd in self.functions.values()} | self.library.function_names()
        if with_uncalled_script_functions:
            names |= {f.name for sf in self.user_files for f in sf.functions}
        return names


def set_arity(v: ir.VarDef, arity: int, where: Where, s: Session | None = None) -> None:
    """stap's vardecl::set_arity: fix a variable's arity on first use, complain when uses disagree."""
    if arity < 0:
        return
    if arity == 0 and v.maxsize > 0:
        raise SemanticError("sem.inconsistent-arity", "inconsistent arity", Where(v.src.span, None))
    if v.arity != arity and v.arity >= 0:
        chain = None
        if v.arity_where is not None:
            chain = SemanticError("sem.inconsistent-arity", f"arity {v.arity} first inferred here", v.arity_where)
        raise SemanticError("sem.inconsistent-arity", f"inconsistent arity ({v.arity} vs {arity})", where, chain)
    if v.arity != arity:
        v.arity_where = where
        v.arity = arity
        v.index_types = [ir.UNKNOWN] * arity
