"""Building an index: read a file's DWARF (or BTF) into one deduplicated IndexData.

Big files are split by compile units between this process and one forked child (both cores
pay off above a few MB of .debug_info); the child's table is merged into the parent's, which
dedups the types both halves saw.
"""

from __future__ import annotations

import os
import pickle
import struct
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from tapkit.debuginfo.builder import Record, TypeError_, TypeTable
from tapkit.debuginfo.dwarf import DwarfFormatError, DwarfSections, Unit
from tapkit.debuginfo.dwarf_index import UnitIndexer
from tapkit.debuginfo.elf import ElfFile
from tapkit.debuginfo.model import DebuginfoError, Progress
from tapkit.debuginfo.store import (
    PackedFunction,
    PackedVariable,
    pack_function,
    pack_variable,
    retype_function,
    retype_variable,
)

PARALLEL_MIN_BYTES = 4 << 20  # below this, forking costs more than it saves

# What a damaged file can make the low-level readers raise; each becomes a DebuginfoError.
DECODE_ERRORS = (DwarfFormatError, TypeError_, IndexError, KeyError, ValueError, struct.error, OverflowError,
                 RecursionError, UnicodeError, AttributeError, TypeError, MemoryError)


@dataclass(slots=True)
class IndexData:
    """Everything an index holds, before it is written to sqlite."""

    source: str  # "dwarf" or "btf"
    records: list[Record]
    functions: list[PackedFunction] = field(default_factory=list)  # store.pack_function form
    variables: list[PackedVariable] = field(default_factory=list)  # store.pack_variable form
    units: int = 0


@dataclass(slots=True)
class _Half:
    """What one process indexed. Functions and globals travel packed (store.pack_function): a pipe
    carries tuples ten times faster than dataclasses, and they take a third of the memory of dicts."""

    records: list[Record]
    functions: list[PackedFunction]
    variables: list[PackedVariable]
    units: int


def index_dwarf(elf: ElfFile, progress: Progress | None = None, jobs: int | None = None,
                dwz_file: str | None = None) -> IndexData:
    """dwz_file: the supplementary file .gnu_debugaltlink names, when it was found."""
    try:
        sections = DwarfSections(elf)
        if dwz_file is not None:
            try:
                sections.alt = DwarfSections(ElfFile(dwz_file))
            except DebuginfoError as exc:
                raise DebuginfoError(elf.path, f"its dwz supplementary file is unreadable: {exc}") from None
        units = list(sections.units())
    except DECODE_ERRORS as exc:
        raise DebuginfoError(elf.path, f"damaged DWARF: {_describe(exc)}") from None
    if not units:
        raise DebuginfoError(elf.path, "has an empty .debug_info section")
    total = sum(u.end - u.offset for u in units)
    if jobs is None:
        jobs = 2 if total >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1 else 1
    if jobs > 1:
        half = _split(units, total)
        mine, theirs = units[:half], units[half:]
        return _index_parallel(elf.path, sections, mine, theirs, total, progress)
    table = TypeTable()
    part = _run_units(elf.path, sections, units, table, progress, total, None)
    return _finish(table, [(part, None)])


def _split(units: list[Unit], total: int) -> int:
    acc = 0
    for i, u in enumerate(units):
        acc += u.end - u.offset
        if acc >= total // 2:
            return max(1, min(i + 1, len(units) - 1))
    return len(units) // 2


def _run_units(path: str, sections: DwarfSections, units: list[Unit], table: TypeTable,
               progress: Progress | None, total: int, shared: Any) -> _Half:
    functions: list[PackedFunction] = []
    variables: list[PackedVariable] = []
    done = 0
    for unit in units:
        try:
            result = UnitIndexer(sections, unit, table).run()
        except DECODE_ERRORS as exc:
            raise DebuginfoError(path, f"damaged DWARF in the unit at .debug_info+{unit.offset:#x}: "
                                       f"{_describe(exc)}") from None
        functions.extend(pack_function(fn) for fn in result.functions)
        variables.extend(pack_variable(v) for v in result.variables)
        done += unit.end - unit.offset
        if shared is not None:
            shared.value = done
        if progress is not None:
            progress(done, total)
    return _Half(table.records, functions, variables, len(units))


def _index_parallel(path: str, sections: DwarfSections, mine: list[Unit], theirs: list[Unit], total: int,
                    progress: Progress | None) -> IndexData:
    ctx = get_context("fork")
    shared = ctx.Value("q", 0, lock=False)
    reader, writer = ctx.Pipe(duplex=False)

    def child() -> None:
        reader.close()
        try:
            half = _run_units(path, sections, theirs, TypeTable(), None, total, shared)
            payload = pickle.dumps(("ok", half), protocol=pickle.HIGHEST_PROTOCOL)
        except DebuginfoError as exc:
            payload = pickle.dumps(("error", exc.message))
        except BaseException as exc:  # the parent reports it; a child must never hang the pipe
            payload = pickle.dumps(("error", f"internal error while indexing: {exc!r}"))
        writer.send_bytes(payload)
        writer.close()

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    writer.close()
    table = TypeTable()

    def report(done: int, _total: int) -> None:
        if progress is not None:
            progress(done + shared.value, total)

    try:
        part = _run_units(path, sections, mine, table, report, total, None)
        try:
            status, value = pickle.loads(reader.recv_bytes())
        except EOFError:
            raise DebuginfoError(path, "the indexing worker process died") from None
    finally:
        reader.close()
        proc.join()
    if status != "ok":
        raise DebuginfoError(path, str(value))
    if progress is not None:
        progress(total, total)
    other: _Half = value
    # Merge the child's table: its ids are local refs of this table.
    local = {gid: rec for gid, rec in enumerate(other.records) if gid}
    try:
        mapping = table.merger(local).resolve_all()
    except TypeError_ as exc:
        raise DebuginfoError(path, f"damaged DWARF: {exc}") from None
    return _finish(table, [(part, None), (other, mapping)])


def _finish(table: TypeTable, parts: list[tuple[_Half, dict[Any, int] | None]]) -> IndexData:
    """Model values from each half; mapping turns a worker's type ids into this table's."""
    canon = table.canonicalize()
    functions: list[PackedFunction] = []
    variables: list[PackedVariable] = []
    for part, mapping in parts:

        def tid(ref: Any, mapping: dict[Any, int] | None = mapping) -> int:
            if mapping is not None:
                ref = mapping.get(ref, 0)
            return canon[ref] if isinstance(ref, int) and 0 <= ref < len(canon) else 0

        functions.extend(retype_function(t, tid) for t in part.functions)
        variables.extend(retype_variable(t, tid) for t in part.variables)
    return IndexData("dwarf", table.records, functions, variables, sum(p.units for p, _ in parts))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (DwarfFormatError, TypeError_)):
        return str(exc)
    if isinstance(exc, (IndexError, struct.error)):
        return "data ends in the middle of a record (truncated section)"
    if isinstance(exc, RecursionError):
        return "entries nest too deeply (damaged DIE tree)"
    return f"{type(exc).__name__}: {exc}"
