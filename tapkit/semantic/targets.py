"""Target variables through debuginfo: `$var->a->b[3]`, `$$parms`, `@cast(p, "T", "kernel:m")->x`,
`@var("g@file.c", "m")`, `@defined`, `@entry`, and autocasts (`v->x` where v holds a typed value).

Each is resolved where stap resolves it -- a probe's `$` variables when the probe is derived, an
autocast once type inference knows its operand -- and either gets a type (long; string for a
pretty-printed `$var$`) with its C type kept as details (what the editor completes after `->`),
or keeps the error stap would report if the expression survives optimization.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tapkit.diagnostics import Fix, Span
from tapkit.semantic import ir
from tapkit.semantic.errors import SemanticError, Where, detached
from tapkit.semantic.rewrite import map_exprs

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo, Variable
    from tapkit.debuginfo.model import TypeId
    from tapkit.semantic.context import ProbeContext
    from tapkit.semantic.session import DerivedProbe, Session


@dataclass(frozen=True)
class TargetType:
    """A C type from debuginfo attached to a value: what `->` can reach from it.

    address_of: the value is the address of an object of this type (`&$v->member`)."""

    info: Debuginfo | None  # None: a type tapkit cannot see (a header @cast): `->` is not checked
    type: TypeId
    address_of: bool = False

    def spelled(self) -> str:
        if self.info is None:
            return "?"
        s = self.info.spell(self.type)
        return f"{s} *" if self.address_of else s

    def members(self) -> list[str]:
        """Member names reachable with `->` (completion)."""
        return [m.name for m in self.info.members(self.type)] if self.info is not None else []


OPAQUE = TargetType(None, 0)


def walk_quietly(start: TargetType, comps: list[ir.TargetComponent]) -> TargetType | None:
    """The C type reached from start through comps (`->member`, `[i]`), or None where it breaks off."""
    from tapkit.debuginfo import Array, Pointer, Struct

    info = start.info
    if info is None:
        return start
    tid, address_of = start.type, start.address_of
    for i, c in enumerate(comps):
        if c.kind == "pretty":
            return None
        t = info.strip(tid)
        if c.kind == "member":
            if not (address_of and i == 0) and isinstance(t, Pointer):
                t = info.strip(t.target)
            if not isinstance(t, Struct):
                return None
            found = next((m for m in info.members(t.id) if m.name == c.name), None)
            if found is None:
                return None
            tid = found.type
        elif address_of and i == 0:
            pass  # `@cast(p, "T")[i]`: p points at an array of T
        elif isinstance(t, Array):
            tid = t.element
        elif isinstance(t, Pointer):
            tid = t.target
        else:
            return None
        address_of = False
    return TargetType(info, tid, address_of)


def accept_unchecked(e: ir.Target) -> None:
    """Take e as valid without debuginfo (its members cannot be checked)."""
    e.resolved = True
    pretty = any(c.kind == "pretty" for c in e.components)
    e.resolved_type = ir.STRING if pretty else ir.LONG
    e.details = None if pretty else OPAQUE


# ---------------------------------------------------------------- loading debuginfo

def load_debuginfo(s: Session, spec: str) -> Debuginfo:
    """The debuginfo for a module spec ("kernel", 'module("m")', 'process("p")', a path), cached per run."""
    from tapkit.debuginfo import Debuginfo, DebuginfoError, load

    cached = s.debuginfo_cache.get(spec)
    if isinstance(cached, Debuginfo):
        return cached
    if isinstance(cached, DebuginfoError):
        raise detached(cached)

    try:
        info = load(spec, release=s.options.target.release, overrides=dict(s.options.debuginfo) or None)
    except DebuginfoError as exc:
        s.debuginfo_cache[spec] = detached(exc)
        raise
    s.debuginfo_cache[spec] = info
    return info


_PROCESS_PART = re.compile(r'process\("([^"]*)"\)')


def module_argument(s: Session, module: str) -> str:
    """@cast/@var's module argument as stap takes it. Under tapkit run's live engine a part written
    `process("PATH")` or a relative path ("./prog") also names that file (tapkit's extensions: stap 4.8
    takes only an absolute path as a file and looks for a kernel module named by anything else)."""
    if s.options.user_probes != "live" or "/" not in module:
        return module
    parts = []
    for part in module.split(":"):
        m = _PROCESS_PART.fullmatch(part)
        path = m.group(1) if m else part
        parts.append(os.path.abspath(path) if "/" in path and "<" not in path else part)
    return ":".join(parts)


def cast_specs(module: str) -> list[str]:
    """@cast's module argument as debuginfo specs: "kernel:nfs" is the kernel, then module nfs.

    A kernel header part ("kernel<linux/fs.h>") is stap's way to get kernel types with no debuginfo:
    it compiles the header with the target's kbuild. The struct types such headers declare are the
    kernel's own, so they are looked up in the kernel's debuginfo (DWARF, or the running kernel's
    BTF) when there is one; a user-space header ("<sys/time.h>") is not: it needs a compiler."""
    if not module:
        return ["kernel"]
    out: list[str] = []
    for part in module.split(":"):
        spec = part
        if "<" in part:
            if not part.startswith("kernel<"):
                continue
            spec = "kernel"
        if not spec:
            continue
        if spec == "kernel":
            out.append("kernel")
        elif spec.startswith("/"):  # stap: only an absolute path is a file, anything else a module's name
            out.append(f'process("{spec}")')
        else:
            out.append(f'module("{spec}")')
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------- walking components

class Walk:
    """Follows `->`/`[]` components from a C type, with stap's error messages."""

    def __init__(self, s: Session, info: Debuginfo) -> None:
        self.s = s
        self.info = info

    def comp_where(self, c: ir.TargetComponent) -> Where:
        return self.s.locator.component(c)

    def run(self, tid: TypeId, comps: list[ir.TargetComponent], address_of: bool = False,
            whole: Where | None = None) -> tuple[TypeId, int]:
        """The type reached and how many components were used (a pretty-print suffix stops the walk);
        whole is the expression, where stap reports indexing a struct."""
        from tapkit.debuginfo import Array, Pointer, Struct

        info = self.info
        for i, c in enumerate(comps):
            if c.kind == "pretty":
                return tid, i
            t = info.strip(tid)
            if c.kind == "member":
                if address_of and i == 0:
                    pass
                elif isinstance(t, Pointer):
                    tid = t.target
                    t = info.strip(tid)
                if not isinstance(t, Struct):
                    raise SemanticError("sem.target-access", f"invalid access '->{c.name}' vs. {info.spell(t.id)}",
                                        self.comp_where(c))
                found = next((m for m in info.members(t.id) if m.name == c.name), None)
                if found is None:
                    names, close = _alternatives(info, t.id, c.name)
                    raise SemanticError("sem.unknown-member",
                                        f"unable to find member '{c.name}' for {info.spell(t.id)} "
                                        f"(alternatives: {', '.join(names)})", self.comp_where(c),
                                        fixes=_member_fixes(c, close))
                tid = found.type
            else:
                if address_of and i == 0:
                    pass  # `@cast(p, "T")[i]`: p points at an array of T
                elif isinstance(t, Array):
                    tid = t.element
                elif isinstance(t, Pointer):
                    tid = t.target
                elif isinstance(t, Struct):
                    raise SemanticError("sem.target-access", f"invalid access '[{c.index}]' for {info.spell(t.id)}",
                                        whole or self.comp_where(c))
                else:
                    raise SemanticError("sem.target-access", f"invalid access '[{c.index}]' vs. {info.spell(t.id)}",
                                        self.comp_where(c))
            address_of = False
        return tid, len(comps)

    def final(self, tid: TypeId, where: Where, pretty: bool, addressof: bool) -> tuple[str, TargetType | None]:
        """The stap type of the value reached, and its details; errors for whole structs."""
        from tapkit.debuginfo import Array, Base, Enum, Pointer, Struct, Void
        from tapkit.debuginfo.model import FunctionType

        info = self.info
        if pretty:
            return ir.STRING, None
        if addressof:
            return ir.LONG, TargetType(info, tid, address_of=True)
        t = info.strip(tid)
        if isinstance(t, Struct):
            members = [m.name for m in info.members(t.id) if m.name]
            such = f" such as '->{min(members)}'" if members else ""  # stap names the first in byte order
            decl = f" ({t.decl.file}:{t.decl.line})" if t.decl is not None else ""
            raise SemanticError("sem.struct-value",
                                f"'{info.spell(t.id)}'{decl} is being accessed instead of a member{such}", where)
        if isinstance(t, Void):
            raise SemanticError("sem.target-type", "cannot use a void value", where)
        if isinstance(t, Pointer | Array | FunctionType):
            return ir.LONG, TargetType(info, tid)
        if isinstance(t, Base | Enum):
            return ir.LONG, None
        return ir.LONG, TargetType(info, tid)


