"""The editor's questions about an analysis, as pure functions (positions: 1-based line and column).

    analysis = analyze(files, library, options, editor=True)
    sym = symbol_at(analysis, path, line, column)        # go to definition, hover
    references(analysis, sym)                             # find references, rename
    visible_names(analysis, path, line, column)           # completion: locals, params, globals, functions, macros
    type_at(analysis, path, line, column)                 # hover: long / string / stats, arrays, C types
    target_type_at(analysis, path, line, column)          # completion after `->`: .members()
    probe_context_at(analysis, path, line, column)        # the probe's family, DWARF function, $variables

Each takes the Analysis (built with editor=True) and answers from its EditorModel.
"""

from __future__ import annotations

from dataclasses import dataclass

from tapkit.diagnostics import Span
from tapkit.semantic.analysis import Analysis
from tapkit.semantic.context import ProbeContext
from tapkit.semantic.editor import EditorModel, ExprType, Scope, Symbol
from tapkit.semantic.targets import TargetType, walk_quietly
from tapkit.syntax import ast as A
from tapkit.syntax.walk import path_at


def _model(analysis: Analysis) -> EditorModel:
    if analysis.model is None:
        raise ValueError("this Analysis has no editor model: build it with analyze(..., editor=True)")
    return analysis.model


def _within(span: Span, line: int, column: int) -> bool:
    return span.contains(line, column) or (span.line == span.end_line == line
                                            and span.column <= column <= span.end_column)


def symbol_at(analysis: Analysis, path: str, line: int, column: int) -> Symbol | None:
    """The symbol whose name is at (line, column): a variable, a function call or definition, a macro."""
    model = _model(analysis)
    for sym in model.symbols:
        for sp in sym.references:
            if sp.file == path and _within(sp, line, column):
                return sym
    return None


def references(analysis: Analysis, symbol: Symbol, include_definition: bool = True) -> list[Span]:
    """Every place the symbol is named (in the analysed program: user files and the library code it uses)."""
    refs = list(symbol.references)
    if not include_definition and symbol.definition is not None:
        refs = [r for r in refs if (r.file, r.line, r.column) != (symbol.definition.file, symbol.definition.line,
                                                                    symbol.definition.column)]
    return refs


def scope_at(analysis: Analysis, path: str, line: int, column: int) -> Scope | None:
    """The probe or function whose body contains the position (the innermost one)."""
    best: Scope | None = None
    for sc in _model(analysis).scopes:
        if sc.span.file == path and sc.span.contains(line, column) and (
                best is None or (sc.span.line, sc.span.column) > (best.span.line, best.span.column)):
            best = sc
    return best


def visible_names(analysis: Analysis, path: str, line: int, column: int) -> list[Symbol]:
    """What a name typed at the position can refer to: the scope's locals and parameters, the globals
    and functions of the program, the library's functions (not yet used ones included) and macros."""
    model = _model(analysis)
    out: list[Symbol] = []
    seen: set[tuple[str, str]] = set()
    scope = scope_at(analysis, path, line, column)
    if scope is not None:
        for sym in scope.locals:
            if (sym.kind, sym.name) not in seen:
                seen.add((sym.kind, sym.name))
                out.append(sym)
    for sym in model.symbols:
        if sym.kind in ("global", "function", "macro") and (sym.kind, sym.name) not in seen:
            seen.add((sym.kind, sym.name))
            out.append(sym)
    session = analysis.session
    if session is not None:
        index = session.library.index
        for i, f in enumerate(index.functions):
            if f.private or ("function", f.name) in seen:
                continue
            seen.add(("function", f.name))
            out.append(Symbol("function", f.name, Span(index.files[f.file].path, f.line, f.column, f.line,
                                                        f.column + len(f.name)),
                              type=f.return_type or "unknown", detail=f.signature(), library=True,
                              doc=_doc(analysis, i)))
        for name, decl in session.library.macros.macros.items():
            if ("macro", name) not in seen:
                seen.add(("macro", name))
                tok = decl.name_token
                out.append(Symbol("macro", name, Span(tok.file, tok.line, tok.column, tok.end_line, tok.end_column),
                                  detail=f"@define {name}" + (f"({', '.join(decl.params)})" if decl.params else ""),
                                  library=True))
    return out


