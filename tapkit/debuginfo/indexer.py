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
from tapkit.debuginfo.dwarf_index import RawFunction, RawVariable, UnitIndexer
from tapkit.debuginfo.elf import ElfFile
from tapkit.debuginfo.model import DebuginfoError, Function, InlineSite, Progress, Variable

PARALLEL_MIN_BYTES = 4 << 20  # below this, forking costs more than it saves

# What a damaged file can make the low-level readers raise; each becomes a DebuginfoError.
DECODE_ERRORS = (DwarfFormatError, TypeError_, IndexError, KeyError, ValueError, struct.error, OverflowError,
                 RecursionError, UnicodeError, AttributeError, TypeError, MemoryError)


@dataclass(slots=True)
class IndexData:
    """Everything an index holds, before it is written to sqlite."""

    source: str  # "dwarf" or "btf"
    records: list[Record]
    functions: list[Function] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    units: int = 0


@dataclass(slots=True)
class _Half:
    records: list[Record]
    functions: list[RawFunction]
    variables: list[RawVariable]
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
    return _finish(table, [part])


def _split(units: list[Unit], total: int) -> int:
    acc = 0
    for i, u in enumerate(units):
        acc += u.end - u.offset
        if acc >= total // 2:
            return max(1, min(i + 1, len(units) - 1))
    return len(units) // 2


def _run_units(path: str, sections: DwarfSections, units: list[Unit], table: TypeTable,
               progress: Progress | None, total: int, shared: Any) -> _Half:
    functions: list[RawFunction] = []
    variables: list[RawVariable] = []
    done = 0
    for unit in units:
        try:
            result = UnitIndexer(sections, unit, table).run()
        except DECODE_ERRORS as exc:
            raise DebuginfoError(path, f"damaged DWARF in the unit at .debug_info+{unit.offset:#x}: "
                                       f"{_describe(exc)}") from None
        functions.extend(result.functions)
        variables.extend(result.variables)
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
    for fn in other.functions:
        fn.return_type = mapping.get(fn.return_type, 0)
        for v in (*fn.params, *fn.locals, *(v for site in fn.inline_sites for v in (*site.params, *site.locals))):
            v.type = mapping.get(v.type, 0)
    for v in other.variables:
        v.type = mapping.get(v.type, 0)
    return _finish(table, [part, _Half(table.records, other.functions, other.variables, other.units)])


def _finish(table: TypeTable, parts: list[_Half]) -> IndexData:
    canon = table.canonicalize()
    functions: list[Function] = []
    variables: list[Variable] = []
    for part in parts:
        for fn in part.functions:
            functions.append(_function(fn, canon))
        for v in part.variables:
            variables.append(_variable(v, canon))
    return IndexData("dwarf", table.records, functions, variables, sum(p.units for p in parts))


def _variable(v: RawVariable, canon: list[int]) -> Variable:
    t = v.type if isinstance(v.type, int) and 0 <= v.type < len(canon) else 0
    return Variable(name=v.name or "", type=canon[t], kind=v.kind, location=v.location,  # type: ignore[arg-type]
                    decl=v.decl, scope=v.scope, const_value=v.const_value, external=v.external,
                    artificial=v.artificial, block=v.block)


def _function(fn: RawFunction, canon: list[int]) -> Function:
    ret = fn.return_type if isinstance(fn.return_type, int) and 0 <= fn.return_type < len(canon) else 0
    return Function(
        name=fn.name or "",
        return_type=canon[ret],
        params=tuple(_variable(v, canon) for v in fn.params),
        locals=tuple(_variable(v, canon) for v in fn.locals),
        decl=fn.decl,
        linkage_name=fn.linkage_name,
        low_pc=fn.low_pc,
        high_pc=fn.high_pc,
        ranges=fn.ranges,
        entry_pc=fn.entry_pc,
        frame_base=fn.frame_base,
        external=fn.external,
        inline=fn.inline,  # type: ignore[arg-type]
        inline_sites=_sites(fn, canon),
        variadic=fn.variadic,
        cu=fn.cu,
    )


def _sites(fn: RawFunction, canon: list[int]) -> tuple[InlineSite, ...]:
    """The inlined copies by entry address (one per address: nested copies can share it)."""
    by_entry: dict[int, InlineSite] = {}
    for site in fn.inline_sites:
        if site.entry not in by_entry:
            variables = tuple(_variable(v, canon) for v in (*site.params, *site.locals))
            by_entry[site.entry] = InlineSite(site.entry, site.ranges, site.call, variables)
    return tuple(by_entry[entry] for entry in sorted(by_entry))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (DwarfFormatError, TypeError_)):
        return str(exc)
    if isinstance(exc, (IndexError, struct.error)):
        return "data ends in the middle of a record (truncated section)"
    if isinstance(exc, RecursionError):
        return "entries nest too deeply (damaged DIE tree)"
    return f"{type(exc).__name__}: {exc}"
