"""`tapkit funcs 'GLOB' [--module M]`: functions and their context variables, the way `stap -L` lists them.

Each line is a probe point with the function's declaration site, then `$name:type` for the
parameters and the locals of its outermost scope (what a .function probe can read at entry).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, Any

from tapkit.commands.index import add_source_arguments, error, load

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo, DebuginfoSource, Function, Variable

HELP = "list functions matching a glob with their $parameters and locals (like stap -L)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", metavar="GLOB", help="function name wildcard, e.g. 'afs_*'")
    parser.add_argument("--module", "-m", default="kernel",
                        help='a file, "kernel" (default), "kernel:NAME", module("NAME") or process("PATH")')
    parser.add_argument("--all-locals", action="store_true",
                        help="also list locals of nested blocks (stap only sees them inside those blocks)")
    add_source_arguments(parser)


def probe_prefix(source: DebuginfoSource, info: Debuginfo) -> str:
    """How stap names the probe point's module part."""
    kind = source.spec.kind
    if kind == "kernel" or (source.module == "kernel" and info.source == "btf"):
        return "kernel"
    if kind == "module" or info.meta.get("elf_type") == 1:
        return f'module("{source.module}")'
    return f'process("{os.path.realpath(source.binary or source.path)}")'  # stap prints the resolved path


def context_variables(fn: Function, all_locals: bool = False) -> list[Variable]:
    """What stap -L lists: parameters, then the outermost scope's locals, that can be read at the entry;
    for a function that exists only inlined, those of its first inlined copy, with that copy's locations."""
    seen: set[str] = set()
    out = []
    entry = fn.entry_address
    candidates: tuple[Variable, ...] = (*fn.params, *fn.locals)
    if entry is None and fn.inline_sites:
        entry = fn.inline_sites[0].entry
        candidates = fn.inline_sites[0].variables
    for var in (v for v in candidates if v.kind == "param" or all_locals or v.block == 0):
        if entry is not None and not all_locals and not var.available_at(entry):
            continue
        if var.name and var.name not in seen:
            seen.add(var.name)
            out.append(var)
    return out


def stap_line(info: Debuginfo, prefix: str, fn: Function, all_locals: bool = False) -> str:
    where = f"@{fn.decl.file}:{fn.decl.line}" if fn.decl else ""
    head = f'{prefix}.function("{fn.name}{where}")'
    variables = " ".join(f"${v.name}:{info.stap_type_name(v.type)}" for v in context_variables(fn, all_locals))
    return f"{head} {variables}".rstrip()


def function_json(info: Debuginfo, fn: Function) -> dict[str, Any]:
    from tapkit.debuginfo.location import describe

    def loc(v: Variable) -> Any:
        if v.location is None:
            return None
        if v.location.expr is not None:
            return describe(v.location.expr)
        return [{"low": r.low, "high": r.high, "expr": describe(r.expr)} for r in v.location.ranges]

    def var(v: Variable) -> dict[str, Any]:
        return {"name": v.name, "type": info.spell(v.type), "stap_type": info.stap_type_name(v.type),
                "location": loc(v), "decl": str(v.decl) if v.decl else None, "scope": [list(r) for r in v.scope]}

    return {
        "name": fn.name, "decl": str(fn.decl) if fn.decl else None, "return_type": info.spell(fn.return_type),
        "external": fn.external, "inline": fn.inline, "entry": fn.entry_address, "low_pc": fn.low_pc,
        "high_pc": fn.high_pc, "ranges": [list(r) for r in fn.ranges], "inline_sites": [
            {"entry": s.entry, "call": str(s.call) if s.call else None, "variables": [var(v) for v in s.variables]}
            for s in fn.inline_sites],
        "frame_base": describe(fn.frame_base.expr) if fn.frame_base and fn.frame_base.expr else None,
        "params": [var(v) for v in fn.params], "locals": [var(v) for v in fn.locals],
    }


def run(args: argparse.Namespace) -> int:
    from tapkit.debuginfo import DebuginfoError, UnknownName
    from tapkit.debuginfo.index import close_matches

    try:
        info, source = load(args.module, args)
    except DebuginfoError as exc:
        return error(str(exc))
    found = info.functions(args.pattern)
    if not found:
        plain = args.pattern.replace("*", "").replace("?", "")
        names = info.function_names()
        err = UnknownName(info.file, "function matching", args.pattern, close_matches(plain, names))
        return error(str(err))
    if args.json:
        print(json.dumps([function_json(info, fn) for fn in found], indent=2))
        return 0
    prefix = probe_prefix(source, info)
    lines = sorted({stap_line(info, prefix, fn, args.all_locals) for fn in found})
    print("\n".join(lines))
    return 0
