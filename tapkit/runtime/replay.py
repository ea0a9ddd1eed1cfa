"""Replay fixtures: recorded probe hits fired through the builtin engine, over a synthetic address space.

A fixture (YAML) lists hits for any probe point, each with its target variables; pointer values
refer to objects the fixture describes by C type and field values. The objects are laid out with the
real debuginfo layout (member offsets, sizes, bitfields) in a synthetic kernel address space, so
`$adc->lock->readers_reading`, `@cast(p, "dcache", "kernel:openafs")->refCount` and kernel_string()
read exactly what the fixture says:

    debuginfo:                       # module -> file with DWARF (relative to the fixture; ~ expanded)
      openafs: ~/.cache/tapkit/fixtures/openafs/openafs.ko
    task: {pid: 4242, tid: 4243, execname: afsd, address: "&me"}   # who the hits run as
    objects:
      me: {type: task_struct, module: openafs, fields: {pid: 4243}}
      dc:
        type: dcache                 # looked up in `module` (default: the first debuginfo listed)
        fields:
          index: 7
          lock: {readers_reading: 1, pid_last_reader: "&me"}     # "&name[.member…]" is an address
          f: {fid: {Cell: 1, Fid: {Volume: 536870918, Vnode: 12, Unique: 3}}}
      name: {string: "hello"}        # a NUL-terminated string object
      # any object may say where it lives: address: 0xffffa00000001000 (else objects are packed from
      # 0xffff888000100000 in fixture order)
    hits:
      - probe: module("openafs").function("afs_PutDCache").return   # pp(), pn(), or a glob of either
        vars: {adc: "&dc", return: 0}                               # $adc, $return
        backtrace: [" 0xffffffffc0a1b2c3 : afs_PutDCache+0x0/0x1a0 [openafs]"]
        repeat: 2                    # fire it this many times (default 1)
    end: exit                        # after the last hit: exit (default) or wait (timers go on)

Integers may be given for any scalar member or variable; a string for a `char *` member is placed
in memory and its address stored; a string for a `char[N]` member is copied in; a list fills an
array; a mapping fills a struct (or, for a pointer, a new object the pointer then points to).
"""

from __future__ import annotations

import bisect
import contextlib
import fnmatch
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tapkit.runtime.arith import wrap
from tapkit.runtime.compiler import CompiledProgram, ProbeSite
from tapkit.runtime.context import Context, Task
from tapkit.runtime.memory import MemoryFault

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo
    from tapkit.runtime.engine import BuiltinEngine

OBJECT_BASE = 0xFFFF888000100000  # where fixture objects go (a kernel direct-map address)
ALIGN = 64
_REF = re.compile(r"^&([A-Za-z_][\w]*)((?:\.[A-Za-z_]\w*|\[\d+\])*)$")


class ReplayError(Exception):
    """A fixture that cannot be replayed, with the place in it that is wrong."""


class WritableMemory:
    """A sparse address space of byte regions that reads and (guru mode) writes; other accesses fault.

    One space serves kernel and user reads alike: a fixture describes one probe's world."""

    takes_user_flag = True  # write(addr, data, user), like read

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._data: list[bytearray] = []

    def map_bytes(self, addr: int, data: bytearray) -> None:
        i = bisect.bisect_left(self._starts, addr)
        self._starts.insert(i, addr)
        self._data.insert(i, data)

    def _region(self, addr: int) -> tuple[int, bytearray]:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self._starts[i] + len(self._data[i]):
            return self._starts[i], self._data[i]
        raise MemoryFault(addr)

    def read(self, addr: int, size: int, user: bool) -> bytes:
        out = bytearray()
        cur = addr
        while len(out) < size:
            base, data = self._region(cur)
            chunk = data[cur - base: cur - base + size - len(out)]
            out += chunk
            cur += len(chunk)
        return bytes(out)

    def write(self, addr: int, data: bytes, user: bool) -> None:
        cur = addr
        view = memoryview(data)
        while view:
            base, region = self._region(cur)
            n = min(len(view), base + len(region) - cur)
            region[cur - base: cur - base + n] = view[:n]
            view = view[n:]
            cur += n


