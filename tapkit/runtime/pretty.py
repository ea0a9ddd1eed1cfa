"""`$var$`, `$var$$` and `$$parms$`: stap's pretty printing of target values, one or two levels deep.

The shape is compile-time knowledge (`spec(info, type, depth)` turns a debuginfo type into nested
tuples), the values are read at each hit (`render`). The text follows what stap 4.8's translator
generates (dwarf_pretty_print; checked against its -p3 output for every kind below):

  signed integers, _Bool      %d           unsigned integers, enums     %u
  char, signed/unsigned char  '%#c'        floating point               ?
  char * / const char *       user_string_quoted(p): "text", or 0x… when unreadable
  other pointers              %#x (0x0 for NULL; never followed below the top level)
  struct / union              {.m=…, .n=…} while levels remain, else {...}
  array                       [first, ...] while levels remain (its element at the array's own level; a
                              char array: its string), else [...]

At the top level a pointer to a struct or union is followed (`$p$` prints *p); bitfields print as
their value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tapkit.runtime.arith import sign_extend
from tapkit.runtime.memory import MemoryFault
from tapkit.runtime.strings import MAX_CHARS, cstr, string_quoted

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo

Spec = tuple[Any, ...]
_ESCAPES = {7: "a", 8: "b", 12: "f", 10: "n", 13: "r", 9: "t", 11: "v", 39: "'", 92: "\\"}


def spec(info: Debuginfo, tid: int, depth: int, top: bool = False) -> Spec:
    """The printing plan of a value of type tid with `depth` levels of aggregates left to open."""
    from tapkit.debuginfo import Array, Base, Enum, Pointer, Struct

    t = info.strip(tid)
    if isinstance(t, Struct):
        if depth <= 0:
            return ("text", "{...}")
        members = [(m.name, m.offset, spec(info, m.type, depth - 1), m.bit_offset or 0, m.bit_size or 0,
                    info.sizeof(m.type) or 4) for m in info.members(t.id)]  # anonymous members lifted, as stap
        return ("struct", tuple(members))
    if isinstance(t, Array):
        if depth <= 0:
            return ("text", "[...]")
        element = info.strip(t.element)
        if _is_char(element):
            return ("string",)
        return ("array", info.sizeof(t.element) or 0, t.count or 0, spec(info, t.element, depth))  # same level
    if isinstance(t, Pointer):
        target = info.strip(t.target) if t.target is not None else None
        if target is not None and _is_char(target):
            return ("charptr",)
        if top and isinstance(target, Struct):
            return ("deref", spec(info, target.id, depth))
        return ("pointer",)
    if isinstance(t, Base):
        if t.encoding in ("float", "complex"):
            return ("text", "?")
        if _is_char(t):
            return ("char", t.size or 1)
        return ("int", t.size or 8, t.encoding in ("signed", "boolean"))
    if isinstance(t, Enum):
        return ("int", info.sizeof(tid) or 4, any(x.value < 0 for x in t.enumerators))
    return ("text", "?")


def _is_char(t: Any) -> bool:
    from tapkit.debuginfo import Base

    return isinstance(t, Base) and t.size == 1 and t.encoding in ("signed_char", "unsigned_char", "char")


def render(memory: Any, plan: Spec, value: int, in_memory: bool) -> str:
    """The text of one value: `value` is the value itself, or its address when in_memory."""
    return cstr(_render(memory, plan, value, in_memory))


def _read(memory: Any, addr: int, size: int, signed: bool) -> int:
    raw = int.from_bytes(memory.read(addr & 0xFFFFFFFFFFFFFFFF, size, True), "little")
    return sign_extend(raw, size * 8) if signed else raw


def _scalar(memory: Any, plan: Spec, value: int, in_memory: bool) -> int:
    kind = plan[0]
    size = plan[1] if kind in ("int", "char") else 8
    signed = kind == "int" and plan[2]
    if in_memory:
        return _read(memory, value, size, signed)
    return sign_extend(value, size * 8) if signed else value & ((1 << (8 * size)) - 1)


def _render(memory: Any, plan: Spec, value: int, in_memory: bool) -> str:
    kind = plan[0]
    if kind == "text":
        return str(plan[1])
    try:
        if kind == "struct":
            if not in_memory:
                return "{...}"
            parts = []
            for name, offset, sub, bit_offset, bit_size, unit in plan[1]:
                if bit_size:
                    raw = _read(memory, value + offset, unit, False)
                    field = (raw >> bit_offset) & ((1 << bit_size) - 1)
                    if sub[0] == "int" and sub[2]:
                        field = sign_extend(field, bit_size)
                    parts.append(f".{name}={field}")
                else:
                    parts.append(f".{name}={_render(memory, sub, value + offset, True)}")
            return "{" + ", ".join(parts) + "}"
        if kind == "array":
            sub = plan[3]
            return f"[{_render(memory, sub, value, True)}, ...]"  # stap shows the first element only
        if kind == "string":
            return _quoted(memory, value)
        if kind == "deref":
            target = _scalar(memory, ("pointer",), value, in_memory)
            return _render(memory, plan[1], target, True)
        number = _scalar(memory, plan, value, in_memory)
    except MemoryFault:
        return "?"
    if kind == "int":
        return str(number)
    if kind == "char":
        return "'" + _char(number & 0xFF) + "'"
    if kind == "charptr":
        return _quoted(memory, number)
    return f"0x{number & 0xFFFFFFFFFFFFFFFF:x}"  # pointer: %#x


def _char(c: int) -> str:
    if 32 <= c < 127 and c not in (39, 92):
        return chr(c)
    if c in _ESCAPES:
        return "\\" + _ESCAPES[c]
    return "\\" + f"{(c >> 6) & 3}{(c >> 3) & 7}{c & 7}"


def _quoted(memory: Any, addr: int) -> str:
    """user_string_quoted(addr): the quoted string, or the address when it cannot be read."""
    out = bytearray()
    try:
        while len(out) < MAX_CHARS:
            chunk = memory.read((addr + len(out)) & 0xFFFFFFFFFFFFFFFF, 1, True)
            if chunk == b"\0":
                break
            out += chunk
    except MemoryFault:
        return f"0x{addr & 0xFFFFFFFFFFFFFFFF:x}"
    return string_quoted(out.decode("latin-1"))


OVERLAY_BASE = 0xFFFFF00000000000  # where a value read as bytes (a struct in registers) is shown to render


class _Overlay:
    """Memory with a value's bytes at `base` (a struct in registers, rendered or walked like memory);
    other reads and every write go to the memory below (writes to the laid-over bytes fault)."""

    def __init__(self, memory: Any, base: int, data: bytes) -> None:
        self.memory, self.base, self.data = memory, base, data

    def read(self, addr: int, size: int, user: bool = True) -> bytes:
        offset = addr - self.base
        if 0 <= offset <= len(self.data) - size:
            return self.data[offset:offset + size]
        if 0 <= offset < len(self.data):
            raise MemoryFault(addr)
        return bytes(self.memory.read(addr, size, user))

    def write(self, addr: int, data: bytes, *rest: Any) -> None:
        if self.base <= addr < self.base + len(self.data):
            raise MemoryFault(addr)  # the struct is in registers: no memory to write
        self.memory.write(addr, data, *rest)

    @property
    def takes_user_flag(self) -> bool:
        return bool(getattr(self.memory, "takes_user_flag", False))


def render_variable(ctx: Any, plan: Spec, access: Any) -> str:
    """A whole struct or array variable: from its bytes where the source can give them (registers too),
    else from its address."""
    from tapkit.runtime.errors import StapError

    reader = getattr(access, "read_bytes", None)
    try:
        if reader is not None:
            return render(_Overlay(ctx.memory, OVERLAY_BASE, reader(ctx)), plan, OVERLAY_BASE, True)
        return render(ctx.memory, plan, access.address(ctx), True)
    except StapError:
        return "?"
