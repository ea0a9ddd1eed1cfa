"""Target variables of a live probe: `$param`, `$local`, `$return`, read (and in guru mode written) from DWARF.

resolve_variable(info, function, name, pc) is the compile-time half, as stap's pass 2 is: it picks
the location expression that holds at the probe's pc (a location list entry, or the single
expression), and fails with stap's words when there is none:

    not accessible at this address (pc: 0x1190) [man error::dwarf]

The TargetVariable it returns is the run-time half: place(ctx) evaluates the expression against the
stopped thread (dwarfexpr), read(ctx) gives the script value (sign-extended by the C type; pointers
and unsigned types zero-extended; structs and arrays give their address), write(ctx, v) stores
(guru mode: $param = v, $var = v).

Probes sit on a function's own entry address, before its prologue. gcc -O0 describes parameters by
their frame slots (DW_OP_fbreg), which the prologue has not filled yet there; so at the entry pc a
parameter whose location is a single frame-relative expression is read where the x86_64 System V
calling convention passes it (rdi, rsi, rdx, rcx, r8, r9, then the stack). Optimized code's
location lists are exact at entry and used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tapkit.debuginfo import Array, Base, Debuginfo, Enum, Function, Pointer, Struct, TypeId, Variable
from tapkit.runtime.live.dwarfexpr import (
    ImplicitPlace,
    LocationError,
    MemoryPlace,
    PiecesPlace,
    Place,
    RegisterPlace,
    Unavailable,
    ValuePlace,
    ValueUnavailable,
    evaluate,
)
from tapkit.runtime.live.ptrace import DWARF_REGS
from tapkit.runtime.live.symbols import cfa_at, registers_of
from tapkit.runtime.memory import MemoryFault

if TYPE_CHECKING:
    from tapkit.runtime.live.engine import LiveContext

ValueKind = Literal["signed", "unsigned", "pointer", "float", "aggregate"]
ARG_REGS = (5, 4, 1, 2, 8, 9)  # DWARF numbers of rdi, rsi, rdx, rcx, r8, r9


class TargetVariableError(Exception):
    """A target variable the probe cannot read, in stap's words (semantic error text)."""


@dataclass(frozen=True, slots=True)
class ValueType:
    size: int
    kind: ValueKind


def value_type(info: Debuginfo, tid: TypeId) -> ValueType:
    t = info.strip(tid)
    if isinstance(t, Pointer):
        return ValueType(8, "pointer")
    if isinstance(t, Base):
        if t.encoding in ("float", "complex"):
            return ValueType(t.size, "float")
        return ValueType(t.size, "signed" if t.encoding in ("signed", "signed_char") else "unsigned")
    if isinstance(t, Enum):
        negative = any(e.value < 0 for e in t.enumerators)
        return ValueType(t.size or 4, "signed" if negative else "unsigned")
    if isinstance(t, (Struct, Array)):
        return ValueType(info.sizeof(t.id) or 0, "aggregate")
    return ValueType(8, "unsigned")


def script_value(raw: int, vt: ValueType) -> int:
    """The stap long a C value of this type becomes."""
    bits = 8 * min(vt.size, 8)
    raw &= (1 << bits) - 1
    if vt.kind == "signed" or bits == 64:
        return raw - (1 << bits) if raw >> (bits - 1) else raw
    return raw


class LiveFrame:
    """The dwarfexpr Frame of one probe hit, for one function."""

    __slots__ = ("bias", "ctx", "function")

    def __init__(self, ctx: LiveContext, function: Function | None) -> None:
        self.ctx = ctx
        self.function = function
        self.bias = ctx.module.bias if ctx.module is not None else 0

    def register(self, regno: int) -> int:
        if regno >= len(DWARF_REGS):
            raise ValueUnavailable(regno)
        value: int = getattr(self.ctx.regs, DWARF_REGS[regno])
        return value

    def read_word(self, address: int, size: int) -> int:
        return int.from_bytes(self.ctx.memory.read(address, size, True), "little")

    def cfa(self) -> int:
        return cfa_at(self.ctx.space, registers_of(self.ctx.regs), self.ctx.pc)

    def frame_base(self) -> int:
        fb = self.function.frame_base if self.function is not None else None
        if fb is None:
            raise LocationError("DW_AT_frame_base not accessible at this address")
        expr = fb.expr if fb.expr is not None else _select(fb.ranges, self.ctx.pc - self.bias)
        if expr is None:
            raise LocationError("DW_AT_frame_base not accessible at this address")
        place = evaluate(expr, self)
        if isinstance(place, MemoryPlace):
            return place.address
        if isinstance(place, RegisterPlace):
            return self.register(place.regno)
        raise LocationError("DW_AT_frame_base not accessible at this address")

    def entry_register(self, regno: int) -> int:
        regs = self.ctx.entry_regs
        if regs is None:
            raise ValueUnavailable(regno)
        value: int = getattr(regs, DWARF_REGS[regno])
        return value