@dataclass(eq=False)
class AddressSpace:
    """Fixture objects laid out in memory: name -> (address, debuginfo, type id)."""

    memory: WritableMemory = field(default_factory=WritableMemory)
    next_free: int = OBJECT_BASE
    objects: dict[str, tuple[int, Debuginfo | None, int]] = field(default_factory=dict)

    def allocate(self, size: int, at: int | None = None) -> tuple[int, bytearray]:
        """size bytes at `at` (a fixture's `address:`), or at the next free aligned place."""
        data = bytearray(max(size, 1))
        if at is not None:
            addr = at & 0xFFFFFFFFFFFFFFFF
            for probe in (addr, addr + len(data) - 1):
                with contextlib.suppress(MemoryFault):
                    self.memory.read(probe, 1, False)
                    raise ReplayError(f"address {addr:#x} overlaps another object")
            self.memory.map_bytes(addr, data)
            return addr, data
        addr = self.next_free
        self.memory.map_bytes(addr, data)
        self.next_free += (max(size, 1) + ALIGN - 1) // ALIGN * ALIGN + ALIGN  # a guard gap between objects
        return addr, data


class Layout:
    """Writes fixture values into memory by C type."""

    def __init__(self, space: AddressSpace, infos: Mapping[str, Debuginfo], default_module: str | None) -> None:
        self.space = space
        self.infos = infos
        self.default_module = default_module
        self.pending: list[tuple[str, int, Any, str]] = []  # (object, address, "&ref", where) patched last

    def info(self, module: str | None, where: str) -> Debuginfo:
        name = module or self.default_module
        if name is None or name not in self.infos:
            known = ", ".join(sorted(self.infos)) or "none"
            raise ReplayError(f"{where}: no debuginfo for module {name!r} (the fixture's debuginfo: {known})")
        return self.infos[name]

    def new_object(self, name: str, spec: Any, where: str) -> int:
        if not isinstance(spec, Mapping):
            raise ReplayError(f"{where}: an object is a mapping with type and fields (or string)")
        at = self.scalar(spec["address"], f"{where}.address") if "address" in spec else None
        if "string" in spec:
            data = str(spec["string"]).encode("utf-8") + b"\0"
            addr, buf = self.space.allocate(len(data), at)
            buf[: len(data)] = data
            self.space.objects[name] = (addr, None, 0)
            return addr
        type_name = spec.get("type")
        if not isinstance(type_name, str):
            raise ReplayError(f"{where}: 'type' (a C type name) is required")
        info = self.info(spec.get("module"), where)
        t = info.find_type(type_name)
        if t is None:
            raise ReplayError(f"{where}: no type {type_name!r} in {info.file}")
        addr = self.place(info, t.id, spec.get("fields", {}), where, at)
        self.space.objects[name] = (addr, info, t.id)
        return addr

    def place(self, info: Debuginfo, tid: int, value: Any, where: str, at: int | None = None) -> int:
        size = info.sizeof(tid) or info.sizeof(info.strip(tid).id) or 0  # a declaration completes by name
        addr, _buf = self.space.allocate(size, at)
        self.store(info, tid, addr, value, where)
        return addr

    def store(self, info: Debuginfo, tid: int, addr: int, value: Any, where: str) -> None:
        from tapkit.debuginfo import Array, Base, Enum, Pointer, Struct, UnknownName

        t = info.strip(tid)
        mem = self.space.memory
        if isinstance(t, Struct):
            if not isinstance(value, Mapping):
                raise ReplayError(f"{where}: {info.spell(tid)} needs a mapping of member values")
            for key, sub in value.items():
                try:
                    m = info.member(t.id, str(key))
                except UnknownName as exc:
                    raise ReplayError(f"{where}.{key}: {exc}") from None
                if m.bit_size:
                    unit = m.size or 4
                    raw = int.from_bytes(mem.read(addr + m.offset, unit, False), "little")
                    mask = ((1 << m.bit_size) - 1) << (m.bit_offset or 0)
                    raw = (raw & ~mask) | ((self.scalar(sub, f"{where}.{key}") << (m.bit_offset or 0)) & mask)
                    mem.write(addr + m.offset, raw.to_bytes(unit, "little"), False)
                else:
                    self.store(info, m.type, addr + m.offset, sub, f"{where}.{key}")
            return
        if isinstance(t, Array):
            esize = info.sizeof(t.element) or 0
            if isinstance(value, str):
                data = value.encode("utf-8")
                if t.count is not None and len(data) > t.count:
                    raise ReplayError(f"{where}: {len(data)} bytes do not fit {info.spell(tid)}")
                mem.write(addr, data, False)
                return
            if not isinstance(value, Sequence):
                raise ReplayError(f"{where}: {info.spell(tid)} needs a list (or a string for a char array)")
            for i, item in enumerate(value):
                self.store(info, t.element, addr + i * esize, item, f"{where}[{i}]")
            return
        size = info.sizeof(tid) or 8
        if isinstance(t, Pointer):
            if isinstance(value, str) and not value.startswith("&"):
                data = value.encode("utf-8") + b"\0"
                saddr, buf = self.space.allocate(len(data))
                buf[: len(data)] = data
                value = saddr
            elif isinstance(value, Mapping):
                value = self.place(info, t.target, value, where)
            elif isinstance(value, str):
                self.pending.append(("", addr, value, where))
                return
        elif not isinstance(t, Base | Enum):
            raise ReplayError(f"{where}: cannot store a value of type {info.spell(tid)}")
        mem.write(addr, (self.scalar(value, where) & ((1 << (8 * size)) - 1)).to_bytes(size, "little"), False)

    def scalar(self, value: Any, where: str) -> int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.startswith("&"):
            return self.resolve_ref(value, where)
        raise ReplayError(f"{where}: expected a number or an \"&object\" reference, got {value!r}")

    def resolve_ref(self, ref: str, where: str) -> int:
        from tapkit.debuginfo import Array, Pointer, Struct, UnknownName

        m = _REF.match(ref)
        if m is None:
            raise ReplayError(f"{where}: {ref!r} is not a reference (&name, &name.member, &name[3])")
        name, path = m.group(1), m.group(2)
        found = self.space.objects.get(name)
        if found is None:
            raise ReplayError(f"{where}: no object named {name!r}")
        addr, info, tid = found
        for part in re.findall(r"\.(\w+)|\[(\d+)\]", path):
            if info is None:
                raise ReplayError(f"{where}: {name!r} has no members")
            t = info.strip(tid)
            if part[0]:
                if not isinstance(t, Struct):
                    raise ReplayError(f"{where}: {info.spell(tid)} has no member {part[0]!r}")
                try:
                    mi = info.member(t.id, part[0])
                except UnknownName as exc:
                    raise ReplayError(f"{where}: {exc}") from None
                addr, tid = addr + mi.offset, mi.type
            else:
                element = t.element if isinstance(t, Array) else t.target if isinstance(t, Pointer) else tid
                addr, tid = addr + int(part[1]) * (info.sizeof(element) or 0), element
        return addr

    def finish(self) -> None:
        for _obj, addr, ref, where in self.pending:
            value = self.resolve_ref(ref, where)
            self.space.memory.write(addr, value.to_bytes(8, "little"), False)
        self.pending.clear()