@functools.lru_cache(maxsize=1024)
def _alternatives(info: Debuginfo, tid: TypeId, name: str) -> tuple[tuple[str, ...], str]:
    """The members of tid, closest to name first (stap lists every one, by its weighted edit distance), and
    the closest few; kept, as library functions' @cast fallbacks for members this kernel lacks meet them in
    every analysis (~6 ms each)."""
    from tapkit.semantic.suggest import distance, levenshtein_suggest

    names = sorted((m.name for m in info.members(tid) if m.name), key=lambda n: (distance(name, n), n))
    return tuple(names), levenshtein_suggest(name, names, 3)


def _member_fixes(c: ir.TargetComponent, close: str) -> tuple[Fix, ...]:
    """Did-you-mean edits for `->name`: close, the closest members by stap's edit distance."""
    sp = c.src.span
    start = sp.end_column - len(c.name)
    if sp.line != sp.end_line or start < sp.column:
        return ()
    target = Span(sp.file, sp.line, start, sp.line, sp.end_column)
    return tuple(Fix(f"Change to '{n}'", target, n) for n in close.split(", ") if n)


def _last_where(s: Session, e: ir.Target, used: int) -> Where:
    comps = [c for c in e.components[:used] if c.kind != "pretty"]
    return s.locator.component(comps[-1]) if comps else s.locator.of(e)


