"""What the tracer needs from an executable or shared object on disk: segments, symbols, SDT notes, CFI.

An ElfImage is read once per file (cached by path, device, inode and mtime) and shared by every
process that maps it. Addresses in it are link-time addresses; a process adds its load bias
(LoadedModule.bias): 0 for a non-PIE executable, the mapping base for PIE and shared objects.
"""

from __future__ import annotations

import bisect
import functools
import os
import struct
from dataclasses import dataclass

from tapkit.debuginfo import formats as F
from tapkit.debuginfo.elf import ElfFile
from tapkit.debuginfo.model import DebuginfoError

PT_LOAD = 1
PAGE = 4096
STT_OBJECT, STT_FUNC, STT_GNU_IFUNC = 1, 2, 10
SHT_DYNSYM = 11
NT_STAPSDT = 3


@dataclass(frozen=True, slots=True)
class Segment:
    vaddr: int
    offset: int
    filesz: int
    memsz: int
    flags: int  # PF_X 1, PF_W 2, PF_R 4


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    address: int
    size: int
    kind: int  # STT_FUNC, STT_OBJECT, ...


@dataclass(frozen=True, slots=True)
class SdtNote:
    """One STAP_PROBE site of a .note.stapsdt section (addresses link-time, adjusted for .stapsdt.base)."""

    provider: str
    name: str
    pc: int
    semaphore: int  # 0 when the marker has no semaphore
    args: str  # e.g. "-4@%edi 8@-16(%rbp)"


@dataclass(frozen=True, slots=True)
class CfiSection:
    """.eh_frame or .debug_frame bytes and the address the first byte has (0 for .debug_frame)."""

    name: str
    data: bytes
    address: int


class ElfImage:
    """One ELF file on disk. Build with ElfImage.load(path) (cached)."""

    def __init__(self, path: str) -> None:
        self.path = path
        elf = ElfFile(path)
        try:
            if elf.elf_class != F.ELFCLASS64 or elf.machine != 62:
                raise DebuginfoError(path, f"live probes support x86_64 ELF files only (this one is {elf.arch})")
            self.type = elf.type
            self.entry = elf.entry
            self.segments = _segments(path)
            self.functions, self.objects, names = _symbols(elf)
            self.sdt_notes = _sdt_notes(elf)
            self.cfi = tuple(CfiSection(name, elf.contents(sec), sec.addr if name == ".eh_frame" else 0)
                             for name in (".eh_frame", ".debug_frame")
                             if (sec := elf.section(name)) is not None and sec.type != F.SHT_NOBITS)
            text = elf.section(".text")
            self.text_range = (text.addr, text.addr + text.size) if text is not None else (0, 0)
        finally:
            elf.close()
        self._func_starts = [s.address for s in self.functions]
        self.by_name: dict[str, Symbol] = names

        low = min((s.vaddr for s in self.segments), default=0)
        high = max((s.vaddr + s.memsz for s in self.segments), default=0)
        self.span = (low & ~(PAGE - 1), high)

    @staticmethod
    def load(path: str) -> ElfImage:
        st = os.stat(path)
        return _load(os.path.realpath(path), st.st_dev, st.st_ino, st.st_mtime_ns)

    @property
    def pie(self) -> bool:
        """Whether the file is position independent (an ET_DYN: PIE executable or shared object)."""
        return bool(self.type == F.ET_DYN)

    def bias_for(self, map_start: int, map_offset: int) -> int | None:
        """The load bias of a mapping of this file that starts at map_start with file offset map_offset."""
        for seg in self.segments:
            page_off = seg.offset & ~(PAGE - 1)
            if page_off <= map_offset < seg.offset + max(seg.filesz, 1):
                vaddr_at_start = (seg.vaddr & ~(PAGE - 1)) + (map_offset - page_off)
                return map_start - vaddr_at_start
        return None

    def nearest_function(self, address: int) -> tuple[Symbol, int] | None:
        """The function symbol at or below address and its size as stap's runtime reckons it: the distance
        to the next function symbol (0 for the last), whatever st_size says (runtime/sym.c)."""
        i = bisect.bisect_right(self._func_starts, address) - 1
        if i < 0:
            return None
        sym = self.functions[i]
        nxt = bisect.bisect_right(self._func_starts, sym.address)
        size = self._func_starts[nxt] - sym.address if nxt < len(self._func_starts) else 0
        return sym, size


