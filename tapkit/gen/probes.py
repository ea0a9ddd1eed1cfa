"""What `tapkit gen probes GLOB…` writes: one probe alias (and its .return) per matching function.

`PREFIX.FUNC = module("M").function("FUNC") { name = "FUNC"; <param> = $param …; argstr = sprintf(…) }` and
`PREFIX.FUNC.return = ….return { name = "FUNC"; retstr = sprintf(…, $return) }`, the shape of stap's own vfs and
syscall tapsets. A parameter that is missing from some copy of the function (another compile unit's static
copy, an inlined copy, another build given with --compare) or whose value is not at hand where the probe fires
is read through `@defined($param) ? $param : 0`, so one alias fits every version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from tapkit.debuginfo import Base, Debuginfo, Enum, Function, Pointer, Variable, Void
from tapkit.debuginfo.location import LocationError, decode
from tapkit.gen.names import ALIAS_VARIABLES, local_name
from tapkit.gen.target import GenTarget
from tapkit.gen.types import GenError

# DWARF operations SystemTap 4.8 cannot evaluate (it reports "unhandled DW_OP" or "no call sites found").
_STAP_CANNOT = frozenset({"implicit_pointer", "GNU_implicit_pointer", "entry_value", "GNU_entry_value",
                          "GNU_parameter_ref", "const_type", "regval_type", "deref_type", "convert", "reinterpret"})


@dataclass(frozen=True, slots=True)
class AliasParam:
    var: str  # the alias's variable
    param: str  # the C parameter ($param)
    format: str  # its printf conversion in argstr
    c_type: str
    guarded: bool  # read through @defined


@dataclass(frozen=True, slots=True)
class ProbeAlias:
    name: str  # "openafs.afs_GetDCache"
    function: str
    point: str  # 'module("openafs").function("afs_GetDCache")'
    params: tuple[AliasParam, ...]
    skipped: tuple[str, ...]  # parameters not copied, with why
    decl: str
    return_type: str
    return_format: str | None  # None: void, or nothing stap can print
    has_return: bool  # an out-of-line copy exists, so .return can be probed

    @property
    def argstr_format(self) -> str:
        return " ".join(f"{p.param}={p.format}" for p in self.params)


@dataclass(frozen=True, slots=True)
class ProbeSet:
    target: GenTarget
    prefix: str
    patterns: tuple[str, ...]
    aliases: tuple[ProbeAlias, ...]


def build_probes(info: Debuginfo, patterns: Sequence[str], target: GenTarget, prefix: str,
                 compare: Sequence[Debuginfo] = (), reserved: frozenset[str] = frozenset(),
                 returns: bool = True) -> ProbeSet:
    """Aliases for every function matching the globs, in name order; compare: other builds of the module;
    reserved: names an alias variable must not take (the tapset library's globals); returns: False leaves
    out the .return aliases (for kernels without uretprobes)."""
    if not patterns:
        raise GenError("name at least one function or glob")
    by_name: dict[str, list[Function]] = {}
    for pattern in patterns:
        # BTF lists functions without addresses or locations: each is a probe-able kernel function
        found = [f for f in info.functions(pattern) if f.has_body or f.inline_sites or info.source == "btf"]
        if not found:
            raise GenError(f"no function in {info.file} matches {pattern!r}")
        for f in found:
            by_name.setdefault(f.name, [])
            if f not in by_name[f.name]:
                by_name[f.name].append(f)
    aliases = []
    for name in sorted(by_name):
        others = [f for other in compare for f in other.functions(name)]
        alias = _alias(info, name, by_name[name], others, target, prefix, ALIAS_VARIABLES | reserved)
        aliases.append(alias if returns else replace(alias, has_return=False))
    return ProbeSet(target, prefix, tuple(patterns), tuple(aliases))


def _alias(info: Debuginfo, name: str, copies: list[Function], others: list[Function], target: GenTarget,
           prefix: str, reserved: frozenset[str]) -> ProbeAlias:
    first = copies[0]
    order: list[str] = []
    for f in copies + others:
        order += [p.name for p in f.params if p.name and not p.artificial and p.name not in order]
    params: list[AliasParam] = []
    skipped: list[str] = []
    for pname in order:
        variable = next((p for f in copies for p in f.params if p.name == pname), None)
        if variable is None:  # only in a --compare build: its type is not in this file
            skipped.append(f"{pname}: only in another build")
            continue
        c_type = info.stap_type_name(variable.type)
        fmt = _format(info, variable.type)
        if fmt is None:
            skipped.append(f"{pname} ({c_type}): passed by value, stap cannot copy it")
            continue
        guarded = not all(info.source == "btf" or _readable(f, pname) for f in copies) or any(
            all(p.name != pname for p in f.params) for f in others)
        params.append(AliasParam(local_name(pname, reserved), pname, fmt, c_type, guarded))
    returns = _format(info, first.return_type) if not isinstance(info.strip(first.return_type), Void) else None
    decl = f"{first.decl.file.rsplit('/', 1)[-1]}:{first.decl.line}" if first.decl else ""
    return ProbeAlias(f"{prefix}.{name}", name, f'{target.probe_point}.function("{name}")', tuple(params),
                      tuple(skipped), decl, info.stap_type_name(first.return_type), returns,
                      info.source == "btf" or any(f.has_body for f in copies))


def _format(info: Debuginfo, tid: int) -> str | None:
    t = info.strip(tid)
    if isinstance(t, Pointer):
        return "%p"
    if isinstance(t, Enum):
        return "%d"
    if isinstance(t, Base) and t.encoding not in ("float", "complex"):
        return "%u" if "unsigned" in t.encoding or t.encoding == "bool" else "%d"
    return None


def _readable(f: Function, pname: str) -> bool:
    """Whether every probe-able copy of f holds pname where a probe on it fires, in a form stap 4.8 reads."""
    copies: list[bool] = []
    if f.has_body:
        p = next((p for p in f.params if p.name == pname), None)
        entry = f.entry_address
        copies.append(p is not None and (entry is None or _stap_reads(p, entry)))
    for site in f.inline_sites:
        v = next((v for v in site.variables if v.name == pname), None)
        copies.append(v is not None and _stap_reads(v, site.entry))
    return all(copies)


def _stap_reads(v: Variable, pc: int) -> bool:
    if v.const_value is not None:
        return True
    if v.location is None or not v.location.covers(pc):
        return False
    expr = v.location.expr
    if expr is None:
        expr = next(r.expr for r in v.location.ranges if r.low <= pc < r.high and r.expr)
    try:
        return not any(op.name in _STAP_CANNOT for op in decode(expr))
    except LocationError:
        return False