def _select(ranges: tuple[object, ...], pc: int) -> bytes | None:
    for r in ranges:
        if r.low <= pc < r.high:  # type: ignore[attr-defined]
            return r.expr  # type: ignore[attr-defined, no-any-return]
    return None


@dataclass(frozen=True, slots=True)
class AbiSlot:
    """Where the calling convention puts a parameter at entry: a register, or rsp + offset."""

    register: int | None = None
    stack_offset: int | None = None
    registers: tuple[int, ...] = ()  # a small struct passed in consecutive integer registers
    unreadable: str = ""  # where tapkit cannot read it at the entry (SSE registers)


class TargetVariable:
    """One $variable at one probe site (see the module docstring)."""

    __slots__ = ("abi", "const_value", "expr", "function", "info", "name", "type", "vtype")

    def __init__(self, info: Debuginfo, function: Function | None, name: str, tid: TypeId, expr: bytes | None,
                 abi: AbiSlot | None = None, const_value: int | bytes | None = None) -> None:
        self.info = info
        self.function = function
        self.name = name
        self.type = tid
        self.vtype = value_type(info, tid)
        self.expr = expr
        self.abi = abi
        self.const_value = const_value

    def __repr__(self) -> str:
        return f"<TargetVariable ${self.name} {self.info.spell(self.type)}>"

    def place(self, ctx: LiveContext) -> Place:
        if self.const_value is not None:
            if isinstance(self.const_value, bytes):
                return ImplicitPlace(self.const_value)
            return ValuePlace(self.const_value & 0xFFFFFFFFFFFFFFFF)
        if self.abi is not None:
            if self.abi.unreadable:
                return Unavailable(self.abi.unreadable)
            if self.abi.registers:  # not in memory yet: members and the whole value come from the registers
                return PiecesPlace(tuple((8, RegisterPlace(r)) for r in self.abi.registers))
            if self.abi.register is not None:
                return RegisterPlace(self.abi.register)
            return MemoryPlace(ctx.regs.rsp + (self.abi.stack_offset or 0))
        if self.expr is None:
            return Unavailable("optimized out")
        try:
            return evaluate(self.expr, LiveFrame(ctx, self.function))
        except (MemoryFault, ValueUnavailable) as exc:
            raise LocationError(f"cannot read the location of ${self.name}: {exc}") from None

    def read(self, ctx: LiveContext) -> int:
        """The script value: integers by their C type, pointers as addresses, aggregates' addresses."""
        vt = self.vtype
        place = self.place(ctx)
        if vt.kind == "aggregate":
            if isinstance(place, MemoryPlace):
                return place.address
            raise LocationError(f"${self.name} is not in memory here; read its members instead")
        frame = LiveFrame(ctx, self.function)
        raw = int.from_bytes(read_place(place, frame, vt.size), "little")
        return script_value(raw, vt)

    def read_bytes(self, ctx: LiveContext) -> bytes:
        return read_place(self.place(ctx), LiveFrame(ctx, self.function), self.vtype.size)

    def address(self, ctx: LiveContext) -> int:
        place = self.place(ctx)
        if isinstance(place, MemoryPlace):
            return place.address
        raise LocationError(f"cannot take the address of ${self.name}: it is not in memory here")

    def write(self, ctx: LiveContext, value: int) -> None:
        """Guru mode: store value (truncated to the C type's size)."""
        place = self.place(ctx)
        size = min(self.vtype.size, 8)
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        write_place(place, ctx, data, self.name)


