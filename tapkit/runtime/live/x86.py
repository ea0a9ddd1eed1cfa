"""Just enough x86-64 decoding to run a probed instruction somewhere else: its length and how it uses rip.

A breakpoint replaces the first byte of an instruction with int3. To resume, the tracer either
runs a copy of the instruction out of line (in a scratch page, followed by a jump back) or, for
instructions whose meaning depends on where they sit (relative branches), emulates them. decode()
classifies an instruction as:

  plain         position independent: a copy runs anywhere
  rip_relative  a ModRM operand disp32(%rip): a copy runs if the displacement is adjusted
  branch        call/jmp/jcc/loop/jrcxz with a relative target: emulated (emulate_branch)
  unsupported   indirect calls (their pushed return address must be the real one) and anything this
                decoder does not know well enough: the tracer steps these in place

Lengths are checked against objdump over whole libraries in tests/runtime_live/test_x86.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["plain", "rip_relative", "branch", "unsupported"]

_LEGACY_PREFIXES = frozenset({0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67})

# One-byte opcodes: which take a ModRM byte, and their immediate ("b" 1 byte, "z" 2/4 by operand size,
# "w" 2, "v" 2/4/8 for mov r, imm).
_NO_MODRM_1 = set(range(0x04, 0x100))
for _row in range(0x00, 0x40, 0x08):
    _NO_MODRM_1 -= {_row, _row + 1, _row + 2, _row + 3}
_NO_MODRM_1 -= {0x62, 0x63, 0x69, 0x6B, *range(0x80, 0x90), 0xC0, 0xC1, 0xC4, 0xC5, 0xC6, 0xC7,
                0xD0, 0xD1, 0xD2, 0xD3, *range(0xD8, 0xE0), 0xF6, 0xF7, 0xFE, 0xFF}
_IMM_1: dict[int, str] = {
    **{op: "b" for op in (0x04, 0x0C, 0x14, 0x1C, 0x24, 0x2C, 0x34, 0x3C, 0x6A, 0x6B, 0x80, 0x83, 0xA8, 0xC0,
                          0xC1, 0xC6, 0xCD, 0xE4, 0xE5, 0xE6, 0xE7, *range(0xB0, 0xB8))},
    **{op: "z" for op in (0x05, 0x0D, 0x15, 0x1D, 0x25, 0x2D, 0x35, 0x3D, 0x68, 0x69, 0x81, 0xA9, 0xC7)},
    **{op: "v" for op in range(0xB8, 0xC0)},
    0xC2: "w", 0xCA: "w", 0xC8: "wb",
}
_INVALID_64 = frozenset({0x06, 0x07, 0x0E, 0x16, 0x17, 0x1E, 0x1F, 0x27, 0x2F, 0x37, 0x3F, 0x60, 0x61, 0x82, 0x9A,
                         0xCE, 0xD4, 0xD5, 0xD6, 0xEA})
_NO_MODRM_2 = frozenset({0x05, 0x06, 0x07, 0x08, 0x09, 0x0B, 0x0E, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x77,
                         *range(0x80, 0x90), 0xA0, 0xA1, 0xA2, 0xA8, 0xA9, 0xAA, *range(0xC8, 0xD0)})
_IMM8_2 = frozenset({0x0F, 0x70, 0x71, 0x72, 0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6})
_INVALID_2 = frozenset({0x04, 0x0A, 0x0C, 0x24, 0x25, 0x26, 0x27, 0x36, 0x39, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x7A,
                        0x7B, 0xA6, 0xA7})
_VEX_IMM8_MAP1 = frozenset({0x70, 0x71, 0x72, 0x73, 0xC2, 0xC4, 0xC5, 0xC6})


@dataclass(frozen=True, slots=True)
class Instruction:
    """A decoded instruction: its bytes, and for rip_relative where its disp32 is; for branches, the
    branch form ("call", "jmp", "jcc", "loop", "loope", "loopne", "jrcxz"), condition and displacement."""

    raw: bytes
    kind: Kind
    disp_offset: int = 0
    branch: str = ""
    condition: int = 0
    rel: int = 0
    address_size_32: bool = False

    @property
    def length(self) -> int:
        return len(self.raw)


class DecodeError(ValueError):
    pass


def _modrm_length(code: bytes, pos: int) -> tuple[int, int]:
    """(bytes taken by ModRM, SIB and displacement starting at pos, offset of a rip-relative disp32 or -1)."""
    modrm = code[pos]
    mod, rm = modrm >> 6, modrm & 7
    n = 1
    rip_disp = -1
    if mod == 3:
        return n, rip_disp
    if rm == 4:
        sib = code[pos + 1]
        n += 1
        if mod == 0 and sib & 7 == 5:
            n += 4
    elif mod == 0 and rm == 5:
        rip_disp = pos + 1
        n += 4
    if mod == 1:
        n += 1
    elif mod == 2:
        n += 4
    return n, rip_disp


def decode(code: bytes) -> Instruction:
    """Decode the instruction at the start of code (give at least 15 bytes when available)."""
    try:
        return _decode(code)
    except IndexError:
        raise DecodeError("instruction runs past the bytes given") from None


def _decode(code: bytes) -> Instruction:
    pos = 0
    opsize16 = addr32 = False
    rep = 0
    rex_w = False
    # A REX byte counts only right before the opcode; one followed by a legacy prefix is ignored.
    while code[pos] in _LEGACY_PREFIXES or 0x40 <= code[pos] <= 0x4F:
        b = code[pos]
        if 0x40 <= b <= 0x4F:
            rex_w = bool(b & 8)
        else:
            rex_w = False
            opsize16 |= b == 0x66
            addr32 |= b == 0x67
            if b in (0xF2, 0xF3):
                rep = b
        pos += 1
        if pos >= 14:
            raise DecodeError("too many prefixes")
    op = code[pos]
    pos += 1
    if op in (0xC4, 0xC5, 0x62):
        return _decode_vex(code, pos - 1, op)
    if op == 0x0F:
        return _decode_0f(code, pos, opsize16, rep)
    if op == 0x8F and code[pos] & 0x1F >= 8:  # AMD XOP: 8F RXB.mmmmm W.vvvv.L.pp opcode ModRM [imm]
        mmmmm = code[pos] & 0x1F
        n, rip_disp = _modrm_length(code, pos + 3)
        end = pos + 3 + n + (1 if mmmmm == 8 else 4 if mmmmm == 0xA else 0)
        return _finish(code[:end], rip_disp)
    if op in _INVALID_64:
        return Instruction(code[:pos], "unsupported")
    # Relative branches: emulated, never copied.
    if 0x70 <= op <= 0x7F or op == 0xEB or 0xE0 <= op <= 0xE3:
        rel = int.from_bytes(code[pos:pos + 1], "little", signed=True)
        form = ("jcc" if op <= 0x7F else "jmp" if op == 0xEB
                else ("loopne", "loope", "loop", "jrcxz")[op - 0xE0])
        return Instruction(code[:pos + 1], "branch", branch=form, condition=op & 0xF, rel=rel, address_size_32=addr32)
    if op in (0xE8, 0xE9):  # a 66 prefix does not shorten rel32 in 64-bit mode (TLS call sequences use it)
        rel = int.from_bytes(code[pos:pos + 4], "little", signed=True)
        return Instruction(code[:pos + 4], "branch", branch="call" if op == 0xE8 else "jmp", rel=rel)
    rip_disp = -1
    if op not in _NO_MODRM_1:
        n, rip_disp = _modrm_length(code, pos)
        reg = (code[pos] >> 3) & 7
        pos += n
        if op in (0xF6, 0xF7) and reg in (0, 1):
            pos += 1 if op == 0xF6 else (2 if opsize16 else 4)
        if op == 0xC7 and code[pos - n] == 0xF8:  # xbegin rel32: a relative branch target
            return Instruction(code[:pos + 4], "unsupported")
        if op == 0xFF and reg in (2, 3):
            # An indirect call run out of line would push the scratch copy's address as the return
            # address, which unwinders (backtraces, C++ exceptions) cannot place: step it in place.
            return Instruction(code[:pos], "unsupported")
    imm = _IMM_1.get(op, "")
    for part in imm:
        if part == "b":
            pos += 1
        elif part == "w":
            pos += 2
        elif part == "z":
            pos += 2 if opsize16 else 4
        elif part == "v":
            pos += 8 if rex_w else 2 if opsize16 else 4
    if 0xA0 <= op <= 0xA3:  # mov with a 64-bit absolute address (moffs)
        pos += 4 if addr32 else 8
    if op == 0xCC or op == 0xF1:
        return Instruction(code[:pos], "unsupported")
    return _finish(code[:pos], rip_disp)


def _finish(raw: bytes, rip_disp: int) -> Instruction:
    if len(raw) > 15:
        raise DecodeError("instruction longer than 15 bytes")
    if rip_disp >= 0:
        return Instruction(raw, "rip_relative", disp_offset=rip_disp)
    return Instruction(raw, "plain")


def _decode_0f(code: bytes, pos: int, opsize16: bool, rep: int) -> Instruction:
    op = code[pos]
    pos += 1
    if op == 0x38:
        pos += 1
        n, rip_disp = _modrm_length(code, pos)
        return _finish(code[:pos + n], rip_disp)
    if op == 0x3A:
        pos += 1
        n, rip_disp = _modrm_length(code, pos)
        return _finish(code[:pos + n + 1], rip_disp)
    if 0x80 <= op <= 0x8F:
        rel = int.from_bytes(code[pos:pos + 4], "little", signed=True)
        if opsize16:
            return Instruction(code[:pos + 2], "unsupported")
        return Instruction(code[:pos + 4], "branch", branch="jcc", condition=op & 0xF, rel=rel)
    if op in _INVALID_2:
        return Instruction(code[:pos], "unsupported")
    rip_disp = -1
    if op not in _NO_MODRM_2:
        n, rip_disp = _modrm_length(code, pos)
        pos += n
    if op in _IMM8_2:
        pos += 1
    elif op == 0x78 and (opsize16 or rep == 0xF2):  # SSE4a extrq/insertq: two byte immediates
        pos += 2
    elif op == 0x79 and rep == 0xF2:
        pass
    return _finish(code[:pos], rip_disp)


def _decode_vex(code: bytes, start: int, escape: int) -> Instruction:
    pos = start + 1
    if escape == 0xC5:
        mmmmm = 1
        pos += 1
    elif escape == 0xC4:
        mmmmm = code[pos] & 0x1F
        pos += 2
    else:  # EVEX
        mmmmm = code[pos] & 0x7
        pos += 3
    op = code[pos]
    pos += 1
    if escape != 0x62 and mmmmm == 1 and op == 0x77:  # vzeroupper / vzeroall
        return _finish(code[:pos], -1)
    if mmmmm not in (1, 2, 3, 5, 6):
        return Instruction(code[:pos], "unsupported")
    n, rip_disp = _modrm_length(code, pos)
    pos += n
    if mmmmm == 3 or (mmmmm == 1 and op in _VEX_IMM8_MAP1):
        pos += 1
    return _finish(code[:pos], rip_disp)


# ---- emulation of relative branches ----

CF, PF, ZF, SF, OF = 0x1, 0x4, 0x40, 0x80, 0x800


def condition_holds(cond: int, eflags: int) -> bool:
    """Whether the jcc/setcc condition number cond (0 = O ... 15 = G) holds for eflags."""
    base = cond >> 1
    if base == 0:
        value = bool(eflags & OF)
    elif base == 1:
        value = bool(eflags & CF)
    elif base == 2:
        value = bool(eflags & ZF)
    elif base == 3:
        value = bool(eflags & (CF | ZF))
    elif base == 4:
        value = bool(eflags & SF)
    elif base == 5:
        value = bool(eflags & PF)
    elif base == 6:
        value = bool(eflags & SF) != bool(eflags & OF)
    else:
        value = bool(eflags & ZF) or bool(eflags & SF) != bool(eflags & OF)
    return value != bool(cond & 1)


@dataclass(frozen=True, slots=True)
class BranchOutcome:
    """What a relative branch at address does: the next rip, the rcx it leaves, a return address to push."""

    rip: int
    rcx: int | None = None
    push: int | None = None


def emulate_branch(insn: Instruction, address: int, eflags: int, rcx: int) -> BranchOutcome:
    following = address + insn.length
    target = (following + insn.rel) & 0xFFFFFFFFFFFFFFFF
    form = insn.branch
    if form == "call":
        return BranchOutcome(target, push=following)
    if form == "jmp":
        return BranchOutcome(target)
    if form == "jcc":
        return BranchOutcome(target if condition_holds(insn.condition, eflags) else following)
    mask = 0xFFFFFFFF if insn.address_size_32 else 0xFFFFFFFFFFFFFFFF
    if form == "jrcxz":
        return BranchOutcome(target if rcx & mask == 0 else following)
    count = (rcx - 1) & mask
    new_rcx = (rcx & ~mask) | count
    taken = count != 0
    if form == "loope":
        taken = taken and bool(eflags & ZF)
    elif form == "loopne":
        taken = taken and not eflags & ZF
    return BranchOutcome(target if taken else following, rcx=new_rcx)


def relocate(insn: Instruction, address: int, slot: int) -> bytes | None:
    """The instruction's bytes for running at slot instead of address, followed by an absolute jump back;
    None when it cannot run there (a rip-relative operand out of disp32 reach)."""
    raw = insn.raw
    if insn.kind == "rip_relative":
        disp = int.from_bytes(raw[insn.disp_offset:insn.disp_offset + 4], "little", signed=True)
        moved = disp + address - slot
        if not -(1 << 31) <= moved < 1 << 31:
            return None
        raw = raw[:insn.disp_offset] + moved.to_bytes(4, "little", signed=True) + raw[insn.disp_offset + 4:]
    elif insn.kind != "plain":
        return None
    back = address + insn.length
    return raw + b"\xff\x25\x00\x00\x00\x00" + back.to_bytes(8, "little")
