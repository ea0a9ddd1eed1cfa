"""A small ELF reader: headers, sections, notes (build-id), .gnu_debuglink, symbols and bulk relocation.

Everything is bounds-checked: a damaged file raises DebuginfoError naming the file and the
record that does not fit, never IndexError or struct.error.
"""

from __future__ import annotations

import itertools
import operator
import os
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable

from tapkit.debuginfo import formats as F
from tapkit.debuginfo.model import DebuginfoError
from tapkit.values import Value


class Section(Value):
    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int
    addralign: int = 1


class Relocations:
    """Relocated values by offset: sorted offsets and their values, looked up by bisection."""

    __slots__ = ("offsets", "values")
    EMPTY: Relocations

    def __init__(self, offsets: array[int], values: array[int]) -> None:
        self.offsets = offsets
        self.values = values

    def get(self, offset: int, default: int) -> int:
        i = bisect_left(self.offsets, offset)
        if i < len(self.offsets) and self.offsets[i] == offset:
            return self.values[i]
        return default

    def __len__(self) -> int:
        return len(self.offsets)


Relocations.EMPTY = Relocations(array("Q"), array("q"))


class Blob(Value):
    """Section bytes plus the relocations the loader would apply (none when the file is linked)."""

    data: bytes
    relocs: Relocations

    def word(self, offset: int, size: int, little: bool) -> int:
        if self.relocs:
            value = self.relocs.get(offset, -1)
            if value != -1:
                return value
        if offset + size > len(self.data):
            raise IndexError(offset)
        return int.from_bytes(self.data[offset:offset + size], "little" if little else "big")


