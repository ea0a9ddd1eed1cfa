"""Opening a debuginfo file: find or build its index under the cache dir, then hand out a Debuginfo.

The index of a file lives at cache_dir("debuginfo")/<build-id>-v<FORMAT_VERSION>.sqlite (the
content hash stands in for files without a build-id). A cached index is trusted when the file's
size and mtime match what was indexed, or else its content hash; otherwise it is rebuilt.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tapkit.cache import blake2b, cache_dir, content_hash
from tapkit.debuginfo.elf import ElfFile
from tapkit.debuginfo.index import Debuginfo
from tapkit.debuginfo.model import DebuginfoError, Progress
from tapkit.debuginfo.store import FORMAT_VERSION, open_index, read_meta, write_index

if TYPE_CHECKING:
    from tapkit.debuginfo.indexer import IndexData

HOST_BTF = "/sys/kernel/btf/vmlinux"
DEBUG_ROOTS = ("/usr/lib/debug",)
_BTF_MAGICS = (b"\x9f\xeb", b"\xeb\x9f")
_open_lock = threading.Lock()
_opened: dict[tuple[str, int, int], Debuginfo] = {}


def open_debuginfo(path: str | os.PathLike[str], *, module: str | None = None, progress: Progress | None = None,
                   force: bool = False, jobs: int | None = None) -> Debuginfo:
    """The Debuginfo of an ELF file with DWARF (or a .BTF section) or a raw BTF file, indexing it if needed.

    Opened indexes are shared per process (keyed by path, size and mtime).
    """
    file = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(file)
    except OSError as exc:
        raise DebuginfoError(file, f"cannot read: {exc.strerror or exc}") from None
    memo_key = (file, st.st_size, st.st_mtime_ns)
    with _open_lock:
        if not force and memo_key in _opened:
            return _opened[memo_key]
    name = module or module_name(file)
    with open(file, "rb") as fh:
        head = fh.read(4)
    if head[:2] in _BTF_MAGICS:
        info = _open_btf(file, st, name, progress, force)
    else:
        info = _open_elf(file, st, name, progress, force, jobs)
    with _open_lock:
        _opened[memo_key] = info
    return info


def index_path(key: str) -> Path:
    return cache_dir("debuginfo") / f"{key}-v{FORMAT_VERSION}.sqlite"


def module_name(file: str) -> str:
    """The name stap gives a file: kernel modules by file name with - as _, others by base name."""
    base = os.path.basename(file)
    for suffix in (".ko.xz", ".ko.gz", ".ko.zst", ".ko", ".debug"):
        if base.endswith(suffix):
            return base[: -len(suffix)].replace("-", "_")
    if file == HOST_BTF or base == "vmlinux" or base.startswith("vmlinux-"):
        return "kernel"
    return base


def file_hash(file: str) -> str:
    h = blake2b(digest_size=16)
    with open(file, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _cached(db_path: Path, file: str, st: os.stat_result, module: str) -> Debuginfo | None:
    """The cached index at db_path if it was built from this file's content."""
    if not db_path.exists():
        return None
    try:
        db = open_index(db_path)
        try:
            meta = read_meta(db)
        finally:
            db.close()
    except Exception:  # a damaged cache file is rebuilt, never trusted
        return None
    if meta.get("format_version") != FORMAT_VERSION or meta.get("size") != st.st_size:
        return None
    same_file = meta.get("path") == file and meta.get("mtime_ns") == st.st_mtime_ns
    if not same_file:
        # another copy of the indexed build (an installed module, a test's copy): hashing it (~50 ms for
        # openafs.ko) is done once; an empty marker remembers this path, size and mtime had that content
        stamp = "\0".join([file, str(st.st_size), str(st.st_mtime_ns), str(meta.get("content_hash"))])
        marker = db_path.with_name(f"{db_path.name}.{content_hash(stamp)}.same")
        if not marker.exists():
            if meta.get("content_hash") != file_hash(file):
                return None
            with contextlib.suppress(OSError):
                marker.touch()
    return Debuginfo(db_path, file, module)


