"""Target expressions (`$var->a->b`, `@cast(p, "T")->x`, `@var("g")`, `v->x`) compiled to memory reads.

The layout is compile-time knowledge (debuginfo: member offsets, sizes, signedness, bitfields), so
each access becomes a fixed chain of `_deref(ctx.memory, addr + OFFSET, SIZE, SIGNED, USER, W)`
calls. What only the event source knows -- where a probe's `$var` lives at a hit, the address of a
module global -- is asked through the binder the engine hands the program (TargetBinder below):

    _targets.variable(site_index, "adc")  -> an object with read(ctx) -> int, address(ctx) -> int,
                                              write(ctx, value)        ($adc, $return, guru writes)
    _targets.global_address(module, name) -> int                      (@var("name", "module"))
    _targets.global_resolver(module, name) -> (ctx -> int), optional: an address known only at a hit
                                              (a PIE executable's globals move at each exec)
    _targets.entry_value(site, evaluate)  -> an object with read(ctx), optional: @entry(expr) of a return
                                              probe, evaluate(ctx) run when the call begins

The live engine (tapkit.runtime.live) and the replay engine (tapkit.runtime.replay) implement it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tapkit.runtime.compiler.unit import CompileError, CompileUnit
from tapkit.runtime.pretty import spec as pretty_spec
from tapkit.semantic import ir

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo
    from tapkit.runtime.compiler.expressions import ExprCompiler
    from tapkit.runtime.context import Context
    from tapkit.semantic.session import DerivedProbe


class VariableAccess(Protocol):
    def read(self, ctx: Context) -> int: ...

    def address(self, ctx: Context) -> int: ...

    def write(self, ctx: Context, value: int) -> None: ...


class TargetBinder(Protocol):
    def variable(self, site: int, name: str) -> VariableAccess: ...

    def global_address(self, module: str, name: str) -> int: ...


class NoTargets:
    """The binder of sources with no target variables (begin/end/timer)."""

    def variable(self, site: int, name: str) -> VariableAccess:
        raise CompileError(f"no target variable ${name} in this probe")

    def global_address(self, module: str, name: str) -> int:
        raise CompileError(f"no module global {name} without debuginfo memory")


@dataclass(frozen=True, slots=True)
class Place:
    """Where the walk stands: an object in memory (address) or a value held by the script (value)."""

    code: str
    in_memory: bool
    tid: int


class TargetCompiler:
    """Compiles target expressions for one program; `site` is the probe being compiled (None in functions)."""

    def __init__(self, unit: CompileUnit) -> None:
        self.unit = unit
        self.site: int | None = None
        self.probe: DerivedProbe | None = None
        self.variables: dict[tuple[int, str], str] = {}

    # ---- starting points ----

    def _user_space(self, module: str) -> bool:
        return "/" in module or module.startswith("process")

    def _start(self, c: ExprCompiler, e: ir.Target) -> tuple[Place, Debuginfo, bool]:
        where = e.span
        if e.error is not None:
            raise CompileError(str(getattr(e.error, "message", e.error)), where)
        if e.kind == "var":
            return self._start_var(e)
        if e.kind == "cast":
            info, tid, user = self._cast_type(e)
            assert e.operand is not None
            return Place(c.expr(e.operand), True, tid), info, user
        if e.kind == "autocast":
            assert e.operand is not None
            details = e.operand.details
            if details is None or details.info is None:
                raise CompileError("autocast operand has no known C type", where)
            return Place(c.expr(e.operand), details.address_of, details.type), details.info, False
        if e.kind == "atvar":
            return self._start_atvar(e)
        raise CompileError(f"target expression kind {e.kind} not supported", where)

    def _start_var(self, e: ir.Target) -> tuple[Place, Debuginfo, bool]:
        probe, site = self.probe, self.site
        if probe is None or site is None:
            raise CompileError(f"target variable {e.name} outside a probe", e.span)
        ctx = probe.context
        info, fn = ctx.debuginfo, ctx.function
        if info is None or fn is None:
            raise CompileError(f"target variable {e.name} needs a DWARF probe", e.span)
        bare = e.name[1:]
        if bare == "return":
            tid = fn.return_type
        else:
            var = next((v for v in (*fn.params, *fn.locals) if v.name == bare), None)
            if var is None:
                raise CompileError(f"unable to find local '{bare}' in {fn.name}", e.span)
            tid = var.type
        access = self.variable_access(site, bare)
        t = info.strip(tid)
        from tapkit.debuginfo import Array, Struct

        if isinstance(t, Struct | Array) and (e.components or e.addressof):
            return Place(f"{access}.address(ctx)", True, tid), info, self._user_space(ctx.module)
        return Place(f"{access}.read(ctx)", False, tid), info, self._user_space(ctx.module)

    def _start_atvar(self, e: ir.Target) -> tuple[Place, Debuginfo, bool]:
        from tapkit.debuginfo import DebuginfoError
        from tapkit.semantic.targets import _find_global, cast_specs, load_debuginfo, module_argument

        name, _, cu = e.name.partition("@")
        session = self.unit.analysis.session
        assert session is not None
        specs = cast_specs(module_argument(session, e.module)) if e.module else []
        if not specs and self.probe is not None and self.probe.context.debuginfo is not None:
            infos = [(self.probe.context.debuginfo, self.probe.context.module)]
        else:
            infos = []
            for spec in specs:
                try:
                    infos.append((load_debuginfo(session, spec), spec))
                except DebuginfoError:
                    continue
        for info, module in infos:
            var = _find_global(info, name, cu)
            if var is not None:
                addr = self.unit.consts.names.fresh("GV")
                self.unit.bindings.append(f"{addr} = _global_resolver(_targets, {module!r}, {name!r})")
                return Place(f"{addr}(ctx)", True, var.type), info, self._user_space(module)
        raise CompileError(f"unable to find global '{name}'", e.span)

    def _cast_type(self, e: ir.Target) -> tuple[Debuginfo, int, bool]:
        """The type pass 2 resolved the @cast to (a module, a compiled header, the probe's own file),
        and whether the pointer is into user space (a process's file or a user-space header)."""
        from tapkit.semantic.targets import module_argument

        session = self.unit.analysis.session
        assert session is not None
        base = e.base
        if base is None or base.info is None:
            raise CompileError(f"type '{e.type_name}' not found in '{e.module}' (no debuginfo to lay it out)",
                               e.span)
        module = module_argument(session, e.module)
        if not module:
            ctx = self.probe.context if self.probe is not None else None
            user = ctx is not None and (ctx.module.startswith("process") or (ctx.display_point or "")
                                        .startswith("process"))
        else:
            user = self._user_part(session, module, base.info)
        return base.info, base.type, user

    def _user_part(self, session: Any, module: str, info: Debuginfo) -> bool:
        """Whether the module part the type was found in is user space: a file path or `<header.h>`."""
        from tapkit.debuginfo import DebuginfoError
        from tapkit.semantic.headers import header_debuginfo, is_header
        from tapkit.semantic.targets import cast_specs, load_debuginfo

        for part in module.split(":"):
            if is_header(part):
                if header_debuginfo(session, part) is info:
                    return not part.startswith("kernel<")
                continue
            for spec in cast_specs(part):
                try:
                    if load_debuginfo(session, spec) is info:
                        return spec.startswith("process")
                except DebuginfoError:
                    continue
        return self._user_space(module)

    def variable_access(self, site: int, name: str) -> str:
        key = (site, name)
        found = self.variables.get(key)
        if found is None:
            found = self.variables[key] = self.unit.consts.names.fresh(f"TV_{name}")
            self.unit.bindings.append(f"{found} = _targets.variable({site}, {name!r})")
        return found

    # ---- walking components ----

    def _walk(self, c: ExprCompiler, e: ir.Target) -> tuple[Place, Debuginfo, bool, Any]:
        """The place the components reach, and the last member (for bitfields)."""
        from tapkit.debuginfo import Array, Pointer, Struct, UnknownName

        place, info, user = self._start(c, e)
        near = self.unit.near(e)
        last_member: Any = None
        for comp in e.components:
            if comp.kind == "pretty":
                raise CompileError("pretty-printing ($var$, $$vars) is not supported by the builtin engine", e.span)
            t = info.strip(place.tid)
            if place.in_memory and isinstance(t, Pointer):
                place = Place(f"_deref(ctx.memory, {place.code}, 8, False, {user}, {near})", False, place.tid)
            if not place.in_memory:
                if not isinstance(t, Pointer):
                    raise CompileError(f"cannot dereference a value of type {info.spell(place.tid)}", e.span)
                target = t.target
                place = Place(place.code, True, target)
                t = info.strip(target)
            if comp.kind == "member":
                if not isinstance(t, Struct):
                    raise CompileError(f"invalid access '->{comp.name}' vs. {info.spell(place.tid)}", e.span)
                try:
                    member = info.member(t.id, comp.name)
                except UnknownName:
                    raise CompileError(f"unable to find member '{comp.name}' for {info.spell(t.id)}", e.span) from None
                last_member = member
                place = Place(_offset(place.code, member.offset), True, member.type)
            else:
                index = str(comp.index) if comp.kind == "index" else c.expr(comp.expr) if comp.expr else "0"
                if isinstance(t, Array):
                    element = t.element
                elif isinstance(t, Pointer):
                    element = t.target
                else:
                    element = place.tid
                size = info.sizeof(element) or 0
                place = Place(f"({place.code} + ({index}) * {size})", True, element)
                last_member = None
        return place, info, user, last_member

    def pretty(self, c: ExprCompiler, e: ir.Target) -> str:
        """`$$parms`, `$$locals`, `$$vars`, `$$return`: "name=0x…" for each, as stap's translator expands them
        (aggregates as {...} and [...], a variable the probe cannot see as ?)."""
        from tapkit.debuginfo import Array, Base, Struct

        which = e.name[2:]
        probe, site = self.probe, self.site
        depth = 0
        if len(e.components) == 1 and e.components[0].kind == "pretty":
            depth = len(e.components[0].name or "$")
        elif e.components:
            raise CompileError(f"{e.name} takes no members", e.span)
        if e.addressof or which not in ("parms", "locals", "vars", "return"):
            raise CompileError(f"{e.name} is not a context variable the builtin engine knows", e.span)
        if probe is None or site is None or probe.context.function is None or probe.context.debuginfo is None:
            raise CompileError(f"{e.name} needs a DWARF probe", e.span)
        fn, info = probe.context.function, probe.context.debuginfo
        names: list[tuple[str, int]] = []
        if which in ("parms", "vars"):
            names += [(v.name, v.type) for v in fn.params if v.name]
        if which in ("locals", "vars"):
            names += [(v.name, v.type) for v in fn.locals if v.name and v.block == 0 and not v.artificial]
        if which == "return" and probe.context.is_return and fn.return_type is not None:
            names.append(("return", fn.return_type))
        parts = []
        for name, tid in names:
            t = info.strip(tid)
            kind = "struct" if isinstance(t, Struct) else "array" if isinstance(t, Array) else \
                "float" if isinstance(t, Base) and t.encoding in ("float", "complex") else "int"
            key = (site, "?" + name)
            access = self.variables.get(key)
            if access is None:
                access = self.variables[key] = self.unit.consts.names.fresh(f"TVP_{name}")
                self.unit.bindings.append(f"{access} = _bind_optional(_targets, {site}, {name!r})")
            if depth:  # $$parms$: each one as $name$ prints it
                plan = self.unit.consts.value("PRETTY", repr(pretty_spec(info, tid, depth, top=True)))
                in_memory = isinstance(t, Struct | Array)
                parts.append(f"({name!r}, {access}, ({plan}, {in_memory}))")
            else:
                parts.append(f"({name!r}, {access}, {kind!r})")
        return f"_pretty_vars(ctx, ({''.join(p + ', ' for p in parts)}))"

    def pretty_value(self, c: ExprCompiler, e: ir.Target) -> str:
        """`$var$`, `$var->member$$`, `@cast(...)$`: the value the components reach, pretty printed."""
        from tapkit.debuginfo import Array, Struct

        depth = len(e.components[-1].name or "$")
        probe, site = self.probe, self.site
        if e.kind == "var" and len(e.components) == 1 and probe is not None and site is not None \
                and probe.context.function is not None and probe.context.debuginfo is not None:
            info, fn = probe.context.debuginfo, probe.context.function
            var = next((v for v in (*fn.params, *fn.locals) if v.name == e.name[1:]), None)
            if var is not None and isinstance(info.strip(var.type), Struct | Array):  # whole: from its bytes
                plan = self.unit.consts.value("PRETTY", repr(pretty_spec(info, var.type, depth, top=True)))
                return f"_pretty_variable(ctx, {plan}, {self.variable_access(site, var.name)})"
        components, addressof = e.components, e.addressof
        e.components = components[:-1]
        e.addressof = not e.components  # a struct or array variable by itself: from its address
        try:
            place, info, _user, _member = self._walk(c, e)
        finally:
            e.components, e.addressof = components, addressof
        plan = self.unit.consts.value("PRETTY", repr(pretty_spec(info, place.tid, depth, top=True)))
        return f"_pretty(ctx.memory, {plan}, {place.code}, {place.in_memory})"

    def read(self, c: ExprCompiler, e: ir.Target) -> str:
        from tapkit.debuginfo import Array, Base, Enum, Pointer, Struct

        if e.kind == "var" and e.name.startswith("$$"):
            return self.pretty(c, e)
        if e.components and e.components[-1].kind == "pretty":
            return self.pretty_value(c, e)
        if e.kind == "var" and self.probe is not None and self.probe.context.family == "sdt":
            if e.components or e.addressof or self.site is None or not e.name[1:4] == "arg":
                raise CompileError(f"{e.name}: SDT marker probes read $arg1...$argN as plain values here", e.span)
            return f"{self.variable_access(self.site, e.name[1:])}.read(ctx)"
        place, info, user, member = self._walk(c, e)
        if e.addressof:
            if not place.in_memory:
                raise CompileError("cannot take the address of a value", e.span)
            return place.code
        if not place.in_memory:
            return place.code
        near = self.unit.near(e)
        t = info.strip(place.tid)
        if isinstance(t, Array | Struct):
            return place.code  # arrays decay to their address
        if member is not None and member.bit_size:
            size = info.sizeof(member.type) or 4
            signed = isinstance(t, Base) and t.encoding in ("signed", "signed_char")
            raw = f"_deref(ctx.memory, {place.code}, {size}, False, {user}, {near})"
            return f"_bitfield({raw}, {member.bit_offset or 0}, {member.bit_size}, {signed})"
        if isinstance(t, Pointer):
            return f"_deref(ctx.memory, {place.code}, 8, False, {user}, {near})"
        size = info.sizeof(place.tid) or 8
        signed = True
        if isinstance(t, Base):
            signed = t.encoding in ("signed", "signed_char") or (t.encoding == "char" and t.size == 1)
            if t.encoding in ("float", "complex"):
                raise CompileError("floating-point target values are not supported", e.span)
        elif isinstance(t, Enum):
            signed = any(x.value < 0 for x in t.enumerators)
        return f"_deref(ctx.memory, {place.code}, {size}, {signed}, {user}, {near})"

    def write(self, c: ExprCompiler, e: ir.Target, op: str, right: ir.Expr) -> str:
        if op != "=":
            raise CompileError("Only the following assign operator is implemented on target variables:  =", e.span)
        value = c.expr(right)
        if e.kind == "var" and not e.components and self.site is not None:
            access = self.variable_access(self.site, e.name[1:])
            return f"_write_var({access}, ctx, {value})"
        place, info, user, _member = self._walk(c, e)
        if not place.in_memory:
            raise CompileError("cannot write to this target value", e.span)
        size = info.sizeof(place.tid) or 8
        return f"_poke(ctx.memory, {place.code}, {size}, {value}, {user}, {self.unit.near(e)})"

    def crement(self, c: ExprCompiler, e: ir.Target, node: ir.Crement, want_value: bool) -> str:
        raise CompileError("Only the following assign operator is implemented on target variables:  =", e.span)

    def entry(self, c: ExprCompiler, e: ir.Entry) -> str:
        code = c.expr(e.operand)
        if self.site is None or self.probe is None or not self.probe.context.is_return:
            return code
        name = self.unit.consts.names.fresh("ENTRY")
        self.unit.bindings.append(f"{name} = _entry_value(_targets, {self.site}, lambda ctx: {code})")
        return f"{name}.read(ctx)"

    def deref(self, c: ExprCompiler, e: ir.Deref) -> str:
        return f"_deref(ctx.memory, {c.expr(e.address)}, {e.size}, True, {e.user}, {self.unit.near(e)})"

    def register(self, c: ExprCompiler, e: ir.Register) -> str:
        return f"_register(ctx, {e.regno}, {self.unit.near(e)})"


def _offset(code: str, offset: int) -> str:
    return code if offset == 0 else f"({code} + {offset})"