def finish(s: Session, e: ir.Target, info: Debuginfo, tid: TypeId, start_address_of: bool = False) -> None:
    """Walk e's components from tid and record the result on e (raises SemanticError)."""
    e.base = TargetType(info, tid, start_address_of)
    walker = Walk(s, info)
    end, used = walker.run(tid, e.components, start_address_of, s.locator.of(e))
    pretty = used < len(e.components)
    t, details = walker.final(end, _last_where(s, e, used), pretty, e.addressof)
    e.resolved = True
    e.resolved_type = t
    e.details = details


# ---------------------------------------------------------------- per probe

_RESOLVED = frozenset({ir.Target, ir.Defined, ir.Entry})  # what expand_targets rewrites (no subclasses)


def expand_targets(s: Session, dp: DerivedProbe) -> None:
    """Resolve the probe's `$`-expressions, @var, @cast, @defined and @entry against its context."""
    ctx = dp.context
    nodes = ir.walk(dp.body)
    if dp.condition is None and _RESOLVED.isdisjoint(map(type, nodes)):
        return  # nothing to resolve: the rewrite would give every node back (a `probe init` of 1,700 lines)
    written = _written_targets(dp.body, nodes)

    def visit(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Defined):
            return _defined(s, ctx, e)
        if isinstance(e, ir.Entry) and ctx.is_return and ctx.family == "dwarf":
            e.resolved = True  # kept: the runtime evaluates the operand at the entry, not at the return
            return e
        if isinstance(e, ir.Target) and e.kind != "autocast":
            _mark_written(s, e, written)
            try:
                resolve_target(s, ctx, e)
            except SemanticError as err:
                e.error = err.kept()
        return e

    map_exprs(dp.body, visit)
    if dp.condition is not None:
        from tapkit.semantic.rewrite import rewrite_expr

        dp.condition = rewrite_expr(dp.condition, visit)


