"""analyze(): pass 2 over parsed script files, in stap's order, to an Analysis value.

Order (stap's semantic_pass): symbols (probe derivation, alias expansion, resolution, library
pulled in on use) -> probe conditions -> optimization with an early type check -> type
inference -> foreach/statistics checks -> "no probes found". Each stage runs only if the ones
before reported no error, as in stap, so the first error is the one stap would print first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tapkit.diagnostics import Diagnostic, Severity, Span
from tapkit.semantic import ir
from tapkit.semantic.checks import check_foreach_mutation, check_statistics
from tapkit.semantic.compact import compact
from tapkit.semantic.effects import varuse_of
from tapkit.semantic.errors import SemanticError
from tapkit.semantic.formats import FormatProblem, conversions
from tapkit.semantic.formats import save as save_formats
from tapkit.semantic.infer import final_type_check
from tapkit.semantic.library import TapsetLibrary
from tapkit.semantic.optimize import Optimizer
from tapkit.semantic.options import AnalysisOptions
from tapkit.semantic.probes import ProbeSpec, derive_probes, points_of
from tapkit.semantic.resolve import Resolver
from tapkit.semantic.session import DerivedProbe, Session, SourceFile
from tapkit.semantic.targets import expand_function_targets, expand_targets
from tapkit.syntax import ast as A
from tapkit.syntax.parser import ParseResult
from tapkit.syntax.walk import walk

if TYPE_CHECKING:
    from tapkit.semantic.editor import EditorModel


@dataclass(frozen=True, slots=True)
class ScriptFile:
    """A user file as analyze() takes it: its path, its text and pass 1's result."""

    path: str
    text: str
    parsed: ParseResult