@dataclass(eq=False)
class Hit:
    site: ProbeSite
    values: dict[str, Any]
    task: Task
    task_address: int
    backtrace: tuple[str, ...]
    where: str


class ReplayVariable:
    """`$name` of the hit being replayed (a write, in guru mode, changes it for the rest of the hit)."""

    def __init__(self, replay: Replay, site: int, name: str) -> None:
        self.replay, self.site, self.name = replay, site, name

    def _value(self) -> Any:
        hit = self.replay.current
        if hit is None or self.name not in hit.values:
            where = hit.where if hit is not None else "replay"
            raise _variable_error(f"{where}: the hit gives no value for ${self.name}")
        return hit.values[self.name]

    def read(self, ctx: Context) -> int:
        value = self._value()
        if not isinstance(value, int):
            value = self.replay.layout.scalar(value, f"${self.name}")
        return wrap(value)  # a script long: kernel addresses are negative

    def address(self, ctx: Context) -> int:
        return self.read(ctx)

    def write(self, ctx: Context, value: int) -> None:
        hit = self.replay.current
        if hit is not None:
            hit.values[self.name] = value


def _variable_error(message: str) -> Exception:
    from tapkit.runtime.errors import StapError

    return StapError(message, None)


class ReplayBinder:
    def __init__(self, replay: Replay) -> None:
        self.replay = replay

    def variable(self, site: int, name: str) -> ReplayVariable:
        return ReplayVariable(self.replay, site, name)

    def global_address(self, module: str, name: str) -> int:
        found = self.replay.space.objects.get(name)
        if found is None:
            raise ReplayError(f"@var(\"{name}\"): the fixture has no object named {name!r}")
        return wrap(found[0])