class ElfFile:
    """One ELF file, open read-only. Headers and sections are read (pread) as needed, never mapped:
    a mapping would keep every page touched resident on top of the copies the readers make."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDONLY)
            self.size = os.fstat(self._fd).st_size
        except OSError as exc:
            raise DebuginfoError(path, f"cannot read: {exc.strerror or exc}") from None
        try:
            self._parse_header()
            self._parse_sections()
        except BaseException:
            self.close()
            raise

    # --- structure ---------------------------------------------------------------------------------

    def fail(self, message: str) -> DebuginfoError:
        return DebuginfoError(self.path, message)

    def _bytes(self, offset: int, length: int, what: str) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise self.fail(f"{what} (offset {offset:#x}, {length} bytes) extends beyond the end of the file "
                            f"({self.size} bytes); the file is truncated or damaged")
        try:
            data = os.pread(self._fd, length, offset)
        except OSError as exc:
            raise self.fail(f"cannot read {what}: {exc.strerror or exc}") from None
        if len(data) != length:
            raise self.fail(f"{what} is cut short: the file changed while it was read")
        return data

    def _parse_header(self) -> None:
        ident = self._bytes(0, 16, "ELF identification") if self.size >= 16 else b""
        if ident[:4] != F.ELF_MAGIC:
            raise self.fail("not an ELF file (bad magic number)")
        self.elf_class, self.data_encoding = ident[4], ident[5]
        if self.elf_class not in (F.ELFCLASS32, F.ELFCLASS64):
            raise self.fail(f"unknown ELF class {self.elf_class}")
        if self.data_encoding not in (F.ELFDATA2LSB, F.ELFDATA2MSB):
            raise self.fail(f"unknown ELF data encoding {self.data_encoding}")
        self.little = self.data_encoding == F.ELFDATA2LSB
        self.address_size = 8 if self.elf_class == F.ELFCLASS64 else 4
        self.structs = F.elf_structs(self.elf_class, self.data_encoding)
        ehdr = self.structs["ehdr"]
        fields = ehdr.unpack(self._bytes(16, ehdr.size, "ELF header"))
        (self.type, self.machine, _version, self.entry, _phoff, self.shoff, _flags, _ehsize, _phentsize,
         _phnum, self.shentsize, self.shnum, self.shstrndx) = fields
        self.arch = F.EM_NAMES.get(self.machine, f"machine {self.machine}")

    def _parse_sections(self) -> None:
        shdr = self.structs["shdr"]
        if self.shoff == 0:
            self.sections: list[Section] = []
            self.by_name: dict[str, Section] = {}
            return
        if self.shentsize != shdr.size:
            raise self.fail(f"section header entry size is {self.shentsize}, expected {shdr.size}")
        count, strndx = self.shnum, self.shstrndx
        if count == 0:  # more than 0xff00 sections: the real count is in section 0's sh_size
            first = shdr.unpack(self._bytes(self.shoff, shdr.size, "section header 0"))
            count = first[5]
            if strndx == F.SHN_XINDEX:
                strndx = first[6]
        if count > self.size // shdr.size:
            raise self.fail(f"section header count {count} cannot fit in the file")
        table = self._bytes(self.shoff, count * shdr.size, "section header table")
        raw = [shdr.unpack_from(table, i * shdr.size) for i in range(count)]
        rows = [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[9], r[8]) for r in raw]
        if not 0 <= strndx < count:
            raise self.fail(f"section name table index {strndx} is not a section (there are {count})")
        _, stype, _, _, soff, ssize, *_ = rows[strndx]
        names = b"" if stype == F.SHT_NOBITS else self._bytes(soff, ssize, "section name table")
        sections = []
        for index, (name_off, stype, flags, addr, off, size, link, info, entsize, align) in enumerate(rows):
            end = names.find(b"\0", name_off)
            if name_off >= len(names) and index:
                raise self.fail(f"section {index}: name offset {name_off:#x} is outside the section name table")
            name = names[name_off:end if end >= 0 else len(names)].decode("utf-8", "replace")
            if stype != F.SHT_NOBITS and off + size > self.size:
                raise self.fail(f"section {name or index} (offset {off:#x}, {size} bytes) extends beyond the end "
                                f"of the file ({self.size} bytes); the file is truncated or damaged")
            sections.append(Section(index, name, stype, flags, addr, off, size, link, info, entsize, align))
        self.sections = sections
        self.by_name = {}
        for sec in sections:
            self.by_name.setdefault(sec.name, sec)

    # --- contents ----------------------------------------------------------------------------------

    def section(self, name: str) -> Section | None:
        return self.by_name.get(name)

    def raw(self, sec: Section) -> bytes:
        if sec.type == F.SHT_NOBITS:
            return b""
        return self._bytes(sec.offset, sec.size, f"section {sec.name}")

    def contents(self, sec: Section) -> bytes:
        """Section bytes, decompressed when SHF_COMPRESSED or .zdebug_*."""
        data = self.raw(sec)
        try:
            if sec.flags & F.SHF_COMPRESSED:
                chdr = self.structs["chdr"]
                if len(data) < chdr.size:
                    raise self.fail(f"section {sec.name}: compression header is truncated")
                ch_type = chdr.unpack_from(data)[0]
                if ch_type != F.ELFCOMPRESS_ZLIB:
                    raise self.fail(f"section {sec.name}: unsupported compression type {ch_type} (only zlib)")
                return zlib.decompress(data[chdr.size:])
            if sec.name.startswith(".zdebug") and data[:4] == b"ZLIB":
                return zlib.decompress(data[12:])
        except zlib.error as exc:
            raise self.fail(f"section {sec.name}: cannot decompress: {exc}") from None
        return data

    def notes(self) -> list[tuple[bytes, int, bytes]]:
        """(name, type, descriptor) of every note in every SHT_NOTE section."""
        nhdr = self.structs["nhdr"]
        out = []
        for sec in self.sections:
            if sec.type != F.SHT_NOTE:
                continue
            data = self.raw(sec)
            pos = 0
            while pos + nhdr.size <= len(data):
                namesz, descsz, ntype = nhdr.unpack_from(data, pos)
                pos += nhdr.size
                name_end = pos + namesz
                desc_start = name_end + (-namesz % 4)
                desc_end = desc_start + descsz
                if desc_end > len(data):
                    raise self.fail(f"note in section {sec.name} at offset {pos - nhdr.size:#x} is truncated")
                out.append((data[pos:name_end].rstrip(b"\0"), ntype, data[desc_start:desc_end]))
                pos = desc_end + (-descsz % 4)
        return out

    def build_id(self) -> str | None:
        for name, ntype, desc in self.notes():
            if name == b"GNU" and ntype == F.NT_GNU_BUILD_ID and desc:
                return desc.hex()
        return None

    def debuglink(self) -> str | None:
        """The file name .gnu_debuglink points at (its CRC is not checked; build-ids are)."""
        sec = self.section(".gnu_debuglink")
        if sec is None:
            return None
        data = self.raw(sec)
        end = data.find(b"\0")
        return data[:end].decode("utf-8", "replace") if end > 0 else None

    def debugaltlink(self) -> tuple[str, str]:
        """(file name, build-id) of the dwz supplementary file this file's DWARF refers to."""
        sec = self.section(".gnu_debugaltlink")
        if sec is None:
            return "", ""
        data = self.raw(sec)
        end = data.find(b"\0")
        if end < 0:
            raise self.fail("section .gnu_debugaltlink has no terminated file name")
        return data[:end].decode("utf-8", "replace"), data[end + 1:].hex()

    def has_dwarf(self) -> bool:
        sec = self.section(".debug_info") or self.section(".zdebug_info")
        return sec is not None and sec.type != F.SHT_NOBITS and sec.size > 0

    # --- relocation --------------------------------------------------------------------------------

    def section_bases(self) -> dict[int, int]:
        """Where a loader would put each allocated section of a relocatable file (section index -> address).

        Kernel module code is spread over .text, .text.unlikely, .init.text...; laying the sections
        out one after another gives every function one unambiguous address, and keeps .text at 0 so
        .text addresses equal the offsets stap and objdump show.
        """
        bases: dict[int, int] = {}
        if self.type != F.ET_REL:
            return bases
        address = 0
        for sec in self.sections:
            if sec.flags & F.SHF_ALLOC and sec.size:
                align = sec.addralign if 0 < sec.addralign <= 1 << 16 else 1
                address = (address + align - 1) // align * align
                bases[sec.index] = address
                address += sec.size
        return bases

    def symbol_values(self) -> list[int]:
        """Symbol values, with the section bases added for a relocatable file."""
        symtab = next((s for s in self.sections if s.type == F.SHT_SYMTAB), None)
        if symtab is None:
            return []
        sym = self.structs["sym"]
        data = self.raw(symtab)
        value_at, shndx_at = (1, 5) if self.elf_class == F.ELFCLASS32 else (4, 3)
        rows = sym.iter_unpack(data[:len(data) - len(data) % sym.size])
        bases = self.section_bases()
        if not bases:
            return [row[value_at] for row in rows]
        return [row[value_at] + bases.get(row[shndx_at], 0) for row in rows]

    def relocations_for(self, target: Section, symbols: list[int]) -> Relocations:
        """The relocated value at each offset of target that a RELA entry applies to.

        Applied to the values the readers see instead of patching bytes, and kept in two sorted
        arrays rather than a dict: openafs.ko has ~470,000 relocations for .debug_info alone. Most
        point at section symbols (value 0), so value = addend for them, taken in bulk.
        """
        if self.type != F.ET_REL:
            return Relocations.EMPTY
        widths = F.RELOC_BY_MACHINE.get(self.machine)
        sym_shift = 32 if self.elf_class == F.ELFCLASS64 else 8
        type_mask = (1 << sym_shift) - 1
        parts: list[tuple[array[int], array[int]]] = []
        for sec in self.sections:
            if sec.type != F.SHT_RELA or sec.info != target.index or sec.size == 0:
                continue
            if widths is None:
                raise self.fail(f"relocations for {self.arch} are not supported (section {sec.name})")
            offsets, infos, values = self._rela_columns(sec)
            if not offsets:
                continue
            # Entries share a handful of (symbol, type) infos: check each distinct info once.
            resolved: dict[int, tuple[int, int]] = {}
            for info in set(infos):
                rtype, sym = info & type_mask, info >> sym_shift
                width = 0 if rtype in F.RELOC_NONE else widths.get(rtype)
                if width is None:
                    raise self.fail(f"section {sec.name}: unsupported relocation type {rtype}")
                if sym >= len(symbols):
                    raise self.fail(f"section {sec.name}: relocation names symbol {sym}, "
                                    f"but the symbol table has {len(symbols)}")
                resolved[info] = (width, symbols[sym])
            if max(offsets) + 4 > target.size:
                raise self.fail(f"section {sec.name}: relocation offset {max(offsets):#x} is outside {target.name} "
                                f"({target.size} bytes)")
            # Entries against symbols with a value (or with negative addends) need the full formula;
            # find them with C-level iteration, there are few.
            special = {info for info, (width, base) in resolved.items() if width == 0 or base}
            picks: Iterable[int] = ()
            if min(values) < 0:
                picks = range(len(infos))
            elif special:
                picks = itertools.compress(range(len(infos)), map(special.__contains__, infos))
            dropped = []
            for i in picks:
                width, base = resolved[infos[i]]
                if width == 0:
                    dropped.append(i)
                else:
                    values[i] = (base + values[i]) & ((1 << (8 * width)) - 1) & 0x7FFFFFFFFFFFFFFF
            for i in reversed(dropped):
                del offsets[i]
                del values[i]
            parts.append((offsets, values))
        if not parts:
            return Relocations.EMPTY
        offsets, values = parts[0]
        for more_offsets, more_values in parts[1:]:
            offsets.extend(more_offsets)
            values.extend(more_values)
        if any(map(operator.gt, offsets, itertools.islice(offsets, 1, None))):
            order = sorted(range(len(offsets)), key=offsets.__getitem__)
            offsets = array("Q", (offsets[i] for i in order))
            values = array("q", (values[i] for i in order))
        return Relocations(offsets, values)

    def _rela_columns(self, sec: Section) -> tuple[array[int], list[int] | array[int], array[int]]:
        """(offsets, infos, addends) of a RELA section, as arrays (no Python int per entry)."""
        rela = self.structs["rela"]
        data = self.raw(sec)
        n = len(data) // rela.size
        data = data[:n * rela.size]
        native = (sys.byteorder == "little") == self.little
        if self.elf_class == F.ELFCLASS64 and native:
            # Strided views of the raw entries, copied once into compact columns.
            offsets, addends = array("Q"), array("q")
            offsets.frombytes(memoryview(data).cast("Q")[0::3].tobytes())
            addends.frombytes(memoryview(data).cast("q")[2::3].tobytes())
            infos = array("Q")
            infos.frombytes(memoryview(data).cast("Q")[1::3].tobytes())
            return offsets, infos, addends
        rows = list(rela.iter_unpack(data))
        return array("Q", (r[0] for r in rows)), [r[1] for r in rows], array("q", (r[2] for r in rows))

    def blob(self, name: str, symbols: list[int] | None = None) -> Blob | None:
        """A debug section's contents with its relocations (None when the file lacks it)."""
        sec = self.section(name) or self.section(".z" + name[1:])
        if sec is None or sec.type == F.SHT_NOBITS:
            return None
        data = self.contents(sec)
        relocs = self.relocations_for(sec, symbols if symbols is not None else self.symbol_values())
        if relocs and relocs.offsets[-1] >= len(data):
            raise self.fail(f"a relocation for {name} points outside the section")
        return Blob(data, relocs)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)


def read_build_id(path: str) -> str | None:
    """The GNU build-id of an ELF file as hex, without reading more than its headers and notes."""
    elf = ElfFile(path)
    try:
        return elf.build_id()
    finally:
        elf.close()