def expand_function_targets(s: Session, fd: ir.FunctionDef) -> None:
    """Functions have no probe context: only @cast and @var with a module resolve in them."""
    from tapkit.semantic.context import ProbeContext

    if fd.body is None:
        return
    ctx = ProbeContext("function")
    written = _written_targets(fd.body)

    def visit(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Defined):
            return _defined(s, ctx, e)
        if isinstance(e, ir.Target) and e.kind in ("cast", "atvar"):
            _mark_written(s, e, written)
            try:
                resolve_target(s, ctx, e)
            except SemanticError as err:
                e.error = err.kept()
        return e

    map_exprs(fd.body, visit)


def _written_targets(body: ir.Stmt, nodes: list[ir.Node] | None = None) -> dict[int, ir.Expr]:
    """Target expressions that are assigned or incremented, with the operation (Assign or Crement); nodes:
    ir.walk(body) when already at hand."""
    out: dict[int, ir.Expr] = {}
    for n in ir.walk(body) if nodes is None else nodes:
        if isinstance(n, ir.Assign):
            out[id(n.left)] = n
        elif isinstance(n, ir.Crement):
            out[id(n.operand)] = n
    return out


def _mark_written(s: Session, e: ir.Target, written: dict[int, ir.Expr]) -> None:
    op = written.get(id(e))
    e.written = op is not None
    if isinstance(op, ir.Assign | ir.Crement):
        e.written_op = op.op
        e.written_where = s.locator.of(op)


def _defined(s: Session, ctx: ProbeContext, e: ir.Defined) -> ir.Expr:
    op = e.operand
    if isinstance(op, ir.Target) and op.kind != "autocast":
        try:
            resolve_target(s, ctx, op)
            ok = op.resolved
        except SemanticError:
            ok = False
        if ok or ctx.family in ("dwarf", "tracepoint", "procfs", "netfilter", "utrace") or op.kind != "var":
            return ir.Number(e.src, 1 if ok else 0)
    return e


def resolve_target(s: Session, ctx: ProbeContext, e: ir.Target) -> None:
    where = s.locator.of(e)
    if e.kind == "cast":
        resolve_cast(s, ctx, e)
        return
    if e.kind == "atvar":
        resolve_atvar(s, ctx, e)
        return
    name = e.name
    if e.written and not s.options.guru and ctx.family in ("dwarf", "tracepoint"):
        raise SemanticError("sem.guru-write", "write to target variable not permitted; need stap -g", where)
    if e.written_op not in ("", "=") and ctx.family in ("dwarf", "tracepoint"):
        raise SemanticError("sem.target-operator",
                            "Only the following assign operator is implemented on target variables:  =",
                            e.written_where or where)
    if ctx.family == "dwarf" and ctx.function is not None and ctx.debuginfo is not None:
        resolve_dwarf_var(s, ctx, e)
        return
    var = ctx.variables.get(name)
    if ctx.family == "tracepoint":
        from tapkit.semantic.tracepoints import resolve_tracepoint_var

        resolve_tracepoint_var(s, ctx, e)
        return
    if ctx.family == "procfs":
        if var is None:
            raise SemanticError("sem.context-var", "invalid target symbol for procfs probe, $value expected", where)
        if e.written and not var.writable:
            raise SemanticError("sem.context-var", "procfs $value variable is read-only in a procfs write probe",
                                where)
        if not e.written and var.writable:
            raise SemanticError("sem.context-var", "procfs $value variable cannot be read in a procfs read probe",
                                where)
        _no_components(s, e, "procfs target")
    elif ctx.family == "netfilter":
        if var is None:
            raise SemanticError("sem.context-var", "unsupported context variable", where)
        if e.written and name == "$verdict" and not s.options.guru:
            raise SemanticError("sem.guru-write", "write to netfilter verdict requires guru mode; need stap -g",
                                where)
    elif ctx.family == "utrace" and not ctx.variables:
        raise SemanticError("sem.context-var", 'only "process(PATH_OR_PID).syscall" and '
                            '"process(PATH_OR_PID).syscall.return" probes support target symbols', where)
    elif ctx.family == "utrace" and ctx.variables:
        if name == "$return" and var is None:
            raise SemanticError("sem.context-var",
                                'only "process(PATH_OR_PID).syscall.return" support $return.', where)
        if var is None:
            raise SemanticError("sem.context-var", f"invalid target symbol for utrace probe, got {name}", where)
    if var is None:
        return  # left for type inference: "unresolved target-symbol expression"
    e.resolved = True
    e.resolved_type = var.type


