"""DWARF tables next to the DIEs: the line table's file names (for decl_file), range lists
(.debug_rnglists, .debug_ranges) and location lists (.debug_loclists, .debug_loc)."""

from __future__ import annotations

import struct

from tapkit.debuginfo import formats as F
from tapkit.debuginfo.dwarf import DwarfFormatError, DwarfSections, Unit, uleb
from tapkit.debuginfo.elf import Blob

F_ = F.Form


def file_names(s: DwarfSections, unit: Unit, stmt_list: int, comp_dir: str, cu_name: str) -> list[str]:
    """Paths of the line table's files, indexed the way DW_AT_decl_file counts (0 = the unit in v5)."""
    blob = s.line
    buf = blob.data
    pos = stmt_list
    e = s.endian
    length = struct.unpack_from(e + "I", buf, pos)[0]
    pos += 4
    osz = 4
    if length == 0xFFFFFFFF:
        length = struct.unpack_from(e + "Q", buf, pos)[0]
        pos += 8
        osz = 8
    version = struct.unpack_from(e + "H", buf, pos)[0]
    pos += 2
    if version >= 5:
        pos += 2  # address_size, segment_selector_size
    pos += osz  # header_length
    pos += 1  # minimum_instruction_length
    if version >= 4:
        pos += 1  # maximum_operations_per_instruction
    pos += 3  # default_is_stmt, line_base, line_range
    opcode_base = buf[pos]
    pos += 1 + max(opcode_base - 1, 0)
    if version >= 5:
        dirs, pos = _v5_entries(s, unit, buf, pos, osz)
        files, pos = _v5_entries(s, unit, buf, pos, osz)
        dir_names = [str(d.get(F.LNCT_path, "")) for d in dirs]
        out = []
        for f in files:
            name = str(f.get(F.LNCT_path, ""))
            di = f.get(F.LNCT_directory_index, 0)
            d = dir_names[di] if isinstance(di, int) and 0 <= di < len(dir_names) else ""
            out.append(_join(comp_dir, d, name))
        return out
    dir_names = [comp_dir]
    while buf[pos] != 0:
        end = buf.index(b"\0", pos)
        dir_names.append(buf[pos:end].decode("utf-8", "replace"))
        pos = end + 1
    pos += 1
    out = [_join(comp_dir, "", cu_name)]
    while buf[pos] != 0:
        end = buf.index(b"\0", pos)
        name = buf[pos:end].decode("utf-8", "replace")
        pos = end + 1
        di, pos = uleb(buf, pos)
        _, pos = uleb(buf, pos)
        _, pos = uleb(buf, pos)
        out.append(_join(comp_dir, dir_names[di] if di < len(dir_names) else "", name))
    return out

def _v5_entries(s: DwarfSections, unit: Unit, buf: bytes, pos: int, osz: int) -> tuple[list[dict[int, object]], int]:
    nformats = buf[pos]
    pos += 1
    formats = []
    for _ in range(nformats):
        ctype, pos = uleb(buf, pos)
        form, pos = uleb(buf, pos)
        formats.append((ctype, form))
    count, pos = uleb(buf, pos)
    entries = []
    for _ in range(count):
        entry: dict[int, object] = {}
        for ctype, form in formats:
            value: object
            if form in (F_.line_strp, F_.strp):
                raw = s.line.word(pos, osz, s.little)
                value = s.line_string(raw) if form == F_.line_strp else s.string(raw)
                pos += osz
            elif form == F_.string:
                end = buf.index(b"\0", pos)
                value = buf[pos:end].decode("utf-8", "replace")
                pos = end + 1
            elif form in (F_.udata,):
                value, pos = uleb(buf, pos)
            elif form in (F_.data1, F_.data2, F_.data4, F_.data8, F_.data16):
                width = {F_.data1: 1, F_.data2: 2, F_.data4: 4, F_.data8: 8, F_.data16: 16}[form]
                value = int.from_bytes(buf[pos:pos + width], "little" if s.little else "big")
                pos += width
            elif form == F_.block:
                n, pos = uleb(buf, pos)
                value = buf[pos:pos + n]
                pos += n
            elif form in (F_.strx, F_.strx1, F_.strx2, F_.strx4):
                if form == F_.strx:
                    idx, pos = uleb(buf, pos)
                else:
                    width = {F_.strx1: 1, F_.strx2: 2, F_.strx4: 4}[form]
                    idx = int.from_bytes(buf[pos:pos + width], "little" if s.little else "big")
                    pos += width
                value = s.strx(unit, idx)
            else:
                raise DwarfFormatError(f"line table entry uses unsupported form {form:#x}")
            entry[ctype] = value
        entries.append(entry)
    return entries, pos

