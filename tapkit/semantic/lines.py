"""Which source lines have code: the DWARF line tables, for `.statement("f@file.c:LINE")` probes.

stap refuses a statement probe on a line without line records ("no line records for …").
tapkit.debuginfo indexes types and functions but not line programs, so this adapter decodes
.debug_line itself (over the debuginfo package's relocated sections) into the set of lines each
file has code on, cached per file.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from functools import lru_cache
from typing import TYPE_CHECKING

from tapkit.cache import cache_dir, content_hash, store

if TYPE_CHECKING:
    from tapkit.debuginfo.dwarf import DwarfSections
    from tapkit.debuginfo.elf import Blob

LINES_VERSION = "1"

# DWARF 5 forms that can appear in line table headers
_FORM_STRING, _FORM_LINE_STRP, _FORM_STRP, _FORM_UDATA = 0x08, 0x1F, 0x0E, 0x0F
_FORM_DATA1, _FORM_DATA2, _FORM_DATA4, _FORM_DATA8, _FORM_DATA16, _FORM_BLOCK = 0x0B, 0x05, 0x06, 0x07, 0x1E, 0x09
_LNCT_PATH, _LNCT_DIRECTORY_INDEX = 1, 2


def _uleb(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def _sleb(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos


def _cstr(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("utf-8", "replace"), end + 1


def line_records(path: str) -> dict[str, set[int]]:
    """file name (as the line table spells it, with its directory) -> lines that have records."""
    st = os.stat(path)
    return {k: set(v) for k, v in _line_records(os.path.realpath(path), st.st_size, st.st_mtime_ns).items()}


@lru_cache(maxsize=8)
def _line_records(path: str, size: int, mtime: int) -> dict[str, tuple[int, ...]]:
    cache = cache_dir("lines") / f"{content_hash(f'{LINES_VERSION}:{path}:{size}:{mtime}')}.json"
    try:
        data = json.loads(cache.read_text())
        return {k: tuple(v) for k, v in data.items()}
    except (OSError, ValueError):
        pass
    out = _decode(path)
    result = {k: tuple(sorted(v)) for k, v in out.items()}
    store(cache, json.dumps(result))
    return result


def _decode(path: str) -> dict[str, set[int]]:
    from tapkit.debuginfo.dwarf import DwarfSections
    from tapkit.debuginfo.elf import ElfFile

    elf = ElfFile(path)
    try:
        sections = DwarfSections(elf)
    finally:
        pass
    blob = sections.line
    buf = blob.data
    e = sections.endian
    out: dict[str, set[int]] = {}
    pos = 0
    while pos + 4 <= len(buf):
        start = pos
        length = struct.unpack_from(e + "I", buf, pos)[0]
        pos += 4
        osz = 4
        if length == 0xFFFFFFFF:
            length = struct.unpack_from(e + "Q", buf, pos)[0]
            pos += 8
            osz = 8
        end = pos + length
        if length == 0 or end > len(buf):
            break
        with contextlib.suppress(IndexError, struct.error, ValueError):  # a damaged program: keep the others
            _program(sections, blob, buf, pos, end, osz, e, out)
        pos = end
        if pos <= start:
            break
    return out


def _program(sections: DwarfSections, blob: Blob, buf: bytes, pos: int, end: int, osz: int, e: str,
             out: dict[str, set[int]]) -> None:
    version = struct.unpack_from(e + "H", buf, pos)[0]
    pos += 2
    if version >= 5:
        pos += 2
    header_length = struct.unpack_from(e + ("I" if osz == 4 else "Q"), buf, pos)[0]
    pos += osz
    program = pos + header_length
    pos += 1  # minimum_instruction_length
    if version >= 4:
        pos += 1
    default_is_stmt = buf[pos]
    line_base = struct.unpack_from("b", buf, pos + 1)[0]
    line_range = buf[pos + 2]
    opcode_base = buf[pos + 3]
    lengths = list(buf[pos + 4: pos + 4 + opcode_base - 1])
    pos += 4 + opcode_base - 1
    files: list[str] = []
    if version >= 5:
        dirs, pos = _entries(sections, blob, buf, pos, osz, e, [])
        files_raw, pos = _entries(sections, blob, buf, pos, osz, e, dirs)
        files = files_raw
    else:
        dirs_v4 = [""]
        while buf[pos] != 0:
            d, pos = _cstr(buf, pos)
            dirs_v4.append(d)
        pos += 1
        files = [""]  # file numbers count from 1 before DWARF 5
        while buf[pos] != 0:
            name, pos = _cstr(buf, pos)
            di, pos = _uleb(buf, pos)
            _, pos = _uleb(buf, pos)
            _, pos = _uleb(buf, pos)
            files.append(os.path.join(dirs_v4[di], name) if di < len(dirs_v4) and dirs_v4[di] else name)
    pos = program
    line, file, is_stmt = 1, 1, default_is_stmt
    while pos < end:
        op = buf[pos]
        pos += 1
        if op >= opcode_base:
            adj = op - opcode_base
            line += line_base + (adj % line_range)
            _emit(out, files, file, line)
        elif op == 0:
            n, pos = _uleb(buf, pos)
            sub = buf[pos] if n else 0
            if sub == 1:
                line, file, is_stmt = 1, 1, default_is_stmt
            elif sub == 3 and version < 5:
                name, _ = _cstr(buf, pos + 1)
                files.append(name)
            pos += n
        elif op == 1:
            _emit(out, files, file, line)
        elif op == 2:
            _, pos = _uleb(buf, pos)
        elif op == 3:
            delta, pos = _sleb(buf, pos)
            line += delta
        elif op == 4:
            file, pos = _uleb(buf, pos)
        elif op == 5:
            _, pos = _uleb(buf, pos)
        elif op == 6:
            is_stmt = not is_stmt
        elif op in (7, 8, 10, 11):
            pass
        elif op == 9:
            pos += 2
        else:
            for _ in range(lengths[op - 1] if op - 1 < len(lengths) else 0):
                _, pos = _uleb(buf, pos)


def _emit(out: dict[str, set[int]], files: list[str], file: int, line: int) -> None:
    if 0 <= file < len(files) and files[file]:
        out.setdefault(files[file], set()).add(line)


def _entries(sections: DwarfSections, blob: Blob, buf: bytes, pos: int, osz: int, e: str,
             dirs: list[str]) -> tuple[list[str], int]:
    nformats = buf[pos]
    pos += 1
    formats = []
    for _ in range(nformats):
        ct, pos = _uleb(buf, pos)
        form, pos = _uleb(buf, pos)
        formats.append((ct, form))
    count, pos = _uleb(buf, pos)
    out = []
    line_str: bytes = sections.line_str
    debug_str: bytes = sections.str
    for _ in range(count):
        name, dir_index = "", 0
        for ct, form in formats:
            value: object = None
            if form == _FORM_STRING:
                value, pos = _cstr(buf, pos)
            elif form in (_FORM_LINE_STRP, _FORM_STRP):
                off = blob.word(pos, osz, e == "<")
                pos += osz
                table = line_str if form == _FORM_LINE_STRP else debug_str
                value = table[off: table.index(b"\0", off)].decode("utf-8", "replace") if off < len(table) else ""
            elif form == _FORM_UDATA:
                value, pos = _uleb(buf, pos)
            elif form in (_FORM_DATA1, _FORM_DATA2, _FORM_DATA4, _FORM_DATA8):
                size = {_FORM_DATA1: 1, _FORM_DATA2: 2, _FORM_DATA4: 4, _FORM_DATA8: 8}[form]
                value = int.from_bytes(buf[pos:pos + size], "little" if e == "<" else "big")
                pos += size
            elif form == _FORM_DATA16:
                pos += 16
            elif form == _FORM_BLOCK:
                n, pos = _uleb(buf, pos)
                pos += n
            else:
                raise ValueError(f"unexpected form {form:#x} in a line table header")
            if ct == _LNCT_PATH and isinstance(value, str):
                name = value
            elif ct == _LNCT_DIRECTORY_INDEX and isinstance(value, int):
                dir_index = value
        if dirs and not name.startswith("/") and 0 <= dir_index < len(dirs):
            name = os.path.join(dirs[dir_index], name)
        out.append(name)
    return out, pos


def has_line(records: dict[str, set[int]], file_pattern: str, lines: range) -> bool:
    """Whether a file the pattern names (a suffix, or a glob) has a record on any of lines."""
    import fnmatch

    for path, recorded in records.items():
        named = (path.endswith("/" + file_pattern) or path == file_pattern or fnmatch.fnmatchcase(path, file_pattern)
                 or fnmatch.fnmatchcase(path, "*/" + file_pattern))
        if named and any(n in recorded for n in lines):
            return True
    return False