@functools.lru_cache(maxsize=64)
def _load(path: str, dev: int, ino: int, mtime: int) -> ElfImage:
    return ElfImage(path)


def _segments(path: str) -> tuple[Segment, ...]:
    with open(path, "rb") as f:
        head = f.read(64)
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    out = []
    for i in range(phnum):
        ptype, flags, offset, vaddr, _paddr, filesz, memsz, _align = struct.unpack_from("<IIQQQQQQ", table,
                                                                                       i * phentsize)
        if ptype == PT_LOAD:
            out.append(Segment(vaddr, offset, filesz, memsz, flags))
    return tuple(out)


def _symbols(elf: ElfFile) -> tuple[list[Symbol], list[Symbol], dict[str, Symbol]]:
    """Defined function symbols (one name per address: global before weak before local, then table
    order) and object symbols, sorted by address: .symtab when present, else .dynsym."""
    table = next((s for s in elf.sections if s.type == F.SHT_SYMTAB), None)
    if table is None:
        table = next((s for s in elf.sections if s.type == SHT_DYNSYM), None)
    if table is None or table.link >= len(elf.sections):
        return [], [], {}
    strtab = elf.raw(elf.sections[table.link])
    sym = elf.structs["sym"]
    data = elf.raw(table)
    funcs: dict[int, tuple[int, Symbol]] = {}
    objs: dict[tuple[int, str], Symbol] = {}
    names: dict[str, Symbol] = {}
    for name_off, info, _other, shndx, value, size in sym.iter_unpack(data[:len(data) - len(data) % sym.size]):
        kind, binding = info & 0xF, info >> 4
        if shndx in (F.SHN_UNDEF, F.SHN_ABS) or kind not in (STT_FUNC, STT_GNU_IFUNC, STT_OBJECT) or not name_off:
            continue
        end = strtab.find(b"\0", name_off)
        symbol = Symbol(strtab[name_off:end].decode("utf-8", "replace"), value, size, kind)
        names.setdefault(symbol.name, symbol)
        if kind == STT_OBJECT:
            objs.setdefault((value, symbol.name), symbol)
            continue
        rank = _BINDING_RANK.get(binding, 3)
        if value not in funcs or rank < funcs[value][0]:
            funcs[value] = (rank, symbol)
    return ([s for _, (_, s) in sorted(funcs.items())],
            sorted(objs.values(), key=lambda s: (s.address, -s.size)), names)


_BINDING_RANK = {1: 0, 2: 1, 0: 2}  # STB_GLOBAL, STB_WEAK, STB_LOCAL


def _sdt_notes(elf: ElfFile) -> tuple[SdtNote, ...]:
    notes = []
    base_sec = elf.section(".stapsdt.base")
    for name, ntype, desc in elf.notes():
        if name != b"stapsdt" or ntype != NT_STAPSDT or len(desc) < 24:
            continue
        pc, base, sem = struct.unpack_from("<QQQ", desc, 0)
        parts = desc[24:].split(b"\0")
        if len(parts) < 3:
            continue
        # Prelinking moves .stapsdt.base; the note keeps the link-time base, so shift by the difference.
        shift = base_sec.addr - base if base_sec is not None and base else 0
        notes.append(SdtNote(parts[0].decode(errors="replace"), parts[1].decode(errors="replace"), pc + shift,
                             sem + shift if sem else 0, parts[2].decode(errors="replace")))
    return tuple(notes)