def _open_elf(file: str, st: os.stat_result, module: str, progress: Progress | None, force: bool,
              jobs: int | None) -> Debuginfo:
    elf = ElfFile(file)
    try:
        build_id = elf.build_id()
        key = build_id or f"sha-{file_hash(file)}"
        db_path = index_path(key)
        if not force:
            found = _cached(db_path, file, st, module)
            if found is not None:
                return found
        started = time.perf_counter()
        if elf.has_dwarf():
            from tapkit.debuginfo.indexer import index_dwarf  # the reading machinery, only when indexing

            dwz = find_dwz_file(file, *elf.debugaltlink()) if elf.section(".gnu_debugaltlink") else None
            data = index_dwarf(elf, progress, jobs, dwz)
        elif elf.section(".BTF") is not None:
            from tapkit.debuginfo.btf import index_btf, parse_btf

            sec = elf.section(".BTF")
            assert sec is not None
            data = index_btf(file, parse_btf(file, elf.contents(sec), pointer_size=elf.address_size))
        else:
            raise DebuginfoError(file, "has no debug information (no .debug_info or .BTF section); install its "
                                       "debug package or point --debuginfo at a file with DWARF")
        meta = {"path": file, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "build_id": build_id,
                "content_hash": file_hash(file), "module": module, "arch": elf.arch,
                "elf_type": elf.type, "address_size": elf.address_size, "sections": _sections(elf),
                "index_seconds": round(time.perf_counter() - started, 3)}
    finally:
        elf.close()
    _write(db_path, data, meta, file)
    return Debuginfo(db_path, file, module)


def find_dwz_file(file: str, name: str, build_id: str, debug_roots: tuple[str, ...] = DEBUG_ROOTS) -> str | None:
    """The dwz supplementary file a debug file names in .gnu_debugaltlink: by path, then by build-id."""
    here = os.path.dirname(file)
    candidates = [name if os.path.isabs(name) else os.path.join(here, name)]
    if build_id:
        candidates += [os.path.join(root, ".build-id", build_id[:2], build_id[2:] + ".debug") for root in debug_roots]
    candidates += [os.path.join(root, ".dwz", os.path.basename(name)) for root in debug_roots]
    return next((c for c in candidates if name and os.path.isfile(c)), None)


def _sections(elf: ElfFile) -> list[tuple[str, int, int]]:
    """(name, address, size) of the allocated sections; for kernel modules, where tapkit laid them out."""
    bases = elf.section_bases()
    return [(s.name, bases.get(s.index, s.addr), s.size) for s in elf.sections
            if s.flags & 0x2 and s.size and (s.index in bases or not bases)]


def _open_btf(file: str, st: os.stat_result, module: str, progress: Progress | None, force: bool) -> Debuginfo:
    from tapkit.debuginfo.btf import index_btf, parse_btf

    build_id = kernel_build_id() if file == HOST_BTF else None
    key = f"btf-{build_id}" if build_id else f"btf-sha-{file_hash(file)}"
    db_path = index_path(key)
    if not force:
        found = _cached(db_path, file, st, module)
        if found is not None:
            return found
    started = time.perf_counter()
    data = Path(file).read_bytes()
    base = None
    btf_dir = os.path.dirname(file)
    if file != HOST_BTF and btf_dir == os.path.dirname(HOST_BTF) and os.path.exists(HOST_BTF):
        base = parse_btf(HOST_BTF, Path(HOST_BTF).read_bytes())  # module BTF is split against vmlinux's
    if progress is not None:
        progress(0, len(data))
    index = index_btf(file, parse_btf(file, data, base), base)
    if progress is not None:
        progress(len(data), len(data))
    meta = {"path": file, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "build_id": build_id,
            "content_hash": file_hash(file), "module": module, "arch": os.uname().machine if file == HOST_BTF else "",
            "elf_type": 0, "address_size": 8,
            "index_seconds": round(time.perf_counter() - started, 3)}
    _write(db_path, index, meta, file)
    return Debuginfo(db_path, file, module)


def _write(db_path: Path, data: IndexData, meta: dict[str, object], file: str) -> None:
    try:
        write_index(db_path, data, meta)
    except OSError as exc:
        raise DebuginfoError(file, f"cannot write the index {db_path}: {exc.strerror or exc}") from None


def kernel_build_id() -> str | None:
    """The running kernel's build-id, from /sys/kernel/notes."""
    try:
        data = Path("/sys/kernel/notes").read_bytes()
    except OSError:
        return None
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = (int.from_bytes(data[pos + i:pos + i + 4], "little") for i in (0, 4, 8))
        name_at = pos + 12
        desc_at = name_at + ((namesz + 3) & ~3)
        if data[name_at:name_at + namesz].rstrip(b"\0") == b"GNU" and ntype == 3:
            return data[desc_at:desc_at + descsz].hex()
        pos = desc_at + ((descsz + 3) & ~3)
    return None