def _no_components(s: Session, e: ir.Target, what: str) -> None:
    if not e.components:
        return
    c = e.components[0]
    where = s.locator.component(c)
    if c.kind in ("index", "expr"):
        raise SemanticError("sem.context-var", f"{what} variable '{e.name}' may not be used as array", where)
    if c.kind == "member":
        raise SemanticError("sem.context-var", f"{what} variable '{e.name}' may not be used as a structure", where)


def resolve_dwarf_var(s: Session, ctx: ProbeContext, e: ir.Target) -> None:
    fn, info = ctx.function, ctx.debuginfo
    assert fn is not None and info is not None
    where = s.locator.of(e)
    name = e.name
    if name in ("$$parms", "$$locals", "$$vars", "$$return"):
        e.resolved, e.resolved_type = True, ir.STRING
        return
    bare = name[1:]
    if bare == "return":
        if not ctx.is_return:
            raise SemanticError("sem.unknown-local", _missing_local(fn, bare), where)
        finish(s, e, info, fn.return_type)
        return
    var = next((v for v in fn.params if v.name == bare), None)
    if var is None:
        var = next((v for v in fn.locals if v.name == bare), None)
    if var is None:
        # BTF has the parameters but no locals: say so, the name may exist in the DWARF stap reads
        btf = " (BTF lists parameters only; locals need DWARF)" if info.source == "btf" else ""
        raise SemanticError("sem.unknown-local", _missing_local(fn, bare) + btf, where)
    pc = probe_pc(ctx)
    if pc is not None and var.const_value is None:
        expr = _location_at(var, pc)
        if expr is None:
            raise SemanticError("sem.not-accessible", f"not accessible at this address (pc: {pc:#x}) "
                                                      "[man error::dwarf]", where)
        if e.addressof and not [c for c in e.components if c.kind != "pretty"] and _in_register(expr):
            raise SemanticError("sem.register-address", "cannot take address of object in register", where)
    finish(s, e, info, var.type)


def probe_pc(ctx: ProbeContext) -> int | None:
    """Where the probe fires: the function's entry, past the 5-byte __fentry__ call in kernel code."""
    fn = ctx.function
    if fn is None or ctx.statement:
        return None  # a statement probe fires mid-function, where stap checks locations itself
    entry = fn.entry_address
    if entry is None:
        return None
    kernel = ctx.module == "kernel" or ctx.module.startswith("module(")
    return entry + 5 if kernel else entry


def _location_at(var: object, pc: int) -> bytes | None:
    from tapkit.debuginfo import Variable

    assert isinstance(var, Variable)
    loc = var.location
    if loc is None:
        return None
    if loc.expr is not None:
        return loc.expr or None
    for r in loc.ranges:
        if r.low <= pc < r.high and r.expr:
            return r.expr
    return None


def _in_register(expr: bytes) -> bool:
    """DW_OP_reg0..31 or DW_OP_regx: the value lives in a register, and has no address."""
    return bool(expr) and (0x50 <= expr[0] <= 0x6F or expr[0] == 0x90)


def _missing_local(fn: object, name: str) -> str:
    from tapkit.debuginfo import Function

    assert isinstance(fn, Function)
    names = [f"${v.name}" for v in (*fn.params, *fn.locals) if v.name]
    alternatives = f" (alternatives: {', '.join(names[:5])})" if names else ""
    return f"unable to find local '{name}', [man error::dwarf] in {fn.name}{alternatives}"


