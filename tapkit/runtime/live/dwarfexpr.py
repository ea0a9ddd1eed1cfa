"""Evaluating DWARF location expressions against a stopped thread: where a variable's value is now.

evaluate(expr, frame) runs the DW_OP_* stack machine and answers with a Place:

  MemoryPlace(addr)        the object is in memory at addr
  RegisterPlace(regno)     the object is (the low bytes of) a register
  ValuePlace(value)        DW_OP_stack_value: the value itself, nowhere to write
  ImplicitPlace(data)      DW_OP_implicit_value: the bytes themselves
  PiecesPlace(pieces)      DW_OP_piece: (size in bytes, place) parts, low bytes first
  Unavailable(reason)      an empty expression (optimized out), or a value the frame cannot supply

A Frame supplies registers, memory, the CFA (from call frame information) and the frame base
(the function's DW_AT_frame_base, itself a location expression), the module's load bias for
DW_OP_addr, and registers as they were at function entry for DW_OP_entry_value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tapkit.debuginfo.dwarf import sleb, uleb
from tapkit.runtime.memory import MemoryFault

MASK = 0xFFFFFFFFFFFFFFFF


class LocationError(Exception):
    """An expression this evaluator cannot run (stap's wording where stap has one)."""


@dataclass(frozen=True, slots=True)
class MemoryPlace:
    address: int


@dataclass(frozen=True, slots=True)
class RegisterPlace:
    regno: int


@dataclass(frozen=True, slots=True)
class ValuePlace:
    value: int


@dataclass(frozen=True, slots=True)
class ImplicitPlace:
    data: bytes


@dataclass(frozen=True, slots=True)
class PiecesPlace:
    pieces: tuple[tuple[int, Place], ...]


@dataclass(frozen=True, slots=True)
class Unavailable:
    reason: str


Place = MemoryPlace | RegisterPlace | ValuePlace | ImplicitPlace | PiecesPlace | Unavailable


class ValueUnavailable(Exception):
    """A register or entry value this frame does not know (raised by Frame methods)."""


class Frame(Protocol):
    bias: int

    def register(self, regno: int) -> int: ...

    def read_word(self, address: int, size: int) -> int: ...

    def cfa(self) -> int: ...

    def frame_base(self) -> int: ...

    def entry_register(self, regno: int) -> int: ...


def _signed(v: int) -> int:
    v &= MASK
    return v - (1 << 64) if v >> 63 else v


_BINARY: dict[int, Callable[[int, int], int]] = {
    0x1A: lambda a, b: a & b, 0x1C: lambda a, b: a - b, 0x1E: lambda a, b: a * b, 0x21: lambda a, b: a | b,
    0x22: lambda a, b: a + b, 0x24: lambda a, b: a << b if b < 64 else 0, 0x25: lambda a, b: a >> b if b < 64 else 0,
    0x26: lambda a, b: _signed(a) >> min(b, 63), 0x27: lambda a, b: a ^ b,
    0x29: lambda a, b: int(_signed(a) == _signed(b)), 0x2A: lambda a, b: int(_signed(a) >= _signed(b)),
    0x2B: lambda a, b: int(_signed(a) > _signed(b)), 0x2C: lambda a, b: int(_signed(a) <= _signed(b)),
    0x2D: lambda a, b: int(_signed(a) < _signed(b)), 0x2E: lambda a, b: int(_signed(a) != _signed(b)),
}


def evaluate(expr: bytes, frame: Frame, *, push_cfa: bool = True, initial: list[int] | None = None) -> Place:
    """Run a location expression. initial seeds the stack (CFI expressions start with the CFA)."""
    if not expr:
        return Unavailable("optimized out")
    pieces: list[tuple[int, Place]] = []
    stack: list[int] = list(initial or [])
    result: Place | None = None  # the location the ops so far describe, when not a plain address
    pos = 0
    n = len(expr)
    while pos < n:
        op = expr[pos]
        pos += 1
        if 0x30 <= op <= 0x4F:  # lit0..lit31
            stack.append(op - 0x30)
        elif 0x50 <= op <= 0x6F:  # reg0..reg31
            result = RegisterPlace(op - 0x50)
        elif 0x70 <= op <= 0x8F:  # breg0..breg31
            off, pos = sleb(expr, pos)
            stack.append((frame.register(op - 0x70) + off) & MASK)
        elif op == 0x91:  # fbreg
            off, pos = sleb(expr, pos)
            stack.append((frame.frame_base() + off) & MASK)
        elif op == 0x9C:  # call_frame_cfa
            if not push_cfa:
                raise LocationError("DW_OP_call_frame_cfa while processing frame base")
            stack.append(frame.cfa())
        elif op == 0x03:  # addr
            stack.append((int.from_bytes(expr[pos:pos + 8], "little") + frame.bias) & MASK)
            pos += 8
        elif op in (0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F):
            width = (1, 1, 2, 2, 4, 4, 8, 8)[op - 0x08]
            stack.append(int.from_bytes(expr[pos:pos + width], "little", signed=bool(op & 1)) & MASK)
            pos += width
        elif op == 0x10:
            v, pos = uleb(expr, pos)
            stack.append(v & MASK)
        elif op == 0x11:
            v, pos = sleb(expr, pos)
            stack.append(v & MASK)
        elif op == 0x12:
            stack.append(stack[-1])
        elif op == 0x13:
            stack.pop()
        elif op == 0x14:
            stack.append(stack[-2])
        elif op == 0x15:
            stack.append(stack[-1 - expr[pos]])
            pos += 1
        elif op == 0x16:
            stack[-1], stack[-2] = stack[-2], stack[-1]
        elif op == 0x17:
            stack[-1], stack[-2], stack[-3] = stack[-2], stack[-3], stack[-1]
        elif op == 0x06 or op == 0x94:  # deref, deref_size
            size = 8
            if op == 0x94:
                size = expr[pos]
                pos += 1
            stack.append(frame.read_word(stack.pop(), size))
        elif op in _BINARY:
            b, a = stack.pop(), stack.pop()
            stack.append(_BINARY[op](a, b) & MASK)
        elif op == 0x1B:  # div (signed)
            b, a = _signed(stack.pop()), _signed(stack.pop())
            if b == 0:
                raise LocationError("division by zero in DWARF expression")
            q = abs(a) // abs(b)
            stack.append((q if (a < 0) == (b < 0) else -q) & MASK)
        elif op == 0x1D:  # mod
            b, a = stack.pop(), stack.pop()
            if b == 0:
                raise LocationError("division by zero in DWARF expression")
            stack.append(a % b)
        elif op == 0x19:
            stack.append(abs(_signed(stack.pop())) & MASK)
        elif op == 0x1F:
            stack.append(-_signed(stack.pop()) & MASK)
        elif op == 0x20:
            stack.append(~stack.pop() & MASK)
        elif op == 0x23:  # plus_uconst
            v, pos = uleb(expr, pos)
            stack.append((stack.pop() + v) & MASK)
        elif op == 0x2F or op == 0x28:  # skip, bra
            off = int.from_bytes(expr[pos:pos + 2], "little", signed=True)
            pos += 2
            if op == 0x2F or stack.pop() != 0:
                pos += off
        elif op == 0x90:  # regx
            reg, pos = uleb(expr, pos)
            result = RegisterPlace(reg)
        elif op == 0x92:  # bregx
            reg, pos = uleb(expr, pos)
            off, pos = sleb(expr, pos)
            stack.append((frame.register(reg) + off) & MASK)
        elif op == 0x96:
            pass
        elif op == 0x9F:  # stack_value
            result = ValuePlace(stack.pop())
        elif op == 0x9E:  # implicit_value
            size, pos = uleb(expr, pos)
            result = ImplicitPlace(expr[pos:pos + size])
            pos += size
        elif op in (0xA3, 0xF3):  # entry_value, GNU_entry_value
            size, pos = uleb(expr, pos)
            stack.append(_entry_value(expr[pos:pos + size], frame, op))
            pos += size
        elif op in (0x93, 0x9D):  # piece, bit_piece
            size, pos = uleb(expr, pos)
            if op == 0x9D:
                bit_offset, pos = uleb(expr, pos)
                if size % 8 or bit_offset:
                    raise LocationError("DW_OP_bit_piece with a bit size or offset is not supported")
                size //= 8
            if result is None:
                result = MemoryPlace(stack.pop()) if stack else Unavailable("optimized out")
            pieces.append((size, result))
            result = None
            stack.clear()
        elif op in (0xA0, 0xF2):
            raise LocationError("pointer optimized out")
        else:
            raise LocationError(f"unhandled DW_OP operation {op:#x} in DWARF expression")
    if pieces:
        if result is not None or stack:
            raise LocationError("DWARF expression leaves a value after its last DW_OP_piece")
        return PiecesPlace(tuple(pieces))
    if result is not None:
        return result
    if not stack:
        raise LocationError("DWARF expression stack underflow")
    return MemoryPlace(stack[-1])


def _entry_value(inner: bytes, frame: Frame, op: int) -> int:
    """DW_OP_entry_value(DW_OP_regN): the register at function entry, when the probe saw the entry."""
    name = "DW_OP_entry_value" if op == 0xA3 else "DW_OP_GNU_entry_value"
    if len(inner) == 1 and 0x50 <= inner[0] <= 0x6F:
        regno = inner[0] - 0x50
    elif len(inner) >= 2 and inner[0] == 0x90:
        regno, _ = uleb(inner, 1)
    else:
        raise LocationError(f"{name} unable to resolve value")
    try:
        return frame.entry_register(regno)
    except ValueUnavailable:
        raise LocationError(f"{name} unable to resolve value") from None


def value_of(place: Place, frame: Frame, size: int) -> int:
    """The unsigned integer of `size` bytes a place holds (little-endian)."""
    if isinstance(place, MemoryPlace):
        return frame.read_word(place.address, size)
    if isinstance(place, RegisterPlace):
        return frame.register(place.regno) & ((1 << (8 * min(size, 8))) - 1)
    if isinstance(place, ValuePlace):
        return place.value & ((1 << (8 * min(size, 8))) - 1)
    if isinstance(place, ImplicitPlace):
        return int.from_bytes(place.data[:size].ljust(size, b"\0"), "little")
    if isinstance(place, PiecesPlace):
        value = shift = 0
        for piece_size, part in place.pieces:
            if shift >= size * 8:
                break
            value |= value_of(part, frame, piece_size) << shift
            shift += piece_size * 8
        return value & ((1 << (8 * size)) - 1)
    raise LocationError(place.reason)


__all__ = ["ImplicitPlace", "LocationError", "MemoryFault", "MemoryPlace", "PiecesPlace", "Place", "RegisterPlace",
           "Unavailable", "ValuePlace", "ValueUnavailable", "evaluate", "value_of"]