def ranges_of(s: DwarfSections, unit: Unit, value: int, form: int) -> list[tuple[int, int]]:
    if unit.version >= 5:
        offset = _list_offset(s, s.rnglists, unit, unit.rnglists_base, value, form)
        return [(lo, hi) for lo, hi, _ in _v5_list(s, s.rnglists, unit, offset, with_expr=False)]
    return [(lo, hi) for lo, hi, _ in _v4_list(s, s.ranges, unit, value, with_expr=False)]

def location_list(s: DwarfSections, unit: Unit, value: int, form: int) -> list[tuple[int, int, bytes]]:
    if unit.version >= 5:
        offset = _list_offset(s, s.loclists, unit, unit.loclists_base, value, form)
        return _v5_list(s, s.loclists, unit, offset, with_expr=True)
    return _v4_list(s, s.loc, unit, value, with_expr=True)

def _list_offset(s: DwarfSections, blob: Blob, unit: Unit, base: int, value: int, form: int) -> int:
    if form in (F_.rnglistx, F_.loclistx):
        return base + blob.word(base + value * unit.offset_size, unit.offset_size, s.little)
    return value

def _v5_list(s: DwarfSections, blob: Blob, unit: Unit, pos: int, with_expr: bool) -> list[tuple[int, int, bytes]]:
    buf, little, asz = blob.data, s.little, unit.address_size
    base = unit.low_pc
    out: list[tuple[int, int, bytes]] = []
    while True:
        kind = buf[pos]
        pos += 1
        if with_expr:
            if kind == F.LLE_GNU_view_pair:
                _, pos = uleb(buf, pos)
                _, pos = uleb(buf, pos)
                continue
            if kind == F.LLE_default_location:
                n, pos = uleb(buf, pos)
                out.append((0, (1 << (8 * asz)) - 1, buf[pos:pos + n]))
                pos += n
                continue
            kind = F.LLE_AS_RLE.get(kind, -1)
        if kind == F.RLE_end_of_list:
            return out
        lo = hi = 0
        if kind == F.RLE_base_addressx:
            idx, pos = uleb(buf, pos)
            base = s.addrx(unit, idx)
            continue
        if kind == F.RLE_base_address:
            base = blob.word(pos, asz, little)
            pos += asz
            continue
        if kind == F.RLE_startx_endx:
            a, pos = uleb(buf, pos)
            b, pos = uleb(buf, pos)
            lo, hi = s.addrx(unit, a), s.addrx(unit, b)
        elif kind == F.RLE_startx_length:
            a, pos = uleb(buf, pos)
            n, pos = uleb(buf, pos)
            lo = s.addrx(unit, a)
            hi = lo + n
        elif kind == F.RLE_offset_pair:
            a, pos = uleb(buf, pos)
            b, pos = uleb(buf, pos)
            lo, hi = base + a, base + b
        elif kind == F.RLE_start_end:
            lo, hi = blob.word(pos, asz, little), blob.word(pos + asz, asz, little)
            pos += 2 * asz
        elif kind == F.RLE_start_length:
            lo = blob.word(pos, asz, little)
            pos += asz
            n, pos = uleb(buf, pos)
            hi = lo + n
        else:
            section = ".debug_loclists" if with_expr else ".debug_rnglists"
            raise DwarfFormatError(f"unknown list entry kind {buf[pos - 1]} at {section}+{pos - 1:#x}")
        expr = b""
        if with_expr:
            n, pos = uleb(buf, pos)
            expr = buf[pos:pos + n]
            pos += n
        out.append((lo, hi, expr))

def _v4_list(s: DwarfSections, blob: Blob, unit: Unit, pos: int, with_expr: bool) -> list[tuple[int, int, bytes]]:
    buf, little, asz = blob.data, s.little, unit.address_size
    top = (1 << (8 * asz)) - 1
    base = unit.low_pc
    out: list[tuple[int, int, bytes]] = []
    while True:
        lo, hi = blob.word(pos, asz, little), blob.word(pos + asz, asz, little)
        pos += 2 * asz
        if lo == 0 and hi == 0:
            return out
        if lo == top:
            base = hi
            continue
        expr = b""
        if with_expr:
            n = int.from_bytes(buf[pos:pos + 2], "little" if little else "big")
            expr = buf[pos + 2:pos + 2 + n]
            pos += 2 + n
        out.append((base + lo, base + hi, expr))


def _join(comp_dir: str, directory: str, name: str) -> str:
    if name.startswith("/"):
        return name
    if directory and not directory.startswith("/") and comp_dir:
        directory = comp_dir.rstrip("/") + "/" + directory
    elif not directory:
        directory = comp_dir
    return (directory.rstrip("/") + "/" + name) if directory else name
