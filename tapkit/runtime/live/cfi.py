"""Call frame information (.eh_frame, .debug_frame): the CFA and the caller's registers at a pc.

Used twice: DW_OP_call_frame_cfa (the frame base of most gcc functions) needs the CFA at the
probe's pc, and backtraces unwind frame by frame. Tables are parsed once per file (ElfImage)
into a sorted list of FDE ranges; the rows for one pc are computed on demand and cached.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from tapkit.debuginfo.dwarf import sleb, uleb
from tapkit.runtime.live.elfimage import CfiSection

RA_REG = 16  # x86_64: the return address column
SP_REG = 7


class CfiError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Rule:
    """How to find a register of the caller: kind is "undefined", "same", "offset" (saved at CFA+n),
    "val_offset" (CFA+n), "register" (in register n), "expression" / "val_expression" (expr)."""

    kind: str
    n: int = 0
    expr: bytes = b""


@dataclass(frozen=True, slots=True)
class FrameRow:
    """The unwind rule at one pc: CFA = reg + offset (or cfa_expr), and the saved-register rules."""

    cfa_reg: int
    cfa_offset: int
    cfa_expr: bytes | None
    rules: dict[int, Rule]
    ra_reg: int
    signal_frame: bool


@dataclass(slots=True)
class _Cie:
    code_align: int
    data_align: int
    ra_reg: int
    fde_encoding: int
    initial: bytes
    signal_frame: bool
    has_aug_data: bool


@dataclass(slots=True)
class _Fde:
    start: int
    end: int
    cie: _Cie
    instructions: bytes


@dataclass(slots=True)
class CfiTable:
    """Every FDE of one file, sorted by start address (link-time addresses)."""

    starts: list[int] = field(default_factory=list)
    fdes: list[_Fde] = field(default_factory=list)
    _rows: dict[int, FrameRow | None] = field(default_factory=dict)

    def fde_for(self, pc: int) -> _Fde | None:
        i = bisect.bisect_right(self.starts, pc) - 1
        while i >= 0:
            fde = self.fdes[i]
            if fde.start <= pc < fde.end:
                return fde
            if fde.start < pc and i > 0 and self.starts[i - 1] == fde.start:
                i -= 1
                continue
            return None
        return None

    def row_at(self, pc: int) -> FrameRow | None:
        if pc in self._rows:
            return self._rows[pc]
        fde = self.fde_for(pc)
        row = _execute(fde, pc) if fde is not None else None
        if len(self._rows) > 4096:
            self._rows.clear()
        self._rows[pc] = row
        return row


def parse_tables(sections: tuple[CfiSection, ...]) -> CfiTable:
    entries: list[_Fde] = []
    for sec in sections:
        entries.extend(_parse_section(sec))
    entries.sort(key=lambda f: f.start)
    return CfiTable([f.start for f in entries], entries)


def _read_encoded(data: bytes, pos: int, encoding: int, section_addr: int) -> tuple[int, int]:
    """A pointer in DW_EH_PE encoding at data[pos]; returns (value, next pos)."""
    if encoding == 0xFF:
        return 0, pos
    fmt = encoding & 0x0F
    start = pos
    if fmt == 0x00:
        value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
    elif fmt == 0x01:
        value, pos = uleb(data, pos)
    elif fmt == 0x02:
        value, pos = int.from_bytes(data[pos:pos + 2], "little"), pos + 2
    elif fmt == 0x03:
        value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
    elif fmt == 0x04:
        value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
    elif fmt == 0x09:
        value, pos = sleb(data, pos)
    elif fmt == 0x0A:
        value, pos = int.from_bytes(data[pos:pos + 2], "little", signed=True), pos + 2
    elif fmt == 0x0B:
        value, pos = int.from_bytes(data[pos:pos + 4], "little", signed=True), pos + 4
    elif fmt == 0x0C:
        value, pos = int.from_bytes(data[pos:pos + 8], "little", signed=True), pos + 8
    else:
        raise CfiError(f"unknown pointer encoding {encoding:#x}")
    if encoding & 0x70 == 0x10:  # pcrel
        value += section_addr + start
    return value & 0xFFFFFFFFFFFFFFFF, pos


def _parse_section(sec: CfiSection) -> list[_Fde]:
    data, eh = sec.data, sec.name == ".eh_frame"
    cies: dict[int, _Cie] = {}
    out: list[_Fde] = []
    pos = 0
    while pos + 4 <= len(data):
        start = pos
        length = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        offset_size = 4
        if length == 0xFFFFFFFF:
            length = struct.unpack_from("<Q", data, pos)[0]
            pos += 8
            offset_size = 8
        if length == 0:
            if eh:
                break  # the terminator
            continue
        end = pos + length
        if end > len(data):
            raise CfiError(f"{sec.name}: entry at {start:#x} runs past the section")
        id_pos = pos
        cie_id = int.from_bytes(data[pos:pos + offset_size], "little")
        pos += offset_size
        is_cie = cie_id == 0 if eh else cie_id == (1 << (8 * offset_size)) - 1
        if is_cie:
            cies[start] = _parse_cie(data, pos, end)
        else:
            cie_at = id_pos - cie_id if eh else cie_id
            cie = cies.get(cie_at)
            if cie is None:
                if cie_at not in range(len(data)):
                    raise CfiError(f"{sec.name}: FDE at {start:#x} names a CIE outside the section")
                cie = _parse_cie_at(data, cie_at, eh)
                cies[cie_at] = cie
            encoding = cie.fde_encoding if eh else 0x00
            pc_begin, pos = _read_encoded(data, pos, encoding, sec.address)
            pc_range, pos = _read_encoded(data, pos, encoding & 0x0F, sec.address)
            if cie.has_aug_data:
                aug_len, pos = uleb(data, pos)
                pos += aug_len
            if pc_begin or pc_range:
                out.append(_Fde(pc_begin, pc_begin + pc_range, cie, data[pos:end]))
        pos = end
    return out


def _parse_cie_at(data: bytes, at: int, eh: bool) -> _Cie:
    length = struct.unpack_from("<I", data, at)[0]
    pos, size = at + 4, 4
    if length == 0xFFFFFFFF:
        length = struct.unpack_from("<Q", data, pos)[0]
        pos, size = pos + 8, 8
    return _parse_cie(data, pos + size, pos + length)


def _parse_cie(data: bytes, pos: int, end: int) -> _Cie:
    version = data[pos]
    pos += 1
    nul = data.index(b"\0", pos)
    aug = data[pos:nul].decode("ascii", "replace")
    pos = nul + 1
    if version >= 4:
        pos += 2  # address_size, segment_selector_size
    if aug.startswith("eh"):
        pos += 8
    code_align, pos = uleb(data, pos)
    data_align, pos = sleb(data, pos)
    if version == 1:
        ra_reg, pos = data[pos], pos + 1
    else:
        ra_reg, pos = uleb(data, pos)
    fde_encoding = 0x00
    signal = "S" in aug
    has_z = aug.startswith("z")
    if has_z:
        aug_len, pos = uleb(data, pos)
        aug_end = pos + aug_len
        for ch in aug[1:]:
            if ch == "R":
                fde_encoding, pos = data[pos], pos + 1
            elif ch == "L":
                pos += 1
            elif ch == "P":
                enc = data[pos]
                pos += 1
                _, pos = _read_encoded(data, pos, enc & 0x7F, 0)
        pos = aug_end
    return _Cie(code_align, data_align, ra_reg, fde_encoding, data[pos:end], signal, has_z)


@dataclass(slots=True)
class _Cfa:
    reg: int = SP_REG
    offset: int = 8
    expr: bytes | None = None

    def copy(self) -> _Cfa:
        return _Cfa(self.reg, self.offset, self.expr)


def _execute(fde: _Fde, pc: int) -> FrameRow:
    """Run the CIE's and the FDE's instructions up to pc; the row in effect at pc."""
    cie = fde.cie
    cfa = _Cfa()
    rules: dict[int, Rule] = {}
    _run(cie.initial, cie, cfa, rules, None, fde.start, pc)
    initial_rules = dict(rules)
    _run(fde.instructions, cie, cfa, rules, initial_rules, fde.start, pc)
    return FrameRow(cfa.reg, cfa.offset, cfa.expr, rules, cie.ra_reg, cie.signal_frame)


def _run(code: bytes, cie: _Cie, cfa: _Cfa, rules: dict[int, Rule], initial: dict[int, Rule] | None,
         loc: int, pc: int) -> int:
    pos = 0
    stack: list[tuple[_Cfa, dict[int, Rule]]] = []
    da, ca = cie.data_align, cie.code_align
    while pos < len(code):
        op = code[pos]
        pos += 1
        high, low = op & 0xC0, op & 0x3F
        if high == 0x40:  # advance_loc
            loc += low * ca
            if loc > pc:
                return loc
            continue
        if high == 0x80:  # offset
            off, pos = uleb(code, pos)
            rules[low] = Rule("offset", off * da)
            continue
        if high == 0xC0:  # restore
            _restore(rules, initial, low)
            continue
        if op == 0x00:
            continue
        if op == 0x01:
            loc, pos = int.from_bytes(code[pos:pos + 8], "little"), pos + 8
        elif op in (0x02, 0x03, 0x04):
            width = {0x02: 1, 0x03: 2, 0x04: 4}[op]
            loc += int.from_bytes(code[pos:pos + width], "little") * ca
            pos += width
        elif op in (0x05, 0x11, 0x14, 0x15):
            reg, pos = uleb(code, pos)
            if op in (0x05, 0x14):
                n, pos = uleb(code, pos)
            else:
                n, pos = sleb(code, pos)
            rules[reg] = Rule("offset" if op in (0x05, 0x11) else "val_offset", n * da)
        elif op == 0x06:
            reg, pos = uleb(code, pos)
            _restore(rules, initial, reg)
        elif op in (0x07, 0x08):
            reg, pos = uleb(code, pos)
            rules[reg] = Rule("undefined" if op == 0x07 else "same")
        elif op == 0x09:
            reg, pos = uleb(code, pos)
            other, pos = uleb(code, pos)
            rules[reg] = Rule("register", other)
        elif op == 0x0A:
            stack.append((cfa.copy(), dict(rules)))
        elif op == 0x0B:
            if stack:
                saved_cfa, saved_rules = stack.pop()
                # remember/restore_state keep the register rules; the CFA rule travels with them here,
                # as GCC's unwinder does (DWARF 5 leaves it implicit).
                cfa.reg, cfa.offset, cfa.expr = saved_cfa.reg, saved_cfa.offset, saved_cfa.expr
                rules.clear()
                rules.update(saved_rules)
        elif op in (0x0C, 0x12):
            reg, pos = uleb(code, pos)
            if op == 0x0C:
                off, pos = uleb(code, pos)
            else:
                off, pos = sleb(code, pos)
                off *= da
            cfa.reg, cfa.offset, cfa.expr = reg, off, None
        elif op == 0x0D:
            reg, pos = uleb(code, pos)
            cfa.reg, cfa.expr = reg, None
        elif op in (0x0E, 0x13):
            if op == 0x0E:
                off, pos = uleb(code, pos)
            else:
                off, pos = sleb(code, pos)
                off *= da
            cfa.offset = off
        elif op == 0x0F:
            n, pos = uleb(code, pos)
            cfa.expr = code[pos:pos + n]
            pos += n
        elif op in (0x10, 0x16):
            reg, pos = uleb(code, pos)
            n, pos = uleb(code, pos)
            rules[reg] = Rule("expression" if op == 0x10 else "val_expression", expr=code[pos:pos + n])
            pos += n
        elif op == 0x2E:
            _, pos = uleb(code, pos)
        elif op == 0x2F:
            reg, pos = uleb(code, pos)
            n, pos = uleb(code, pos)
            rules[reg] = Rule("offset", -n * da)
        else:
            raise CfiError(f"unknown call frame instruction {op:#x}")
        if loc > pc:
            return loc
    return loc


def _restore(rules: dict[int, Rule], initial: dict[int, Rule] | None, reg: int) -> None:
    if initial is not None and reg in initial:
        rules[reg] = initial[reg]
    else:
        rules.pop(reg, None)


# ---- using a row ----

Reader = Callable[[int], int]  # reads an 8-byte word at an address (raises MemoryFault)
ExprEvaluator = Callable[[bytes, dict[int, int], int | None], int]


def compute_cfa(row: FrameRow, regs: dict[int, int], evaluate: ExprEvaluator) -> int:
    if row.cfa_expr is not None:
        return evaluate(row.cfa_expr, regs, None)
    if row.cfa_reg not in regs:
        raise CfiError(f"the CFA needs register {row.cfa_reg}, which is unknown in this frame")
    return (regs[row.cfa_reg] + row.cfa_offset) & 0xFFFFFFFFFFFFFFFF


def caller_registers(row: FrameRow, regs: dict[int, int], read_word: Reader,
                     evaluate: ExprEvaluator) -> tuple[dict[int, int], int]:
    """(the caller's known registers with its pc in RA_REG, this frame's CFA)."""
    cfa = compute_cfa(row, regs, evaluate)
    caller: dict[int, int] = {SP_REG: cfa}
    for reg in set(regs) | set(row.rules) | {row.ra_reg}:
        rule = row.rules.get(reg)
        if rule is None:
            # Callee-saved registers the frame did not save still hold the caller's values.
            if reg in (3, 6, 12, 13, 14, 15) and reg in regs:
                caller[reg] = regs[reg]
            continue
        if rule.kind == "offset":
            caller[reg] = read_word(cfa + rule.n)
        elif rule.kind == "val_offset":
            caller[reg] = (cfa + rule.n) & 0xFFFFFFFFFFFFFFFF
        elif rule.kind == "register" and rule.n in regs:
            caller[reg] = regs[rule.n]
        elif rule.kind == "same" and reg in regs:
            caller[reg] = regs[reg]
        elif rule.kind == "expression":
            caller[reg] = read_word(evaluate(rule.expr, regs, cfa))
        elif rule.kind == "val_expression":
            caller[reg] = evaluate(rule.expr, regs, cfa)
    if row.ra_reg in caller:
        caller[RA_REG] = caller[row.ra_reg]
    return caller, cfa
