"""Low-level DWARF 2-5 reading: unit headers, abbreviation tables, DIE attributes (the line table,
range and location lists are in dwarf_tables.py). Knows the encoding, not what the entries mean
(see dwarf_index.py).

Decoding is planned once per abbreviation: runs of fixed-size forms become one struct.Struct, so
a typical DIE costs one unpack_from. Relocations of a kernel module are applied as values are read.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tapkit.debuginfo import formats as F
from tapkit.debuginfo.elf import Blob, ElfFile, Relocations
from tapkit.debuginfo.model import DebuginfoError

F_ = F.Form

# Decode-plan step kinds.
_FIXED, _ULEB, _SLEB, _STRING, _BLOCK1, _BLOCK2, _BLOCK4, _BLOCKU = range(8)
_IMPLICIT, _PRESENT, _INDIRECT, _STRX, _ADDRX, _STRX3, _ADDRX3, _REF_UDATA, _INDEX = range(8, 17)
# Fixups applied to values unpacked from a fixed run.
_FIX_STRP, _FIX_LINE_STRP, _FIX_REF, _FIX_FLAG, _FIX_STRX, _FIX_ADDRX, _FIX_RELOC = range(7)
_FIX_STRP_ALT, _FIX_REF_ALT = 7, 8  # into the dwz supplementary file

_VARIABLE_STEPS = {
    F_.udata: _ULEB, F_.sdata: _SLEB, F_.string: _STRING, F_.block1: _BLOCK1, F_.block2: _BLOCK2,
    F_.block4: _BLOCK4, F_.block: _BLOCKU, F_.exprloc: _BLOCKU, F_.implicit_const: _IMPLICIT,
    F_.flag_present: _PRESENT, F_.indirect: _INDIRECT, F_.strx: _STRX, F_.GNU_str_index: _STRX,
    F_.addrx: _ADDRX, F_.GNU_addr_index: _ADDRX, F_.strx3: _STRX3, F_.addrx3: _ADDRX3,
    F_.ref_udata: _REF_UDATA, F_.loclistx: _INDEX, F_.rnglistx: _INDEX,
}
_FIXUPS = {
    F_.strp: _FIX_STRP, F_.line_strp: _FIX_LINE_STRP, F_.ref1: _FIX_REF, F_.ref2: _FIX_REF, F_.ref4: _FIX_REF,
    F_.ref8: _FIX_REF, F_.flag: _FIX_FLAG, F_.strx1: _FIX_STRX, F_.strx2: _FIX_STRX, F_.strx4: _FIX_STRX,
    F_.addrx1: _FIX_ADDRX, F_.addrx2: _FIX_ADDRX, F_.addrx4: _FIX_ADDRX, F_.sec_offset: _FIX_RELOC,
    F_.addr: _FIX_RELOC, F_.ref_addr: _FIX_RELOC, F_.GNU_ref_alt: _FIX_REF_ALT, F_.strp_sup: _FIX_STRP_ALT,
    F_.GNU_strp_alt: _FIX_STRP_ALT, F_.ref_sup4: _FIX_REF_ALT, F_.ref_sup8: _FIX_REF_ALT,
}


class DwarfFormatError(Exception):
    """Malformed DWARF at a known place; the indexer adds the file name."""


def uleb(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def sleb(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return (result - (1 << shift) if byte & 0x40 else result), pos


@dataclass(slots=True)
class Abbrev:
    code: int
    tag: int
    children: bool
    attrs: tuple[int, ...]
    forms: dict[int, int]
    steps: list[tuple[int, Any]]
    sibling_index: int = -1
    simple: tuple[struct.Struct, tuple[tuple[int, int, int], ...]] | None = None  # one fixed run: the fast path


@dataclass(slots=True)
class Unit:
    """One unit header. bases are filled from the unit DIE (DWARF 5 str_offsets/addr/rnglists/loclists)."""

    offset: int
    end: int
    version: int
    unit_type: int
    abbrev_offset: int
    address_size: int
    offset_size: int
    die_offset: int
    str_offsets_base: int = 8
    addr_base: int = 8
    rnglists_base: int = 0
    loclists_base: int = 0
    low_pc: int = 0
    abbrevs: dict[int, Abbrev] = field(default_factory=dict)


class DwarfSections:
    """The debug sections of one ELF file, relocated, plus the decoding state shared by its units."""

    NAMES = (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str", ".debug_line",
             ".debug_str_offsets", ".debug_addr", ".debug_rnglists", ".debug_loclists", ".debug_ranges",
             ".debug_loc")

    def __init__(self, elf: ElfFile) -> None:
        self.path = elf.path
        self.little = elf.little
        self.endian = "<" if elf.little else ">"
        symbols = elf.symbol_values() if elf.type == F.ET_REL else []
        blobs = {name: elf.blob(name, symbols) for name in self.NAMES}
        empty = Blob(b"", Relocations.EMPTY)
        info = blobs[".debug_info"]
        if info is None:
            raise DebuginfoError(elf.path, "has no DWARF debug information (.debug_info section)")
        self.info = info.data
        self.info_relocs = info.relocs
        self.abbrev = (blobs[".debug_abbrev"] or empty).data
        self.str = (blobs[".debug_str"] or empty).data
        self.line_str = (blobs[".debug_line_str"] or empty).data
        self.line = blobs[".debug_line"] or empty
        self.str_offsets = blobs[".debug_str_offsets"] or empty
        self.addr = blobs[".debug_addr"] or empty
        self.rnglists = blobs[".debug_rnglists"] or empty
        self.loclists = blobs[".debug_loclists"] or empty
        self.ranges = blobs[".debug_ranges"] or empty
        self.loc = blobs[".debug_loc"] or empty
        self._strings: dict[int, str] = {}
        # The dwz supplementary file (.gnu_debugaltlink) holding shared DIEs and strings, once found.
        self.alt: DwarfSections | None = None
        self.altlink = elf.debugaltlink()[0] if elf.section(".gnu_debugaltlink") else None
        self._unit_list: list[Unit] | None = None
        self._unit_starts: list[int] = []
        self._line_strings: dict[int, str] = {}
        self._abbrev_tables: dict[tuple[int, int, int], dict[int, Abbrev]] = {}
        # Every unit of a kernel module repeats the same abbreviations: plan each shape once.
        self._plans: dict[tuple[Any, ...], list[tuple[int, Any]]] = {}

    # --- strings -------------------------------------------------------------------------------------

    def string(self, offset: int) -> str:
        s = self._strings.get(offset)
        if s is None:
            s = _cstring(self.str, offset, ".debug_str")
            self._strings[offset] = s
        return s

    def line_string(self, offset: int) -> str:
        s = self._line_strings.get(offset)
        if s is None:
            s = _cstring(self.line_str, offset, ".debug_line_str")
            self._line_strings[offset] = s
        return s

    def strx(self, unit: Unit, index: int) -> str:
        off = unit.str_offsets_base + index * unit.offset_size
        return self.string(self.str_offsets.word(off, unit.offset_size, self.little))

    def addrx(self, unit: Unit, index: int) -> int:
        return self.addr.word(unit.addr_base + index * unit.address_size, unit.address_size, self.little)

    # --- units ---------------------------------------------------------------------------------------

    def unit_at(self, offset: int) -> Unit | None:
        """The unit holding a .debug_info offset (references may cross units: dwz, LTO)."""
        if self._unit_list is None:
            self._unit_list = list(self.units())
            self._unit_starts = [u.offset for u in self._unit_list]
        units = self._unit_list
        i = bisect_right(self._unit_starts, offset) - 1
        if i >= 0 and offset < units[i].end:
            return units[i]
        return None

    def units(self) -> Iterator[Unit]:
        buf, pos = self.info, 0
        while pos + 11 <= len(buf):
            start = pos
            length = int.from_bytes(buf[pos:pos + 4], "little" if self.little else "big")
            offset_size = 4
            pos += 4
            if length == 0xFFFFFFFF:
                length = int.from_bytes(buf[pos:pos + 8], "little" if self.little else "big")
                offset_size = 8
                pos += 8
            end = pos + length
            if end > len(buf) or length < 7:
                raise DwarfFormatError(f"unit at .debug_info+{start:#x} claims {length} bytes, "
                                       f"but only {len(buf) - pos} remain")
            osz = "I" if offset_size == 4 else "Q"
            version = struct.unpack_from(self.endian + "H", buf, pos)[0]
            pos += 2
            if version >= 5:
                unit_type, address_size = buf[pos], buf[pos + 1]
                abbrev_offset = struct.unpack_from(self.endian + osz, buf, pos + 2)[0]
                pos += 2 + offset_size
                if unit_type in (F.UT_skeleton, F.UT_split_compile):
                    pos += 8
                elif unit_type in (F.UT_type, F.UT_split_type):
                    pos += 8 + offset_size
            elif version >= 2:
                unit_type = F.UT_compile
                abbrev_offset = struct.unpack_from(self.endian + osz, buf, pos)[0]
                address_size = buf[pos + offset_size]
                pos += offset_size + 1
            else:
                raise DwarfFormatError(f"unit at .debug_info+{start:#x} has unsupported DWARF version {version}")
            abbrev_offset = self.info_relocs.get(start + (12 if offset_size == 8 else 4) + (4 if version >= 5 else 2),
                                                 abbrev_offset)
            if address_size not in (4, 8):
                raise DwarfFormatError(f"unit at .debug_info+{start:#x} has address size {address_size}")
            unit = Unit(start, end, version, unit_type, abbrev_offset, address_size, offset_size, pos)
            unit.abbrevs = self.abbrev_table(unit)
            yield unit
            pos = end

    # --- abbreviations -------------------------------------------------------------------------------

    def abbrev_table(self, unit: Unit) -> dict[int, Abbrev]:
        key = (unit.abbrev_offset, unit.address_size, unit.offset_size)
        table = self._abbrev_tables.get(key)
        if table is None:
            table = self._parse_abbrevs(unit)
            self._abbrev_tables[key] = table
        return table

    def _parse_abbrevs(self, unit: Unit) -> dict[int, Abbrev]:
        buf, pos = self.abbrev, unit.abbrev_offset
        if pos >= len(buf):
            raise DwarfFormatError(f"abbreviation table offset {pos:#x} is outside .debug_abbrev ({len(buf)} bytes)")
        table: dict[int, Abbrev] = {}
        while True:
            code, pos = uleb(buf, pos)
            if code == 0:
                return table
            tag, pos = uleb(buf, pos)
            children = buf[pos] != 0
            pos += 1
            attrs: list[tuple[int, int, int | None]] = []
            while True:
                attr = buf[pos]
                if attr < 0x80:
                    pos += 1
                else:
                    attr, pos = uleb(buf, pos)
                form = buf[pos]
                if form < 0x80:
                    pos += 1
                else:
                    form, pos = uleb(buf, pos)
                if attr == 0 and form == 0:
                    break
                implicit = None
                if form == F_.implicit_const:
                    implicit, pos = sleb(buf, pos)
                attrs.append((attr, form, implicit))
            table[code] = self._plan(code, tag, children, attrs, unit)

    def _plan(self, code: int, tag: int, children: bool, attrs: list[tuple[int, int, int | None]],
              unit: Unit) -> Abbrev:
        key = (tuple(attrs), unit.address_size, unit.offset_size)
        steps = self._plans.get(key)
        if steps is None:
            steps = self._steps(code, attrs, unit)
            self._plans[key] = steps
        attr_codes = tuple(a for a, _, _ in attrs)
        forms = {a: f for a, f, _ in attrs}
        sib = attr_codes.index(F.At.sibling) if F.At.sibling in forms else -1
        simple = steps[0][1] if len(steps) == 1 and steps[0][0] == _FIXED else None
        return Abbrev(code, tag, children, attr_codes, forms, steps, sib, simple)

    def _steps(self, code: int, attrs: list[tuple[int, int, int | None]], unit: Unit) -> list[tuple[int, Any]]:
        """Turn an abbreviation into decode steps: fixed-size runs merge into one struct."""
        steps: list[tuple[int, Any]] = []
        fmt: list[str] = []
        fixups: list[tuple[int, int, int]] = []
        run_size = 0
        relocatable = bool(self.info_relocs)

        def flush() -> None:
            nonlocal fmt, fixups, run_size
            if fmt:
                steps.append((_FIXED, (struct.Struct(self.endian + "".join(fmt)), tuple(fixups))))
            fmt, fixups, run_size = [], [], 0

        for _attr, form, implicit in attrs:
            code_char = F.FIXED_FORMS.get(form)
            if code_char is not None:
                if code_char == "A":
                    code_char = "I" if unit.address_size == 4 else "Q"
                elif code_char == "O":
                    code_char = "I" if unit.offset_size == 4 else "Q"
                fix = _FIXUPS.get(form)
                if fix is not None and (fix != _FIX_RELOC or relocatable):
                    fixups.append((len(fmt), fix, run_size))
                fmt.append(code_char)
                run_size += struct.calcsize("<" + code_char)
            else:
                flush()
                kind = _VARIABLE_STEPS.get(form)
                if kind is None:
                    raise DwarfFormatError(f"abbreviation {code} uses unknown attribute form {form:#x}")
                steps.append((kind, implicit if kind == _IMPLICIT else form))
        flush()
        return steps

    # --- DIEs ----------------------------------------------------------------------------------------

    def die(self, unit: Unit, pos: int) -> tuple[Abbrev | None, dict[int, Any], int]:
        """Decode the DIE at pos: (abbrev, {attribute: value}, position after its attributes).

        abbrev None marks the null entry that ends a list of children. Values are final: strings for
        string forms, absolute .debug_info offsets for references, bytes for blocks, bool for flags.
        """
        buf = self.info
        code = buf[pos]
        pos += 1
        if code >= 0x80:
            second = buf[pos]
            if second < 0x80:  # units with 128-16383 abbreviations: the common two-byte code
                code = (code & 0x7F) | (second << 7)
                pos += 1
            else:
                code, pos = uleb(buf, pos - 1)
        if code == 0:
            return None, {}, pos
        ab = unit.abbrevs.get(code)
        if ab is None:
            raise DwarfFormatError(f"DIE at .debug_info+{pos - 1:#x} uses abbreviation {code}, "
                                   f"which the unit's table does not define")
        simple = ab.simple
        if simple is not None:
            st, fixups = simple
            got: Any = st.unpack_from(buf, pos)
            if fixups:
                got = list(got)
                for i, fix, off in fixups:
                    if fix == _FIX_STRP:
                        got[i] = self.string(self.info_relocs.get(pos + off, got[i]) if self.info_relocs
                                             else got[i])
                    elif fix == _FIX_REF:
                        got[i] += unit.offset
                    else:
                        got[i] = self._fix(unit, fix, got[i], pos + off)
            pos += st.size
            if pos > unit.end:
                raise DwarfFormatError(f"DIE attributes run past the end of the unit at "
                                       f".debug_info+{unit.offset:#x}")
            return ab, dict(zip(ab.attrs, got, strict=True)), pos
        vals: list[Any] = []
        pos = self._decode(unit, ab.steps, pos, vals)
        if pos > unit.end:
            raise DwarfFormatError(f"DIE attributes run past the end of the unit at .debug_info+{unit.offset:#x}")
        return ab, dict(zip(ab.attrs, vals, strict=True)), pos

    def _decode(self, unit: Unit, steps: list[tuple[int, Any]], pos: int, vals: list[Any]) -> int:
        buf = self.info
        for kind, arg in steps:
            if kind == _FIXED:
                st, fixups = arg
                got = st.unpack_from(buf, pos)
                if fixups:
                    got = list(got)
                    for i, fix, off in fixups:
                        if fix == _FIX_STRP:
                            got[i] = self.string(self.info_relocs.get(pos + off, got[i]) if self.info_relocs
                                                 else got[i])
                        elif fix == _FIX_REF:
                            got[i] += unit.offset
                        else:
                            got[i] = self._fix(unit, fix, got[i], pos + off)
                vals.extend(got)
                pos += st.size
            elif kind in (_ULEB, _INDEX):
                b = buf[pos]
                if b < 0x80:
                    vals.append(b)
                    pos += 1
                else:
                    v, pos = uleb(buf, pos)
                    vals.append(v)
            elif kind == _SLEB:
                v, pos = sleb(buf, pos)
                vals.append(v)
            elif kind == _STRING:
                end = buf.index(b"\0", pos)
                vals.append(buf[pos:end].decode("utf-8", "replace"))
                pos = end + 1
            elif kind == _BLOCKU:
                n, pos = uleb(buf, pos)
                vals.append(buf[pos:pos + n])
                pos += n
            elif kind == _IMPLICIT:
                vals.append(arg)
            elif kind == _PRESENT:
                vals.append(True)
            elif kind == _REF_UDATA:
                v, pos = uleb(buf, pos)
                vals.append(v + unit.offset)
            elif kind in (_BLOCK1, _BLOCK2, _BLOCK4):
                width = 1 if kind == _BLOCK1 else 2 if kind == _BLOCK2 else 4
                n = int.from_bytes(buf[pos:pos + width], "little" if self.little else "big")
                pos += width
                vals.append(buf[pos:pos + n])
                pos += n
            elif kind in (_STRX, _ADDRX):
                v, pos = uleb(buf, pos)
                vals.append(self.strx(unit, v) if kind == _STRX else self.addrx(unit, v))
            elif kind in (_STRX3, _ADDRX3):
                v = int.from_bytes(buf[pos:pos + 3], "little" if self.little else "big")
                pos += 3
                vals.append(self.strx(unit, v) if kind == _STRX3 else self.addrx(unit, v))
            else:  # DW_FORM_indirect: the form is in the data
                form, pos = uleb(buf, pos)
                if form in (F_.indirect, F_.implicit_const):
                    raise DwarfFormatError(f"DW_FORM_indirect names form {form:#x} at .debug_info+{pos:#x}")
                pos = self._decode(unit, self._plan(0, 0, False, [(0, form, None)], unit).steps, pos, vals)
        return pos

    def _fix(self, unit: Unit, fix: int, value: int, at: int) -> Any:
        """The rarer fixups of a fixed-size value read at .debug_info offset at."""
        if fix == _FIX_RELOC:
            return self.info_relocs.get(at, value)
        if fix == _FIX_REF_ALT:
            return ("alt", value)
        if fix == _FIX_STRP_ALT:
            if self.alt is None:
                raise DwarfFormatError(f"names live in the dwz supplementary file (.gnu_debugaltlink "
                                       f"{self.altlink or ''}), which was not found")
            return self.alt.string(value)
        if fix == _FIX_LINE_STRP:
            return self.line_string(self.info_relocs.get(at, value))
        if fix == _FIX_FLAG:
            return value != 0
        if fix == _FIX_STRX:
            return self.strx(unit, value)
        return self.addrx(unit, value)

    def skip_children(self, unit: Unit, pos: int) -> int:
        """Position after the children that start at pos (the DIE's attributes are already read)."""
        depth = 1
        while depth:
            if pos >= unit.end:
                raise DwarfFormatError(f"children of a DIE run past the end of the unit at "
                                       f".debug_info+{unit.offset:#x}")
            ab, attrs, after = self.die(unit, pos)
            if ab is None:
                depth -= 1
                pos = after
                continue
            if ab.children:
                sib = attrs.get(F.At.sibling) if ab.sibling_index >= 0 else None
                if sib is not None and after < sib <= unit.end:
                    pos = sib
                    continue
                depth += 1
            pos = after
        return pos

def _cstring(buf: bytes, offset: int, section: str) -> str:
    end = buf.find(b"\0", offset)
    if offset < 0 or offset >= len(buf) or end < 0:
        raise DwarfFormatError(f"string offset {offset:#x} is outside {section} ({len(buf)} bytes)")
    return buf[offset:end].decode("utf-8", "replace")
