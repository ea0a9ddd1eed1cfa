"""Reading files: relocatable objects against pyelftools, separate debug files, and the persistent index."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tapkit.debuginfo import DebuginfoError, files, open_debuginfo
from tapkit.debuginfo.dwarf import DwarfSections
from tapkit.debuginfo.elf import ElfFile
from tapkit.debuginfo.files import index_path
from tapkit.debuginfo.formats import At
from tests.debuginfo.conftest import Builds, build_id


def _our_dies(path: Path) -> list[tuple[int, int, object, object]]:
    """(offset, tag, name, low_pc) of every DIE, read linearly with tapkit's decoder; a relocatable
    file's addresses are turned back into section offsets, which is what pyelftools reports."""
    elf = ElfFile(str(path))
    sections = DwarfSections(elf)
    bases = sorted((base, base + elf.sections[index].size) for index, base in elf.section_bases().items())

    def section_offset(value: object) -> object:
        if isinstance(value, int):
            for start, end in bases:
                if start <= value < end:
                    return value - start
        return value

    out = []
    for unit in sections.units():
        pos = unit.die_offset
        while pos < unit.end:
            off = pos
            ab, attrs, pos = sections.die(unit, pos)
            if ab is not None:
                out.append((off, ab.tag, attrs.get(At.name), section_offset(attrs.get(At.low_pc))))
    return out


def _pyelftools_dies(path: Path) -> list[tuple[int, int, object, object]]:
    from elftools.dwarf.enums import ENUM_DW_TAG
    from elftools.elf.elffile import ELFFile

    out = []
    with open(path, "rb") as fh:
        dwarf = ELFFile(fh).get_dwarf_info()
        for cu in dwarf.iter_CUs():
            for die in cu.iter_DIEs():
                if die.is_null():
                    continue
                name = die.attributes.get("DW_AT_name")
                low = die.attributes.get("DW_AT_low_pc")
                out.append((die.offset, ENUM_DW_TAG[die.tag], name.value.decode() if name else None,
                            low.value if low else None))
    return out


@pytest.mark.parametrize("variant", ["obj", "dw4", "o2"])
def test_die_decoding_and_relocation_agree_with_pyelftools(builds: Builds, variant: str) -> None:
    path = getattr(builds, variant)
    ours, theirs = _our_dies(path), _pyelftools_dies(path)
    assert len(ours) > 200
    assert ours == theirs


def test_relocatable_object_addresses_are_section_relative(builds: Builds) -> None:
    info = open_debuginfo(builds.obj)
    assert info.meta["elf_type"] == 1
    walk = info.functions("walk")[0]
    assert walk.low_pc is not None and walk.high_pc is not None and walk.low_pc < walk.high_pc < 0x10000
    assert [p.name for p in walk.params] == ["head", "limit"]
    assert walk.params[0].location is not None and walk.params[0].location.ranges


def test_separate_debug_file_by_debuglink_and_by_build_id(builds: Builds) -> None:
    from tapkit.debuginfo import resolve

    with pytest.raises(DebuginfoError):
        DwarfSections(ElfFile(str(builds.stripped)))
    by_link = resolve(str(builds.stripped))
    assert by_link.path == str(builds.stripped.parent / builds.debug_file.name)
    assert by_link.binary == str(builds.stripped) and by_link.format == "dwarf"
    by_id = resolve(str(builds.stripped_by_id), debug_roots=[str(builds.debug_root)])
    bid = build_id(builds.dw5)
    assert by_id.path == str(builds.debug_root / ".build-id" / bid[:2] / f"{bid[2:]}.debug")
    info = open_debuginfo(by_id.path)
    assert info.build_id == bid
    assert [p.name for p in info.functions("walk")[0].params] == ["head", "limit"]
    with pytest.raises(DebuginfoError) as err:
        resolve(str(builds.stripped_by_id), debug_roots=[str(builds.dir / "nowhere")])
    assert "has no DWARF debug information" in str(err.value) and str(builds.stripped_by_id) in str(err.value)


def test_index_is_built_once_and_rebuilt_when_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               builds: Builds) -> None:
    monkeypatch.setenv("TAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    copy = tmp_path / "prog"
    shutil.copy(builds.dw5, copy)
    first = open_debuginfo(copy)
    db = index_path(first.build_id or "")
    assert db.exists() and first.db_path == db
    stamp = db.stat().st_mtime_ns
    again = tmp_path / "prog-copy"  # same content elsewhere: the index is reused
    shutil.copy(builds.dw5, again)
    assert open_debuginfo(again).db_path == db and db.stat().st_mtime_ns == stamp
    # Different content under the same build-id (a damaged copy) is indexed again.
    data = bytearray(copy.read_bytes())
    sec = ElfFile(str(copy)).section(".debug_str")
    assert sec is not None
    data[sec.offset + 1] ^= 0x20
    copy.write_bytes(bytes(data))
    os.utime(copy, ns=(1, 1))
    rebuilt = open_debuginfo(copy)
    assert rebuilt.meta["content_hash"] != first.meta["content_hash"]
    # A cache file that is not an index is replaced.
    db.write_bytes(b"not sqlite")
    os.utime(copy, ns=(2, 2))
    assert open_debuginfo(copy).meta["types"] == first.meta["types"]


def test_a_copy_of_an_indexed_file_is_hashed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  builds: Builds) -> None:
    monkeypatch.setenv("TAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    hashed: list[str] = []
    real_hash = files.file_hash

    def counted(file: str) -> str:
        hashed.append(file)
        return real_hash(file)

    monkeypatch.setattr(files, "file_hash", counted)
    original, copy = tmp_path / "prog", tmp_path / "installed-prog"
    shutil.copy(builds.dw5, original)
    shutil.copy(builds.dw5, copy)
    db = open_debuginfo(original).db_path
    hashed.clear()
    assert open_debuginfo(copy).db_path == db and hashed == [str(copy)]
    assert open_debuginfo(copy).db_path == db and hashed == [str(copy)]  # the second time: no hashing
    # the copy changed (same size, new mtime): hashed again, and indexed again since its content differs
    data = bytearray(copy.read_bytes())
    sec = ElfFile(str(copy)).section(".debug_str")
    assert sec is not None
    data[sec.offset + 1] ^= 0x20
    copy.write_bytes(bytes(data))
    os.utime(copy, ns=(3, 3))
    rebuilt = open_debuginfo(copy)
    assert hashed.count(str(copy)) >= 2 and rebuilt.meta["path"] == str(copy)


def test_files_without_debug_information_say_so(tmp_path: Path, builds: Builds) -> None:
    bare = tmp_path / "bare"
    subprocess.run(["objcopy", "--strip-all", str(builds.dw5), str(bare)], check=True)
    with pytest.raises(DebuginfoError) as err:
        open_debuginfo(bare)
    assert str(bare) in str(err.value) and "no debug information" in str(err.value)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(DebuginfoError, match="not an ELF file"):
        open_debuginfo(text)
    with pytest.raises(DebuginfoError, match="cannot read"):
        open_debuginfo(tmp_path / "missing")

