"""DWARF location expressions: decoding the DW_OP_* programs kept raw in the index into readable operations.

The runtime evaluates them against registers and memory; `tapkit funcs --json` and the editor show
them. Operand encodings are declared once in _OPS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tapkit.debuginfo.dwarf import sleb, uleb

# opcode -> (name, operand encodings): u=uleb, s=sleb, 1/2/4/8 unsigned, -1/-2/-4/-8 signed, a=address,
# b=uleb-counted block (DW_OP_entry_value, implicit_value), t=type-offset+block (const_type)
_OPS: dict[int, tuple[str, str]] = {
    0x03: ("addr", "a"), 0x06: ("deref", ""), 0x08: ("const1u", "1"), 0x09: ("const1s", "-1"),
    0x0A: ("const2u", "2"), 0x0B: ("const2s", "-2"), 0x0C: ("const4u", "4"), 0x0D: ("const4s", "-4"),
    0x0E: ("const8u", "8"), 0x0F: ("const8s", "-8"), 0x10: ("constu", "u"), 0x11: ("consts", "s"),
    0x12: ("dup", ""), 0x13: ("drop", ""), 0x14: ("over", ""), 0x15: ("pick", "1"), 0x16: ("swap", ""),
    0x17: ("rot", ""), 0x18: ("xderef", ""), 0x19: ("abs", ""), 0x1A: ("and", ""), 0x1B: ("div", ""),
    0x1C: ("minus", ""), 0x1D: ("mod", ""), 0x1E: ("mul", ""), 0x1F: ("neg", ""), 0x20: ("not", ""),
    0x21: ("or", ""), 0x22: ("plus", ""), 0x23: ("plus_uconst", "u"), 0x24: ("shl", ""), 0x25: ("shr", ""),
    0x26: ("shra", ""), 0x27: ("xor", ""), 0x28: ("bra", "-2"), 0x29: ("eq", ""), 0x2A: ("ge", ""),
    0x2B: ("gt", ""), 0x2C: ("le", ""), 0x2D: ("lt", ""), 0x2E: ("ne", ""), 0x2F: ("skip", "-2"),
    0x90: ("regx", "u"), 0x91: ("fbreg", "s"), 0x92: ("bregx", "us"), 0x93: ("piece", "u"),
    0x94: ("deref_size", "1"), 0x95: ("xderef_size", "1"), 0x96: ("nop", ""), 0x97: ("push_object_address", ""),
    0x98: ("call2", "2"), 0x99: ("call4", "4"), 0x9A: ("call_ref", "4"), 0x9B: ("form_tls_address", ""),
    0x9C: ("call_frame_cfa", ""), 0x9D: ("bit_piece", "uu"), 0x9E: ("implicit_value", "b"),
    0x9F: ("stack_value", ""), 0xA0: ("implicit_pointer", "4s"), 0xA1: ("addrx", "u"), 0xA2: ("constx", "u"),
    0xA3: ("entry_value", "b"), 0xA4: ("const_type", "ut"), 0xA5: ("regval_type", "uu"),
    0xA6: ("deref_type", "1u"), 0xA8: ("convert", "u"), 0xA9: ("reinterpret", "u"),
    0xE0: ("GNU_push_tls_address", ""), 0xF3: ("GNU_entry_value", "b"), 0xF2: ("GNU_implicit_pointer", "4s"),
    0xFA: ("GNU_parameter_ref", "4"),
}
for _n in range(32):
    _OPS[0x30 + _n] = (f"lit{_n}", "")
    _OPS[0x50 + _n] = (f"reg{_n}", "")
    _OPS[0x70 + _n] = (f"breg{_n}", "s")

# DWARF register numbers for x86_64 (what the kernel and user space here use).
X86_64_REGISTERS = ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
                    "r13", "r14", "r15", "rip")


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: name without the DW_OP_ prefix; operands are ints, or bytes for nested blocks."""

    name: str
    operands: tuple[int | bytes, ...] = ()

    def __str__(self) -> str:
        shown = []
        for value in self.operands:
            shown.append(f"({describe(value)})" if isinstance(value, bytes) else str(value))
        text = f"DW_OP_{self.name}"
        if self.name.startswith(("reg", "breg")) and self.name[-1].isdigit():
            number = int(self.name.lstrip("bregx"))
            if number < len(X86_64_REGISTERS):
                text += f" ({X86_64_REGISTERS[number]})"
        return f"{text} {' '.join(shown)}".strip()


class LocationError(Exception):
    pass


def decode(expr: bytes, address_size: int = 8) -> list[Op]:
    ops: list[Op] = []
    pos = 0
    try:
        while pos < len(expr):
            code = expr[pos]
            pos += 1
            entry = _OPS.get(code)
            if entry is None:
                raise LocationError(f"unknown DW_OP {code:#x} at byte {pos - 1}")
            name, encoding = entry
            operands: list[int | bytes] = []
            for enc in re.findall(r"-?\d|[usabt]", encoding):
                value: int | bytes
                if enc == "u":
                    value, pos = uleb(expr, pos)
                elif enc == "s":
                    value, pos = sleb(expr, pos)
                elif enc == "a":
                    value = int.from_bytes(expr[pos:pos + address_size], "little")
                    pos += address_size
                elif enc in ("b", "t"):
                    if enc == "t":  # DW_OP_const_type: a one-byte length
                        n, pos = expr[pos], pos + 1
                    else:
                        n, pos = uleb(expr, pos)
                    value = expr[pos:pos + n]
                    pos += n
                else:
                    width = abs(int(enc))
                    value = int.from_bytes(expr[pos:pos + width], "little", signed=enc.startswith("-"))
                    pos += width
                operands.append(value)
            ops.append(Op(name, tuple(operands)))
        if pos > len(expr):
            raise LocationError("expression ends inside an operand")
    except IndexError:
        raise LocationError("expression ends inside an operand") from None
    return ops


def describe(expr: bytes) -> str:
    """Readable form, e.g. "DW_OP_fbreg -20" or "DW_OP_entry_value (DW_OP_reg5 (rdi)); DW_OP_stack_value"."""
    try:
        return "; ".join(str(op) for op in decode(expr))
    except LocationError as exc:
        return f"<{exc}: {expr.hex()}>"