def resolve_cast(s: Session, ctx: ProbeContext, e: ir.Target) -> None:
    """stap's order: each ':'-separated module in turn, a header part compiled (headers.py)."""
    from tapkit.semantic.headers import FAILED, UNAVAILABLE, header_debuginfo, is_header

    where = s.locator.of(e)
    if not e.module and ctx.family == "dwarf" and ctx.debuginfo is not None:
        t = ctx.debuginfo.find_type(e.type_name)
        if t is not None:
            finish(s, e, ctx.debuginfo, t.id, start_address_of=True)
            return
    unjudged = False  # a header nothing here can compile: its types are unknown, not missing
    for part in (module_argument(s, e.module) or "kernel").split(":"):
        if not part:
            continue
        if is_header(part):
            found = header_debuginfo(s, part)
            if found == FAILED:
                continue
            if found != UNAVAILABLE:
                infos = [found]
            else:
                unjudged = True
                # no kbuild tree: a kernel header's structs are the kernel's own, in its DWARF or BTF
                infos = _loaded(s, cast_specs(part))
        else:
            infos = _loaded(s, cast_specs(part))
        for info in infos:
            assert not isinstance(info, str)
            t = info.find_type(e.type_name)
            if t is not None:
                finish(s, e, info, t.id, start_address_of=True)
                return
    if unjudged:
        accept_unchecked(e)  # the type may be in the header: taken as valid, members unchecked
        return
    module = e.module
    if not module and ctx.family == "dwarf" and ctx.module:
        module = _module_named(ctx, ctx.debuginfo)  # stap searched the probe's module
    elif not module and ctx.family == "sdt" and (ctx.display_point or "").startswith('process("'):
        module = (ctx.display_point or "")[len('process("'):].split('"', 1)[0]  # the marker's executable
    raise SemanticError("sem.cast-type", f"type definition '{e.type_name}' not found in '{module}'", where)


def _loaded(s: Session, specs: list[str]) -> list[Debuginfo]:
    from tapkit.debuginfo import DebuginfoError

    out = []
    for spec in specs:
        try:
            out.append(load_debuginfo(s, spec))
        except DebuginfoError:
            continue
    return out


def resolve_atvar(s: Session, ctx: ProbeContext, e: ir.Target) -> None:
    where = s.locator.of(e)
    name, _, cu = e.name.partition("@")
    if e.module:
        specs = cast_specs(module_argument(s, e.module))
    elif ctx.family == "dwarf" and ctx.debuginfo is not None:
        here = ctx.debuginfo
        var = _find_global(here, name, cu)
        not_found = f"unable to find global '{name}' in {_module_named(ctx, here)}" + (f", in {cu}" if cu else "")
        if var is None:
            raise SemanticError("sem.unknown-global", not_found, where)
        try:
            finish(s, e, here, var.type)
        except SemanticError as err:
            # stap tries each definition in turn; when the components fail on all, it reports the
            # global as not found, with the component's error after it
            raise SemanticError("sem.unknown-global", not_found, where, err) from None
        return
    else:
        return  # stap leaves it: "unresolved @var() expression"
    from tapkit.debuginfo import DebuginfoError

    for spec in specs:
        try:
            info = load_debuginfo(s, spec)
        except DebuginfoError:
            continue
        var = _find_global(info, name, cu)
        if var is not None:
            finish(s, e, info, var.type)
            return
    module = e.module or "kernel"
    raise SemanticError("sem.unknown-global", f"unable to find global '{name}' in {module}", where)


def _module_named(ctx: ProbeContext, info: Debuginfo | None) -> str:
    """The probe's module as stap's messages name it: a process by its path, a kernel module by name."""
    if ctx.module.startswith('process("'):
        return ctx.module[len('process("'):-2]
    return info.module if info is not None else ctx.module


def _find_global(info: Debuginfo, name: str, cu: str) -> Variable | None:
    import fnmatch

    for v in info.variables(name):
        if not cu:
            return v
        decl = v.decl
        if decl is not None and (fnmatch.fnmatch(decl.file, f"*{cu}") or decl.file.endswith("/" + cu)):
            return v
    found = info.variables(name)
    return found[0] if found else None  # the variable's compile unit is not indexed: any definition will do


def resolve_autocast(s: Session, e: ir.Target) -> None:
    """`v->member` once v's C type is known (type inference calls this when details arrive)."""
    op = e.operand
    assert op is not None
    details = op.details
    if details is None:
        return
    if details.info is None:
        accept_unchecked(e)
        return
    try:
        finish(s, e, details.info, details.type, start_address_of=details.address_of)
    except SemanticError as err:
        e.error = err.kept()
