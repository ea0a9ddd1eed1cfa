"""The target's C side as the editor shows it: which debuginfo a probe point or @cast names, its type and
function names, struct layouts like `tapkit ptype`, and where the C source declares a type or function.

Everything is read from tapkit.debuginfo's indexes (opened once per process and shared with the
semantic pass), with the snapshot's release and --debuginfo overrides.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from tapkit.debuginfo import Debuginfo, DebuginfoError, Decl, Function, MemberInfo, Pointer, Struct, load
from tapkit.debuginfo.layout import format_layout, struct_layout
from tapkit.diagnostics import Span
from tapkit.ide.workspace import Snapshot
from tapkit.semantic.targets import TargetType, cast_specs


def debuginfo(snap: Snapshot, spec: str) -> Debuginfo | None:
    """The debuginfo of a module spec ("kernel", 'module("openafs")', 'process("/bin/ls")'), None when the
    machine has none (the semantic pass reports that; completion and hover just have nothing to add)."""
    try:
        return load(spec, release=snap.target.release, overrides=dict(snap.options.debuginfo) or None)
    except (DebuginfoError, OSError, ValueError):
        return None


def cast_debuginfo(snap: Snapshot, module: str) -> list[Debuginfo]:
    """What @cast's third argument names ("kernel:openafs"; empty: the kernel), in the order stap searches."""
    found = []
    for spec in cast_specs(module):
        info = debuginfo(snap, spec)
        if info is not None:
            found.append(info)
    return found


def find_cast_type(snap: Snapshot, name: str, module: str) -> tuple[Debuginfo, int] | None:
    """The first of @cast's modules that defines name, and the type's id there."""
    for info in cast_debuginfo(snap, module):
        t = info.find_type(name)
        if t is not None:
            return info, t.id
    return None


def point_spec(components: list[tuple[str, str | None]]) -> str | None:
    """The debuginfo a DWARF probe point reads, from its components before `function`/`statement`:
    kernel, module("m"), process("path")."""
    if not components:
        return None
    name, arg = components[0]
    if name == "kernel":
        return "kernel"
    if name in ("module", "process") and arg:
        return f'{name}("{arg}")'
    return None


def members(target: TargetType) -> list[MemberInfo]:
    """What `->` reaches from a value of this type (through one pointer and typedefs)."""
    info = target.info
    if info is None:
        return []
    try:
        return info.members(target.type)
    except (DebuginfoError, ValueError, KeyError):
        return []


def struct_of(info: Debuginfo, tid: int) -> Struct | None:
    """The struct or union a type names, through typedefs, qualifiers and one pointer."""
    t = info.strip(tid)
    if isinstance(t, Pointer):
        t = info.strip(t.target)
    return t if isinstance(t, Struct) and t.complete else None


def layout(info: Debuginfo, tid: int) -> str | None:
    """pahole-style text of the struct a type names, as `tapkit ptype` prints it."""
    s = struct_of(info, tid)
    if s is None:
        return None
    try:
        return format_layout(struct_layout(info, s.id))
    except (ValueError, KeyError):
        return None


def decl_span(decl: Decl | None) -> Span | None:
    """Where the C source declares something, when that source file is on this machine."""
    if decl is None or not decl.file or decl.line <= 0 or not os.path.isfile(decl.file):
        return None
    column = max(decl.column, 1)
    return Span(decl.file, decl.line, column, decl.line, column)


def type_decl(info: Debuginfo, tid: int) -> Decl | None:
    """The declaration of the named type a type refers to (through pointers and qualifiers, not typedefs)."""
    t = info.type(tid)
    for _ in range(8):
        decl = getattr(t, "decl", None)
        if decl is not None:
            return decl  # type: ignore[no-any-return]
        target = getattr(t, "target", None)
        if target is None:
            return None
        t = info.type(target)
    return None


def function(info: Debuginfo, name: str) -> Function | None:
    try:
        return info.function(name)
    except (DebuginfoError, LookupError):
        return None


def function_signature(info: Debuginfo, fn: Function) -> str:
    params = ", ".join(info.spell(p.type, p.name or "") for p in fn.params)
    return f"{info.spell(fn.return_type)} {fn.name}({params})"


# ---------------------------------------------------------------- names for probe-point arguments

@lru_cache(maxsize=4)
def module_names(release: str) -> tuple[str, ...]:
    """Kernel modules of a release, from its modules.dep (and whatever .ko files lie under extra/)."""
    root = Path("/lib/modules", release)
    names: set[str] = set()
    try:
        for line in (root / "modules.dep").read_text(errors="replace").splitlines():
            path = line.partition(":")[0]
            base = os.path.basename(path).split(".ko")[0]
            if base:
                names.add(base.replace("-", "_"))
    except OSError:
        pass
    for ko in (root / "extra").glob("*.ko*") if (root / "extra").is_dir() else ():
        names.add(ko.name.split(".ko")[0].replace("-", "_"))
    return tuple(sorted(names))


def path_entries(typed: str, base: Path) -> tuple[str, list[tuple[str, bool]]]:
    """For a path typed so far: the part after its last `/` (what completion replaces) and the entries of
    its directory whose names start with it, as (name, is_dir); relative paths are taken from base."""
    head, _, tail = typed.rpartition("/")
    directory = Path(head or ("/" if typed.startswith("/") else "."))
    if not directory.is_absolute():
        directory = base / directory
    out: list[tuple[str, bool]] = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                if entry.name.startswith(tail) and (tail.startswith(".") or not entry.name.startswith(".")):
                    try:
                        out.append((entry.name, entry.is_dir()))
                    except OSError:
                        continue
    except OSError:
        return tail, []
    return tail, sorted(out)