def _doc(analysis: Analysis, function: int) -> str:
    session = analysis.session
    if session is None:
        return ""
    try:
        return session.library.function_doc(function)
    except (OSError, ValueError):  # pragma: no cover - a damaged details cache
        return ""


def node_at(analysis: Analysis, path: str, line: int, column: int) -> list[A.Node]:
    """The syntax nodes containing the position, outermost first."""
    tree = _model(analysis).files.get(path)
    return path_at(tree, line, column) if tree is not None else []


def type_at(analysis: Analysis, path: str, line: int, column: int) -> ExprType | None:
    """The type of the innermost expression at the position that has one."""
    model = _model(analysis)
    for node in reversed(node_at(analysis, path, line, column)):
        found = model.types.get(id(node))
        if found is not None:
            return found
    return None


def target_type_at(analysis: Analysis, path: str, line: int, column: int) -> TargetType | None:
    """The C type at the position inside a target expression: on `$p` or `@cast(…)` the base's type,
    on `->member` (the arrow or the name) the type that has the member (what completion after `->`
    lists: .members()); on a typed variable, its type."""
    model = _model(analysis)
    for node in reversed(node_at(analysis, path, line, column)):
        target = model.targets.get(id(node))
        if target is not None and target.base is not None:
            used = []
            here = (line, column)
            for i, comp in enumerate(target.components):
                sp = comp.src.span
                end = (sp.end_line, sp.end_column)  # exclusive
                if here < end:
                    break  # on (or before) this component: the type that has it
                nxt = target.components[i + 1].src.span if i + 1 < len(target.components) else None
                if here == end and (nxt is None or (nxt.line, nxt.column) != here):
                    break  # just after its name, still completing it
                used.append(comp)
            return walk_quietly(target.base, used)
        found = model.types.get(id(node))
        if found is not None and found.target is not None:
            return found.target
        if isinstance(node, A.Var):
            sym = symbol_at(analysis, path, node.span.line, node.span.column)
            if sym is not None and sym.target is not None:
                return sym.target
    return None


@dataclass(frozen=True, slots=True)
class ContextVariable:
    """A `$name` the probe offers, with its stap type and, when known, its C type."""

    name: str
    type: str
    c_type: str = ""


def probe_context_at(analysis: Analysis, path: str, line: int, column: int) -> ProbeContext | None:
    """The context of the probe around the position (family, DWARF function, debuginfo)."""
    scope = scope_at(analysis, path, line, column)
    return scope.context if scope is not None else None


def context_variables(context: ProbeContext) -> list[ContextVariable]:
    """The `$variables` of a probe context: a DWARF function's parameters and locals, a tracepoint's
    arguments, procfs' `$value`, …"""
    out = [ContextVariable(v.name, v.type, v.c_type) for v in context.variables.values()]
    fn, info = context.function, context.debuginfo
    if fn is not None and info is not None:
        for v in (*fn.params, *fn.locals):
            if v.name and f"${v.name}" not in context.variables:
                out.append(ContextVariable(f"${v.name}", "long", info.spell(v.type)))
        if context.is_return:
            out.append(ContextVariable("$return", "long", info.spell(fn.return_type)))
        out += [ContextVariable(n, "string") for n in ("$$parms", "$$locals", "$$vars")]
    return out


__all__ = [
    "ContextVariable", "EditorModel", "ExprType", "Scope", "Symbol", "context_variables", "node_at",
    "probe_context_at", "references", "scope_at", "symbol_at", "target_type_at", "type_at", "visible_names",
]