def read_place(place: Place, frame: LiveFrame, size: int) -> bytes:
    if isinstance(place, MemoryPlace):
        return frame.ctx.memory.read(place.address, size, True)
    if isinstance(place, RegisterPlace):
        return (frame.register(place.regno) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")[:size].ljust(size, b"\0")
    if isinstance(place, ValuePlace):
        return (place.value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")[:size].ljust(size, b"\0")
    if isinstance(place, ImplicitPlace):
        return place.data[:size].ljust(size, b"\0")
    if isinstance(place, PiecesPlace):
        out = b"".join(read_place(part, frame, piece_size) for piece_size, part in place.pieces)
        return out[:size].ljust(size, b"\0")
    raise LocationError(place.reason)


def write_place(place: Place, ctx: LiveContext, data: bytes, name: str) -> None:
    if isinstance(place, MemoryPlace):
        ctx.space.memory.write(place.address, data)
    elif isinstance(place, RegisterPlace) and place.regno < len(DWARF_REGS):
        field = DWARF_REGS[place.regno]
        old = getattr(ctx.regs, field)
        mask = (1 << (8 * len(data))) - 1
        # 32-bit register writes zero the upper half on x86_64; narrower ones keep it.
        keep = 0 if len(data) >= 4 else old & ~mask
        setattr(ctx.regs, field, keep | int.from_bytes(data, "little"))
    elif isinstance(place, PiecesPlace):
        pos = 0
        for size, part in place.pieces:
            if pos >= len(data):
                break
            write_place(part, ctx, data[pos:pos + size], name)
            pos += size
    else:
        raise LocationError(f"${name} has no location to write to here (its value is computed)")


# ---- compile time ----


def resolve_variable(info: Debuginfo, function: Function, name: str, pc: int,
                     variables: tuple[Variable, ...] | None = None) -> TargetVariable:
    """The variable `name` of function as a probe at link-time address pc sees it.

    variables: an inline site's own copies (InlineSite.variables) instead of the function's.
    Raises TargetVariableError with stap's message when the variable does not exist or has no
    location at pc.
    """
    pool = variables if variables is not None else function.params + function.locals
    candidates = [v for v in pool if v.name == name and (not v.scope or any(lo <= pc < hi for lo, hi in v.scope))]
    if not candidates:
        candidates = [v for v in pool if v.name == name]
    if not candidates:
        names = " ".join(v.name for v in pool if v.name)
        raise TargetVariableError(f"unable to find local '{name}', [man error::dwarf] dieoffset: in function "
                                  f"'{function.name}' (alternatives: {names})")
    var = max(candidates, key=lambda v: v.block)
    if var.const_value is not None:
        return TargetVariable(info, function, name, var.type, None, const_value=var.const_value)
    loc = var.location
    if loc is None or loc.optimized_out:
        raise TargetVariableError(f"not accessible at this address (pc: {pc:#x}) [man error::dwarf]")
    at_entry = variables is None and pc == function.entry_address
    if loc.expr is not None:
        if at_entry and var.kind == "param" and _frame_relative(loc.expr):
            abi = abi_slots(info, function).get(name)
            if abi is not None:
                return TargetVariable(info, function, name, var.type, None, abi=abi)
        return TargetVariable(info, function, name, var.type, loc.expr)
    for r in loc.ranges:
        if r.low <= pc < r.high and r.expr:
            return TargetVariable(info, function, name, var.type, r.expr)
    spans = ", ".join(f"[{r.low:#x},{r.high:#x}]" for r in loc.ranges)
    raise TargetVariableError(f"not accessible at this address (pc: {pc:#x}) [man error::dwarf]"
                              + (f" (alternative locations: {spans})" if spans else ""))


def _frame_relative(expr: bytes) -> bool:
    """DW_OP_fbreg, or a breg of rbp/rsp: a stack slot the prologue fills."""
    return bool(expr) and (expr[0] == 0x91 or expr[0] in (0x76, 0x77))


def abi_slots(info: Debuginfo, function: Function) -> dict[str, AbiSlot]:
    """Where each parameter is at the function's entry under the x86_64 System V calling convention."""
    ints, sse, stack = 0, 0, 8
    out: dict[str, AbiSlot] = {}
    if _memory_class(info, function.return_type):
        ints = 1  # the hidden pointer to the returned struct takes rdi
    for param in function.params:
        t = info.strip(param.type)
        size = info.sizeof(param.type) or 8
        if isinstance(t, Base) and t.encoding in ("float", "complex") and size <= 8:
            sse += 1
            if sse > 8:
                out[param.name] = AbiSlot(stack_offset=stack)
                stack += 8
            continue
        if isinstance(t, Base) and t.encoding == "complex" and size == 16 and sse + 2 <= 8:  # two xmm
            sse += 2
            out[param.name] = AbiSlot(unreadable="passed in SSE registers, which tapkit does not read, "
                                                 "at the function's entry")
            continue
        if isinstance(t, Base) and t.encoding in ("float", "complex"):  # long double (x87) and the rest: memory
            out[param.name] = AbiSlot(stack_offset=stack)
            stack += (size + 7) // 8 * 8
            continue
        if isinstance(t, (Struct, Array)) or size > 8:
            words = (size + 7) // 8
            if size <= 16 and _has_float(info, param.type):  # eightbytes classed SSE travel in xmm registers
                classes = _eightbyte_classes(info, param.type, size)
                n_int, n_sse = classes.count("INTEGER"), classes.count("SSE")
                if ints + n_int <= 6 and sse + n_sse <= 8:
                    ints, sse = ints + n_int, sse + n_sse
                    out[param.name] = AbiSlot(unreadable="passed in SSE registers, which tapkit does not read, "
                                                         "at the function's entry")
                else:
                    out[param.name] = AbiSlot(stack_offset=stack)
                    stack += words * 8
                continue
            if _memory_class(info, param.type) or ints + words > 6:
                out[param.name] = AbiSlot(stack_offset=stack)
                stack += words * 8
            else:
                out[param.name] = AbiSlot(registers=tuple(ARG_REGS[ints + k] for k in range(words)))
                ints += words
            continue
        if ints < 6:
            out[param.name] = AbiSlot(register=ARG_REGS[ints])
            ints += 1
        else:
            out[param.name] = AbiSlot(stack_offset=stack)
            stack += 8
    return out


def _eightbyte_classes(info: Debuginfo, tid: TypeId, size: int) -> list[str]:
    """The System V classes of a small aggregate's eightbytes: SSE when only floating-point data is in it."""
    floats = [True] * ((size + 7) // 8)

    def visit(t_id: TypeId, offset: int, depth: int) -> None:
        t = info.strip(t_id)
        if isinstance(t, Struct) and depth < 8:
            for m in info.members(t.id):
                visit(m.type, offset + m.offset, depth + 1)
        elif isinstance(t, Array) and depth < 8:
            esize = info.sizeof(t.element) or 1
            for i in range(t.count or 0):
                visit(t.element, offset + i * esize, depth + 1)
        elif not (isinstance(t, Base) and t.encoding in ("float", "complex")) and offset // 8 < len(floats):
            floats[offset // 8] = False

    visit(tid, 0, 0)
    return ["SSE" if f else "INTEGER" for f in floats]


def _memory_class(info: Debuginfo, tid: TypeId) -> bool:
    """Whether a value of this type travels in memory (an aggregate bigger than 16 bytes)."""
    t = info.strip(tid)
    if not isinstance(t, (Struct, Array)):
        return isinstance(t, Base) and t.size > 16
    size = info.sizeof(tid) or 0
    return size > 16  # smaller ones go in registers (integer or SSE by eightbyte; see abi_slots)


def _has_float(info: Debuginfo, tid: TypeId, depth: int = 0) -> bool:
    t = info.strip(tid)
    if isinstance(t, Base):
        return t.encoding in ("float", "complex")
    if isinstance(t, Array) and depth < 8:
        return _has_float(info, t.element, depth + 1)
    if isinstance(t, Struct) and depth < 8:
        return any(_has_float(info, m.type, depth + 1) for m in t.members)
    return False


@dataclass(frozen=True, slots=True)
class ReturnValue:
    """$return of a function: rax, cut and extended to the C return type."""

    vtype: ValueType

    def read(self, ctx: LiveContext) -> int:
        return script_value(ctx.regs.rax, self.vtype)

    def write(self, ctx: LiveContext, value: int) -> None:
        size = min(self.vtype.size, 8)
        mask = (1 << (8 * size)) - 1
        ctx.regs.rax = value & mask if size >= 4 else (ctx.regs.rax & ~mask) | (value & mask)


def resolve_return(info: Debuginfo, function: Function) -> ReturnValue:
    """$return (x86_64: rax for integers and pointers)."""
    if function.return_type == 0:
        raise TargetVariableError(f"unable to find return value for function '{function.name}' "
                                  "(it returns void) [man error::dwarf]")
    vt = value_type(info, function.return_type)
    if vt.kind in ("float", "aggregate"):
        raise TargetVariableError(f"$return of '{function.name}' is a {info.spell(function.return_type)}: only "
                                  "integers and pointers (returned in rax) can be read")
    return ReturnValue(vt)
