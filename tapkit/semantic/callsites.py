"""Labels and call sites of a DWARF file's functions: what `.label("L")` and `.callee("F")` probe.

The debuginfo index (tapkit.debuginfo) keeps functions, variables and types but not DW_TAG_label or
DW_TAG_call_site entries, so this reads them straight from the DIEs with the index's own decoder
(tapkit.debuginfo.dwarf), once per file, and caches the result as JSON under the cache dir.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache

from tapkit.cache import cache_dir, content_hash, store

CALLSITES_VERSION = "2"

_TAG_LABEL, _TAG_SUBPROGRAM, _TAG_INLINED = 0x0A, 0x2E, 0x1D
_TAG_CALL_SITE, _TAG_GNU_CALL_SITE = 0x48, 0x4109
_AT_NAME, _AT_LOW_PC, _AT_DECL_LINE, _AT_ABSTRACT_ORIGIN, _AT_SPECIFICATION = 0x03, 0x11, 0x3B, 0x31, 0x47
_AT_RANGES, _AT_DECLARATION = 0x55, 0x3C
_AT_CALL_ORIGIN = 0x7F


@dataclass(frozen=True, slots=True)
class Label:
    name: str
    line: int
    address: bool  # has DW_AT_low_pc: only those can be probed
    inlined: bool  # declared inside an inlined call's body (its scope is the inline, not the function)


@dataclass(frozen=True, slots=True)
class FunctionSites:
    labels: tuple[Label, ...]
    callees: tuple[str, ...]  # functions inlined into this one (as one address range), by name


def function_sites(path: str) -> dict[str, FunctionSites]:
    """Out-of-line function name -> its labels and callees, for one ELF file with DWARF."""
    st = os.stat(path)
    return _cached(os.path.realpath(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=8)
def _cached(path: str, size: int, mtime: int) -> dict[str, FunctionSites]:
    cache = cache_dir("callsites") / f"{content_hash(f'{CALLSITES_VERSION}:{path}:{size}:{mtime}')}.json"
    try:
        raw = json.loads(cache.read_text())
    except (OSError, ValueError):
        raw = _scan(path)
        store(cache, json.dumps(raw))
    return {name: FunctionSites(tuple(Label(*lab) for lab in v["labels"]), tuple(v["callees"]))
            for name, v in raw.items()}


def _scan(path: str) -> dict[str, dict[str, list[object]]]:
    from tapkit.debuginfo.dwarf import DwarfSections
    from tapkit.debuginfo.elf import ElfFile

    elf = ElfFile(path)
    try:
        sections = DwarfSections(elf)
        names: dict[int, str] = {}
        origins: dict[int, int] = {}
        lines: dict[int, int] = {}
        inline_bodies: set[int] = set()
        declarations: set[int] = set()  # subprogram DIEs that only declare (an extern callee)
        labels: list[tuple[int, int, bool, bool]] = []  # (function DIE, label DIE, address, inlined)
        calls: list[tuple[int, int, bool]] = []  # (function DIE, callee DIE, inlined there)
        for unit in sections.units():
            pos = unit.die_offset
            stack: list[tuple[int, int]] = []  # open DIEs with children: (tag, offset)
            concrete: list[int] = []  # offsets of the enclosing out-of-line functions
            while pos < unit.end:
                off = pos
                ab, attrs, pos = sections.die(unit, pos)
                if ab is None:
                    if not stack:
                        break
                    tag, opened = stack.pop()
                    if tag in (_TAG_SUBPROGRAM, _TAG_INLINED) and concrete and concrete[-1] == opened:
                        concrete.pop()
                    continue
                tag = ab.tag
                if tag == _TAG_SUBPROGRAM:
                    if attrs.get(_AT_DECLARATION):
                        declarations.add(off)
                    name = attrs.get(_AT_NAME)
                    if isinstance(name, str):
                        names[off] = name
                    origin = attrs.get(_AT_ABSTRACT_ORIGIN, attrs.get(_AT_SPECIFICATION))
                    if isinstance(origin, int):
                        origins[off] = origin
                    if ab.children and (_AT_LOW_PC in attrs or _AT_RANGES in attrs):  # code of its own
                        concrete.append(off)
                elif tag == _TAG_LABEL:
                    name = attrs.get(_AT_NAME)
                    line = attrs.get(_AT_DECL_LINE)
                    if isinstance(name, str):
                        names[off] = name
                        lines[off] = line if isinstance(line, int) else 0
                    origin = attrs.get(_AT_ABSTRACT_ORIGIN)
                    if isinstance(origin, int):
                        origins[off] = origin
                    if concrete:  # an inlined function's label names itself through its abstract origin
                        labels.append((concrete[-1], off, _AT_LOW_PC in attrs, concrete[-1] in inline_bodies))
                elif concrete and tag in (_TAG_CALL_SITE, _TAG_GNU_CALL_SITE, _TAG_INLINED):
                    callee = attrs.get(_AT_CALL_ORIGIN, attrs.get(_AT_ABSTRACT_ORIGIN))
                    if isinstance(callee, int):
                        # stap 4.8 takes an inlined callee only where it has one address range (low_pc)
                        calls.append((concrete[-1], callee, tag == _TAG_INLINED and _AT_LOW_PC in attrs))
                        if tag == _TAG_INLINED:
                            origins[off] = callee
                            if ab.children:  # what the inlined body holds is the inlined function's
                                concrete.append(off)
                                inline_bodies.add(off)
                if ab.children:
                    stack.append((tag, off))
    finally:
        elf.close()

    def name_of(off: int) -> str | None:
        for _ in range(4):  # concrete -> abstract -> declaration
            if off in names:
                return names[off]
            if off not in origins:
                return None
            off = origins[off]
        return None

    out: dict[str, dict[str, list[object]]] = {}
    def line_of(off: int) -> int:
        return lines.get(off, lines.get(origins.get(off, -1), 0))

    for fn, label, address, inlined in labels:
        owner, name, line = name_of(fn), name_of(label), line_of(label)
        if owner is not None and name is not None:
            out.setdefault(owner, {"labels": [], "callees": []})["labels"].append([name, line, address, inlined])
    for fn, callee, inlined in calls:
        if not inlined or callee in declarations:
            continue  # defined elsewhere: stap only follows calls to functions of the same unit
        owner, target = name_of(fn), name_of(callee)
        if owner is not None and target is not None:
            entry = out.setdefault(owner, {"labels": [], "callees": []})
            if target not in entry["callees"]:
                entry["callees"].append(target)
    return out