@dataclass(eq=False)
class Replay:
    """The event source: serves every probe the builtin engine has no source for, firing the hits in order."""

    program: CompiledProgram
    space: AddressSpace
    layout: Layout
    hits: list[Hit]
    end_with_exit: bool = True
    current: Hit | None = None
    position: int = 0
    binder: ReplayBinder = field(init=False)

    def __post_init__(self) -> None:
        self.binder = ReplayBinder(self)

    def serves(self, site: ProbeSite) -> bool:
        return site.family not in ("begin", "end", "error", "never", "timer")

    def start(self, engine: BuiltinEngine) -> None:
        self.position = 0

    def next_due(self) -> int | None:
        if self.position < len(self.hits) or self.end_with_exit:
            return 0  # due now: hits are replayed back to back
        return None

    def fire(self, engine: BuiltinEngine) -> None:
        if self.position >= len(self.hits):
            if self.end_with_exit:
                self.end_with_exit = False
                engine.session.exit()
            return
        hit = self.hits[self.position]
        self.position += 1
        ctx = engine.context
        saved = (ctx.task, ctx.memory, ctx.task_address, ctx.kernel_frames, ctx.probefunc)
        self.current = Hit(hit.site, dict(hit.values), hit.task, hit.task_address, hit.backtrace, hit.where)
        ctx.task, ctx.memory, ctx.task_address = hit.task, self.space.memory, wrap(hit.task_address)
        ctx.kernel_frames = tuple(line if line.endswith("\n") else line + "\n" for line in hit.backtrace)
        fn = hit.site.probe.context.function if hit.site.probe is not None else None
        ctx.probefunc = fn.name if fn is not None else ""
        try:
            engine.run_site(hit.site, hit.site.index)
        finally:
            self.current = None
            ctx.task, ctx.memory, ctx.task_address, ctx.kernel_frames, ctx.probefunc = saved


def fixture_debuginfo(path: Path) -> list[str]:
    """The fixture's `debuginfo:` entries as --debuginfo NAME=PATH values (pass 2 needs them)."""
    data = _read(path)
    entries = data.get("debuginfo") or {}
    if not isinstance(entries, Mapping):
        raise ReplayError(f"{path}: debuginfo: expected a mapping of module name to file")
    return [f"{name}={_file(path, str(file))}" for name, file in entries.items()]


def _file(fixture: Path, name: str) -> str:
    p = Path(os.path.expanduser(name))
    return str(p if p.is_absolute() else (fixture.parent / p))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ReplayError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ReplayError(f"{path}: a replay fixture is a mapping (debuginfo, task, objects, hits)")
    return data


def _normal(point: str) -> str:
    return re.sub(r'@[^"]*"', '"', point)  # function("f@file.c:12") matches function("f")


def match_site(program: CompiledProgram, probe: str) -> ProbeSite | None:
    wanted = _normal(probe)
    for site in program.sites:
        if site.synthetic:
            continue
        for text in (site.point, _normal(site.point), site.name):
            if text in (probe, wanted) or fnmatch.fnmatchcase(text, probe):
                return site
    return None


def _task(spec: Any, base: Task, where: str) -> Task:
    if spec is None:
        return base
    if not isinstance(spec, Mapping):
        raise ReplayError(f"{where}: task: expected a mapping (pid, tid, execname, …)")
    fields = {k: spec[k] for k in ("pid", "tid", "ppid", "uid", "euid", "gid", "egid", "execname", "pexecname")
              if k in spec}
    if "pid" in fields and "tid" not in fields:
        fields["tid"] = fields["pid"]
    return Task(**{**{f: getattr(base, f) for f in Task.__dataclass_fields__}, **fields})