@dataclass(eq=False)
class Analysis:
    """The result of pass 2: stap's verdict (diagnostics) and the resolved, optimized program.

    probes/functions/globals are what stap would compile (unused code elided); session keeps the
    full state for the query functions (tapkit.semantic.queries).
    """

    files: tuple[ScriptFile, ...]
    options: AnalysisOptions
    diagnostics: list[Diagnostic]
    session: Session | None
    stage: str  # the last stage that ran: "parse", "symbols", "optimize", "types", "done"
    probes: list[DerivedProbe] = field(default_factory=list)
    functions: dict[str, ir.FunctionDef] = field(default_factory=dict)
    globals: list[ir.VarDef] = field(default_factory=list)
    model: EditorModel | None = None  # with editor=True: symbols and types of all the code
    stages: tuple[str, ...] = ()  # per diagnostic: the stage (STAGES) that raised it
    entities: frozenset[tuple[str, str, str]] = frozenset()  # what it shares beyond its text (signatures())
    global_names: frozenset[str] = frozenset()  # what "never-assigned" lists drew on (Optimizer.global_names)
    never_assigned: tuple[tuple[str, str, Span, frozenset[str]], ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def dispose(self) -> None:
        """Take the analysis apart, for one nobody will read again: its IR is full of cycles through the
        session, which reference counting alone then frees (not a collector pass over it later)."""
        if self.session is not None:
            vars(self.session).clear()
        if self.model is not None:
            vars(self.model).clear()
        vars(self).clear()

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def library_files(self) -> list[str]:
        """The tapset files the program pulled in, in the order resolution reached them."""
        if self.session is None:
            return []
        index = self.session.library.index
        return [index.files[i].path for i in self.session.pulled_library_files]

    def functions_of(self, probe: DerivedProbe) -> list[ir.FunctionDef]:
        """The functions a probe's body and condition call, transitively (library ones included)."""
        from tapkit.semantic.effects import reachable_functions

        roots: list[ir.Node] = [probe.body] + ([probe.condition] if probe.condition is not None else [])
        return sorted(reachable_functions(roots), key=lambda fd: (fd.name, fd.overload, fd.file))


def format_errors(tree: A.Node) -> list[Diagnostic]:
    """printf formats stap's parser rejects (pass 1) in a file or an item: reported at the token after the format."""
    out = []
    for node in walk(tree):
        if isinstance(node, A.PrintCall) and node.name in ("printf", "sprintf") and node.args:
            fmt = node.args[0]
            if isinstance(fmt, A.StringLiteral):
                try:
                    conversions(fmt.value)
                except FormatProblem as exc:
                    out.append(Diagnostic(Severity.ERROR, "parse.format", str(exc), _after(fmt, node), kind="parse"))
    return out


def _after(fmt: A.StringLiteral, call: A.PrintCall) -> Span:
    nxt = call.args[1].span if len(call.args) > 1 else None
    if nxt is not None:
        return nxt  # stap points at the ',' before it; the parse error line is what matters
    end = call.span
    return Span(end.file, end.end_line, end.end_column - 1, end.end_line, end.end_column)


def analyze(files: Sequence[ScriptFile], library: TapsetLibrary, options: AnalysisOptions,
            editor: bool = False, compact_tables: bool = False) -> Analysis:
    """stap's pass 2 over files. editor=True instead keeps every probe body (those whose point does not
    resolve too), skips the optimizer and infers types quietly: Analysis.model then answers the
    editor's questions (tapkit.semantic.queries); diagnostics stop after symbol resolution.
    compact_tables: the same verdict, tapset table fillers shortened (compact.py; editor runs always are)."""
    files = tuple(files)
    parse_diags: list[Diagnostic] = list(library.diagnostics)
    for f in files:
        parse_diags += list(f.parsed.diagnostics)
        if f.parsed.ok:
            parse_diags += format_errors(f.parsed.file)
    if any(d.is_error for d in parse_diags) and not editor:
        return Analysis(files, options, parse_diags, None, "parse")
    s = Session(library, options)
    for f in files:
        s.add_user_file(f.path, f.parsed.file, f.text)
    if files:
        s.errors.default_span = Span(files[0].path, 1, 1, 1, 1)
    s.register()
    warnings = [d for d in parse_diags if not d.is_error]
    stage = "symbols"
    if editor:
        from tapkit.semantic.editor import build_model, infer_quietly

        try:
            symbols_pass(s, editor=True, compact_tables=True)
        except SemanticError as e:
            s.errors.error(e)
        infer_quietly(s)
        model = build_model(s)
        return Analysis(files, options, parse_diags + s.errors.diagnostics(), s, stage, list(s.probes),
                        dict(s.functions), list(s.globals), model)
    s.errors.stage = "symbols"
    reached: dict[tuple[str, str], object] | None = None
    first: list[frozenset[tuple[str, str, str]]] = []
    optimizer: Optimizer | None = None
    try:
        if symbols_pass(s, compact_tables=compact_tables) == 0:
            reached = shared_entities(s)
            specialized_functions(s)
            stage = s.errors.stage = "conditions"
            if conditions_pass(s) == 0:
                stage = s.errors.stage = "optimize"
                optimizer = Optimizer(s, lambda: first.append(signatures(s, reached or {}, "typed")))
                if optimizer.run() == 0:
                    stage = s.errors.stage = "types"
                    if final_type_check(s) == 0:
                        stage = s.errors.stage = "checks"
                        check_foreach_mutation(s)
                        if s.errors.count == 0:
                            s.errors.stage = "statistics"
                            check_statistics(s)
                        stage = "done"
    except SemanticError as e:
        s.errors.error(e)
    entities = signatures(s, shared_entities(s) if reached is None else reached, "end").union(*first)
    if s.errors.count == 0 and not s.probes:
        s.errors.stage = "no-probes"
        s.errors.error(SemanticError("sem.no-probes", "no probes found"))
    staged = s.errors.staged()
    diags = warnings + [d for d, _ in staged]
    save_formats()
    return Analysis(files, options, diags, s, stage, list(s.probes), dict(s.functions), list(s.globals),
                    stages=tuple(["parse"] * len(warnings) + [st for _, st in staged]), entities=entities,
                    global_names=optimizer.global_names if optimizer else frozenset(),
                    never_assigned=tuple(optimizer.never_assigned) if optimizer else ())


STAGES = ("parse", "symbols", "conditions", "optimize", "types", "checks", "statistics", "no-probes")


JOIN = "join"  # an entity state that joins every part reaching the entity
ELIDED = "elided"  # the state of an entity the optimizer removed


def shared_entities(s: Session) -> dict[tuple[str, str], object]:
    """What resolution reached that another part of the same script could reach too, changing this part's
    verdict (tapkit.semantic.incremental analyzes a script's independent parts on their own): every tapset
    global, and the tapset functions whose types are inferred from their callers or which stap specializes
    per calling probe -- each with its state (signatures()); and, joining every part that
    reaches them (JOIN), a script's global or function named like a tapset's (it would capture the tapset's
    uses) and procfs probes (one read probe per file); and every local's and script global's name (a script
    global captures a local of that name in tapset code; incremental.py joins only those)."""
    user_functions = {f.name for sf in s.user_files for f in sf.functions}
    user_files = {sf.path for sf in s.user_files}
    found: dict[tuple[str, str], object] = {}
    for g in s.globals:
        if g.file not in user_files:
            found[("global", g.name)] = g
        elif s.library.index.by_global.get(g.name):
            found[("global", g.name)] = JOIN
    for fd in s.functions.values():
        if fd.name in user_functions:
            if s.library.index.by_function.get(fd.name):
                found[("function", fd.name)] = JOIN
        elif not fd.explicit_type or not all(p.explicit_type for p in fd.params) or \
                (fd.body is not None and any(_needs_context(n) for n in ir.walk(fd.body))):
            found[("function", fd.name)] = fd
    if any(dp.context.family == "procfs" for dp in s.probes):
        found[("probe", "procfs")] = JOIN
    # a local of tapset code (a function's, an alias body's) named like a script global (declared, used or
    # not) is that global
    for sf in s.user_files:
        for entry in sf.globals:
            found[("script-global", entry.name)] = JOIN
    for units in ([dp.locals for dp in s.probes], [fd.locals for fd in s.functions.values()]):
        for locals_ in units:
            for v in locals_:
                found[("local", v.name)] = JOIN
    return found


def signatures(s: Session, reached: dict[tuple[str, str], object], when: str) -> frozenset[tuple[str, str, str]]:
    """Each reached entity ("kind/when", name, state) with its state now (elided, or its types), taken after the
    optimizer's first type check and at the end: two parts whose states agree on every entity they share get
    the same verdict apart as together (incremental.py: a function one part elided constrains nothing)."""
    kept = set(map(id, s.globals)) | set(map(id, s.functions.values()))
    out = set()
    for (kind, name), what in reached.items():
        if what == JOIN:
            sig = JOIN
        elif id(what) not in kept:
            sig = ELIDED
        elif isinstance(what, ir.FunctionDef):
            sig = repr((what.type, [(p.type, p.explicit_type) for p in what.params]))
        else:
            assert isinstance(what, ir.VarDef)
            sig = repr((what.type, what.arity, list(what.index_types)))
        out.add((f"{kind}/{when}", name, sig))
    return frozenset(out)


def symbols_pass(s: Session, editor: bool = False, compact_tables: bool = False) -> int:
    """stap's semantic_pass_symbols: derive each chosen file's probes, then resolve functions. compact_tables:
    tapset probes that fill tables keep one statement of each kind (compact.py; not for a compiled program)."""
    resolver = Resolver(s)
    i = 0
    while i < len(s.files):
        sf = s.files[i]
        i += 1
        for decl in _probes_of(s, sf):
            body = compact(decl.body) if compact_tables and not sf.user else decl.body
            spec = ProbeSpec(points_of(decl.points), body, decl, sf.path, privileged=not sf.user)
            derived: list[DerivedProbe] = []
            derive_probes(s, spec, derived)
            if editor and not derived and sf.user:
                from tapkit.semantic.editor import fallback_probe

                derived.append(fallback_probe(s, spec))
            for dp in derived:
                s.probes.append(dp)
                try:
                    expand_targets(s, dp)
                except SemanticError as e:
                    s.errors.error(e)
                resolver.probe(dp)
        for key in sorted(s.functions):
            fd = s.functions[key]
            if not fd.resolved:
                fd.resolved = True
                expand_function_targets(s, fd)
                resolver.function(fd)
        # functions pulled in while resolving functions are resolved too (stap revisits s.functions)
        while any(not fd.resolved for fd in s.functions.values()):
            for key in sorted(s.functions):
                fd = s.functions[key]
                if not fd.resolved:
                    fd.resolved = True
                    expand_function_targets(s, fd)
                    resolver.function(fd)
    return s.errors.count


def specialized_functions(s: Session) -> None:
    """Functions stap 4.8 copies per DWARF probe lose their parameters' declared types.

    A function that needs its caller's probe context (`$var`, @cast or @var without a module, an
    autocast `p->m`) is specialized for each DWARF probe that calls it, and the copy's parameters
    start untyped: `f(lock:long)` called with a string then reports the mismatch inside f, where the
    parameter is used as a long, not at the call. Functions also reached from other probes keep
    their declarations (stap keeps the original for those)."""
    from tapkit.semantic.effects import reachable_functions
    from tapkit.semantic.targets import resolve_target

    caller: dict[ir.FunctionDef, DerivedProbe] = {}
    for dp in s.probes:
        if dp.context.family == "dwarf":
            for fd in reachable_functions([dp.body]):
                caller.setdefault(fd, dp)
    if not caller:
        return
    other = reachable_functions([dp.body for dp in s.probes if dp.context.family != "dwarf"])
    for fd, dp in caller.items():
        if fd in other or fd.body is None:
            continue
        needs = [n for n in ir.walk(fd.body) if _needs_context(n)]
        if not needs:
            continue
        for p in fd.params:
            p.type, p.explicit_type = ir.UNKNOWN, False
        for n in needs:  # the copy resolves a module-less @cast in its probe's module
            if isinstance(n, ir.Target) and n.kind == "cast" and not n.resolved:
                try:
                    resolve_target(s, dp.context, n)
                    n.error = None
                except SemanticError:
                    pass


def _needs_context(n: ir.Node) -> bool:
    if not isinstance(n, ir.Target):
        return False
    return n.kind in ("var", "autocast") or (n.kind in ("cast", "atvar") and not n.module)


def _probes_of(s: Session, sf: SourceFile) -> list[A.ProbeDecl]:
    if sf.user:
        return [item for item in sf.tree.items if isinstance(item, A.ProbeDecl)]
    assert sf.library_index is not None
    entry = s.library.index.files[sf.library_index]
    out = []
    for item in entry.probes:
        decl = sf.tree.items[item]
        assert isinstance(decl, A.ProbeDecl)
        out.append(decl)
    return out


def conditions_pass(s: Session) -> int:
    """Probe conditions must be pure; each is inlined as `if (!(cond)) next` at the top of its body."""
    for dp in s.probes:
        cond = dp.condition
        if cond is None:
            continue
        vu = varuse_of(cond)
        if vu.written:
            s.errors.error(SemanticError("sem.condition", "probe condition must not modify any variables",
                                         s.locator.of(cond)))
        elif vu.embedded_seen:
            s.errors.error(SemanticError("sem.condition", "probe condition must not include impure embedded-C",
                                         s.locator.of(cond)))
        guard = ir.If(cond.src, ir.Unary(cond.src, "!", cond), ir.Next(cond.src), None)
        dp.body = ir.Block(dp.body.src, [guard, dp.body])
    return s.errors.count