def load_replay(path: Path, program: CompiledProgram, debuginfo: Sequence[str] = (),
                release: str | None = None) -> Replay:
    """Lay the fixture's objects out and match its hits to the program's probes (ReplayError if wrong)."""
    from tapkit.debuginfo import DebuginfoError, load
    from tapkit.semantic.options import debuginfo_overrides

    data = _read(path)
    overrides = debuginfo_overrides(tuple([*fixture_debuginfo(path), *debuginfo]))
    infos: dict[str, Debuginfo] = {}
    for name in overrides:
        try:
            infos[name] = load(f'module("{name}")' if name != "kernel" else "kernel", release=release,
                               overrides=overrides)
        except DebuginfoError as exc:
            raise ReplayError(f"{path}: debuginfo {name}: {exc}") from None
    for each in program.sites:  # the probes' own debuginfo serves a fixture that names none
        ctx = each.probe.context if each.probe is not None else None
        if ctx is not None and ctx.debuginfo is not None:
            infos.setdefault(ctx.module, ctx.debuginfo)
    default_module = next(iter(infos), None)
    space = AddressSpace()
    layout = Layout(space, infos, default_module)
    objects = data.get("objects") or {}
    if not isinstance(objects, Mapping):
        raise ReplayError(f"{path}: objects: expected a mapping of name to object")
    for name, spec in objects.items():
        layout.new_object(str(name), spec, f"{path}: objects.{name}")
    layout.finish()

    task_spec = data.get("task")
    base_task = _task(task_spec, Task(1000, 1000, 1, 0, 0, 0, 0, "replay"), f"{path}: task")
    base_address = _address(layout, task_spec, f"{path}: task.address")
    hits: list[Hit] = []
    for i, entry in enumerate(data.get("hits") or []):
        where = f"{path}: hits[{i}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("probe"), str):
            raise ReplayError(f"{where}: each hit needs a 'probe' (a probe point of the script)")
        site = match_site(program, entry["probe"])
        if site is None:
            points = ", ".join(s.point for s in program.sites if not s.synthetic)
            raise ReplayError(f"{where}: the script has no probe {entry['probe']!r} (it has: {points})")
        values = dict(entry.get("vars") or {})
        for key, value in list(values.items()):
            values[key] = _variable_value(layout, site, str(key), value, f"{where}.vars.{key}")
        task = _task(entry.get("task"), base_task, f"{where}.task")
        address = _address(layout, entry.get("task"), f"{where}.task.address") or base_address
        trace = tuple(str(x) for x in entry.get("backtrace") or ())
        for _ in range(int(entry.get("repeat", 1))):
            hits.append(Hit(site, values, task, address, trace, where))
    end = data.get("end", "exit")
    if end not in ("exit", "wait"):
        raise ReplayError(f"{path}: end: 'exit' or 'wait'")
    return Replay(program, space, layout, hits, end_with_exit=end == "exit")


def _address(layout: Layout, spec: Any, where: str) -> int:
    if isinstance(spec, Mapping) and "address" in spec:
        return layout.scalar(spec["address"], where)
    return 0


def _variable_value(layout: Layout, site: ProbeSite, name: str, value: Any, where: str) -> Any:
    """A hit's `$name`: numbers and references as they are; a mapping builds an object of the variable's
    type (the pointee, for a pointer) from the probe's own debuginfo."""
    if isinstance(value, int | str):
        return layout.scalar(value, where) if isinstance(value, str) else value
    probe = site.probe
    info = probe.context.debuginfo if probe is not None else None
    fn = probe.context.function if probe is not None else None
    if info is None or fn is None:
        raise ReplayError(f"{where}: {site.point} has no debuginfo to lay ${name} out")
    from tapkit.debuginfo import Pointer

    var = next((v for v in (*fn.params, *fn.locals) if v.name == name), None)
    tid = fn.return_type if name == "return" else var.type if var is not None else None
    if tid is None:
        raise ReplayError(f"{where}: {fn.name} has no variable {name!r}")
    t = info.strip(tid)
    target = t.target if isinstance(t, Pointer) else tid
    return layout.place(info, target, value, where)
