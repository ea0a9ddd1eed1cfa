"""Live user-space probes under `tapkit run`: process(...) sites placed with tapkit.runtime.live.

    source = LiveSource.for_program(program, command=["./prog"], target_pid=None)   # None: no live sites
    session = Session(out, err, context=source.context)   # hits, begin/end and timers share one context
    RunOptions(sources=[source], binder=source.binder, command=...)   # the builtin engine drives it

Sites served: `process("PATH").function("F")[.call|.return|.inline]`, `.statement("F@FILE:LINE")`,
`process("PATH").library("LIB").function(...)`, `.provider("P").mark("M")`, the ELF-symbol
fallback for files without DWARF, and `process[("PATH")].begin/.end`, `.thread.begin/.end`.
The builtin engine hands the run to `drive`: the tracer runs the -c command (held stopped before
its exec while begin probes run, so target() is its pid) or attaches to -x PID, and timer probes
fire while no hit is pending. The session ends at exit(), the command's exit, or SIGINT/SIGTERM;
the tracee is always left running and intact (tapkit.runtime.live).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tapkit.runtime.compiler import CompiledProgram, ProbeSite
from tapkit.runtime.context import Task
from tapkit.runtime.livebind import LiveBinder, LiveBindError, SitePlan
from tapkit.runtime.memory import NoMemory

if TYPE_CHECKING:
    from tapkit.runtime.engine import BuiltinEngine, EventSource
    from tapkit.runtime.live import LiveContext, LiveEngine

_QUOTED = re.compile(r'(\w+)\("((?:[^"\\]|\\.)*)"\)')


LIVE_FLUSH_INTERVAL = 0.0  # each hit's output leaves before the traced program runs on: the two stay in order
NO_PROCESS = ("process probes need a process to trace: give -c CMD (tapkit starts it) or -x PID (tapkit attaches "
              "to it), or --replay FIXTURE.yaml to replay recorded hits")


class LiveSetupError(Exception):
    """A live probe that cannot be placed, or a run that cannot start (the message says why)."""


def is_live_site(site: ProbeSite) -> bool:
    point = site.point
    if site.family == "dwarf":
        return site.module.startswith("process")
    if site.family in ("sdt", "utrace"):
        return point.startswith("process")
    return False


def resolve_path(path: str) -> str:
    """A process("…") path as stap finds it: with a slash relative to the cwd, else on $PATH."""
    found = shutil.which(path) if "/" not in path else (path if os.path.isfile(path) else None)
    if found is None:
        raise LiveSetupError(f"cannot find executable '{path}'")
    return os.path.realpath(found)


@dataclass(eq=False)
class _Site:
    site: ProbeSite
    plan: SitePlan
    path: str | None  # the ELF file the probe is in (None: process.begin of any process)
    process: str | None  # process("EXE").library("LIB"): only in processes running EXE
    name: str = ""  # ELF symbol (kind "symbol"), SDT provider:name (kind "mark"), event name (kind "event")
    pid: int | None = None  # process(PID): only in that process


def _args(site: ProbeSite) -> dict[str, Any]:
    probe = site.probe
    if probe is None:
        return {}
    return {c.functor: (c.arg.value if c.arg is not None else None) for c in probe.point.comps}


class LiveSource:
    """The event source of live process probes (see the module docstring)."""

    drives = True  # the builtin engine hands its loop to drive()

    def __init__(self, program: CompiledProgram, sites: list[_Site], engine: LiveEngine) -> None:
        self.program = program
        self.sites = sites
        self.live = engine
        self.binder = LiveBinder({s.site.index: s.plan for s in sites}, self._symbol_address, self._symbol_resolver)
        self.failure: str | None = None
        self.own_task = engine.context.task  # what begin/end/timer probes see: tapkit itself

    @property
    def context(self) -> LiveContext:
        return self.live.context

    # ---- planning (before the program is instantiated: the binder resolves against the plans) ----

    @classmethod
    def for_program(cls, program: CompiledProgram, traced: bool = True) -> LiveSource | None:
        """The source for the program's live sites (None when it has none); traced: -c or -x was given
        (tapkit traces only what it starts or attaches to, where stap's uprobes see every process)."""
        from tapkit.runtime.live import LiveEngine

        live_sites = [s for s in program.sites if is_live_site(s)]
        if not live_sites:
            return None
        if not traced:
            pids = sorted({a for s in live_sites if isinstance(a := _args(s).get("process"), int)})
            raise LiveSetupError(NO_PROCESS + (f" (for process({pids[0]}): -x {pids[0]})" if pids else ""))
        engine = LiveEngine()
        engine.context.task = Task.current()
        return cls(program, [_plan(s) for s in live_sites], engine)

    def serves(self, site: ProbeSite) -> bool:
        return is_live_site(site)

    def _symbol(self, module: str, name: str) -> tuple[str, int, bool]:
        """@var("name", MODULE) in a user-space file: (path, link-time address, position independent)."""
        from tapkit.runtime.live.elfimage import ElfImage

        m = _QUOTED.search(module)
        spec = m.group(2) if m else module
        if "/" not in spec:
            raise LiveBindError(f"@var(\"{name}\", \"{module}\"): name the executable or library by its path")
        path = resolve_path(spec)
        image = ElfImage.load(path)
        sym = image.by_name.get(name)
        if sym is None:
            raise LiveBindError(f"unable to find global '{name}' in {path}")
        return path, int(sym.address), image.pie

    def _symbol_address(self, module: str, name: str) -> int:
        path, address, pie = self._symbol(module, name)
        if pie:
            raise LiveBindError(f"@var(\"{name}\") in {path}: its address is known only in a running process")
        return address

    def _symbol_resolver(self, module: str, name: str) -> Any:
        """The global's address in the process a hit is in: link-time address plus that file's load bias."""
        from tapkit.runtime.errors import StapError
        from tapkit.runtime.live.space import same_file

        path, address, pie = self._symbol(module, name)
        if not pie:
            return lambda ctx: address

        def at_hit(ctx: Any) -> int:
            space = getattr(ctx, "space", None)
            for mod in space.modules if space is not None else ():
                if mod.path == path or same_file(mod.path, mod.inode, path):
                    return int(address + mod.bias)
            raise StapError(f"@var(\"{name}\"): {path} is not loaded in this process")

        return at_hit

    # ---- EventSource ----

    def start(self, engine: BuiltinEngine) -> None:
        from tapkit.runtime.live import TracerError

        engine.session.flush_interval = LIVE_FLUSH_INTERVAL
        try:
            self._register(engine)
        except TracerError as exc:  # a probe that cannot be placed: the run ends before the command starts
            self.failure = str(exc)
            engine.session.exit()

    def next_due(self) -> int | None:
        return None

    def fire(self, engine: BuiltinEngine) -> None:
        pass

    # ---- placing probes ----

    def _register(self, engine: BuiltinEngine) -> None:
        live = self.live
        for s in self.sites:
            callback = self._callback(engine, s)
            plan = s.plan
            if plan.kind == "event":
                exe = s.path
                hook = {"begin": live.on_process_begin, "end": live.on_process_end,
                        "thread.begin": live.on_thread_begin, "thread.end": live.on_thread_end}[s.name]
                hook(callback if s.pid is None else _only_in(s.pid, callback), process=exe)
                continue
            assert s.path is not None
            pid = s.pid
            if plan.kind == "mark":
                provider, _, name = s.name.partition(":")
                live.add_mark(s.path, provider or None, name or None, callback, process=s.process, pid=pid)
                continue
            if plan.kind == "symbol":
                live.add_function(s.path, s.name, callback, process=s.process, pid=pid,
                                  kind="return" if s.site.is_return else "entry", name=s.site.point,
                                  on_entry=plan.save_entry if plan.saves_at_entry else None)
                continue
            fn = plan.function
            assert fn is not None
            if plan.kind == "entry":
                live.add_function(s.path, fn, callback, process=s.process, pid=pid, name=s.site.point)
            elif plan.kind == "return":
                live.add_function(s.path, fn, callback, kind="return", process=s.process, pid=pid,
                                  name=s.site.point, on_entry=plan.save_entry if plan.saves_at_entry else None)
            elif plan.kind == "inline":
                for pc in plan.inline_variables:
                    live.add_address(s.path, pc, callback, process=s.process, pid=pid, function=fn,
                                     name=s.site.point)
            else:
                entry_values = fn.entry_address is not None
                for pc in plan.addresses:
                    live.add_address(s.path, pc, callback, process=s.process, pid=pid, function=fn,
                                     name=s.site.point, entry_values=entry_values)

    def _callback(self, engine: BuiltinEngine, s: _Site) -> Any:
        handler = engine.handlers[s.site.index]
        return self.live.session_callback(engine.session, handler, live_point(s.site), live_name(s.site))

    # ---- running ----

    def hold(self, command: Sequence[str]) -> int:
        from tapkit.runtime.live import TracerError

        if not command or (shutil.which(command[0]) is None and not os.path.exists(command[0])):
            raise FileNotFoundError(2, "No such file or directory", command[0] if command else "")
        try:
            return self.live.hold(command)
        except TracerError as exc:
            raise LiveSetupError(str(exc)) from None

    def release(self) -> None:
        self.live.release_held()

    def drive(self, engine: BuiltinEngine, others: Sequence[EventSource]) -> bool:
        """Run the traced command (or the attached process) with timers serviced between hits.
        True when the run ended for good (exit, the command's end, a signal, an error)."""
        from tapkit.runtime.live import TracerError

        session, opts, live = engine.session, engine.options, self.live

        def idle() -> float | None:
            import time

            now = time.monotonic_ns()
            for src in others:
                due = src.next_due()
                if due is not None and due <= now:
                    neutral(self.context, self.own_task)
                    src.fire(engine)
            session.flush()
            upcoming = [d for d in (src.next_due() for src in others) if d is not None]
            if not upcoming:
                session.sync()
                return None
            wait = max(0.0, (min(upcoming) - time.monotonic_ns()) / 1e9)
            if wait > 0.05:
                session.sync()
            return wait

        if self.failure is not None:
            self.release()
            return True
        wake = engine._wake_r if engine._wake_r >= 0 else None
        # waiting with an idle hook costs a few syscalls per hit: only when something (timers) needs it
        timed = idle if any(src.next_due() is not None for src in others) else None
        try:
            if opts.command is not None:
                result = live.run(list(opts.command), should_stop=lambda: session.exit_requested, idle=timed,
                                  wake_fd=wake)
            elif opts.target_pid is not None:
                result = live.run(pid=opts.target_pid, should_stop=lambda: session.exit_requested, idle=timed,
                                  wake_fd=wake)
            else:
                raise LiveSetupError(NO_PROCESS)
        except (TracerError, OSError) as exc:  # the tracee was detached and left running before this
            self.failure = str(exc) if isinstance(exc, TracerError) else f"live tracing failed: {exc}"
            session.exit()
            return True
        finally:
            neutral(self.context, self.own_task)
        if result.interrupted_by:
            engine.interrupted = result.interrupted_by
            session.exit()
            return True
        if opts.command is not None or session.exit_requested:
            session.exit()
            return True
        return False  # -x: the process is gone; timers (if any) go on, as in stap


def _only_in(pid: int, callback: Any) -> Any:
    """process(PID).begin/.end: the event hook, for that process only."""
    def hook(ctx: LiveContext) -> None:
        if ctx.process is not None and ctx.process.pid == pid:
            callback(ctx)

    return hook


def _pid_executable(pid: int) -> str:
    """process(PID): the executable the process runs (as pass 2 resolved it)."""
    try:
        return os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
    except OSError as exc:
        raise LiveSetupError(f"cannot probe pid {pid}: {exc.strerror}") from None


def neutral(ctx: LiveContext, task: Task) -> None:
    """Between hits (begin, end, timers): no thread, no registers, tapkit itself as the task."""
    ctx.task = task
    ctx.memory = NoMemory()
    ctx.thread = ctx.process = ctx.module = ctx.live_probe = ctx.return_frame = ctx.entry_regs = None
    ctx.entry = None
    ctx.probefunc = ""


def _resolved(point: str, args: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        raw = args.get(key)
        if isinstance(raw, str):
            with contextlib.suppress(LiveSetupError):
                resolved = resolve_path(raw)
                point = point.replace(f'{key}("{raw}")', f'{key}("{resolved}")', 1)
    return point


def live_name(site: ProbeSite) -> str:
    """pn() of a live site: the compiled name with the executable by its resolved path (stap names the
    derived point by the file it found)."""
    return _resolved(site.name, _args(site), ("process",))


def live_point(site: ProbeSite) -> str:
    """pp() as stap prints it for a live site: the executable and library by their resolved paths (a
    library's probe as a probe on the library file itself), a .statement by the line it was placed
    at, and the .call/.inline suffixes written."""
    args = _args(site)
    point = _resolved(site.point, args, ("process", "library"))
    if isinstance(args.get("library"), str):
        point = re.sub(r'^process\("(?:[^"\\]|\\.)*"\)\.library\(("(?:[^"\\]|\\.)*")\)', r"process(\1)", point,
                       count=1)
    statement = args.get("statement")
    if isinstance(statement, str) and "@" in statement:
        line = statement.rpartition(":")[2]
        if line.isdigit():
            point = re.sub(r':\d+"\)', f':{line}")', point, count=1)
    for suffix in ("call", "inline"):
        if suffix in args and not point.endswith(f".{suffix}"):
            point += f".{suffix}"
    return point


def _plan(site: ProbeSite) -> _Site:
    args = _args(site)
    probe = site.probe
    assert probe is not None
    ctx = probe.context
    raw = args.get("process")
    pid = raw if isinstance(raw, int) else None
    exe = resolve_path(raw) if isinstance(raw, str) else _pid_executable(raw) if isinstance(raw, int) else None
    lib = args.get("library")
    path = _library_file(site, lib) if isinstance(lib, str) else exe
    process = exe if isinstance(lib, str) else None
    if site.family == "utrace":
        event = "thread." if "thread" in args else ""
        event += "begin" if "begin" in args else "end" if "end" in args else ""
        if event not in ("begin", "end", "thread.begin", "thread.end"):
            raise LiveSetupError(f"probe {site.point}: only process .begin/.end and .thread.begin/.end are served "
                                 "live (syscall and insn probes need the kernel's utrace)")
        return _Site(site, SitePlan("event"), exe, None, event, pid)
    if site.family == "sdt":
        m = dict(_QUOTED.findall(site.point))
        return _Site(site, SitePlan("mark"), path, process, f"{m.get('provider', '')}:{m.get('mark', '')}", pid)
    fn, info = ctx.function, ctx.debuginfo
    if fn is None or info is None:  # a file without DWARF: its ELF symbols
        m = dict(_QUOTED.findall(site.point))
        name = m.get("function") or m.get("statement") or ""
        return _Site(site, SitePlan("symbol", returns=site.is_return), path, process, name, pid)
    assert path is not None
    if ctx.statement:
        return _Site(site, _statement_plan(site, args, path, info, fn), path, process, pid=pid)
    if "inline" in args:
        plan = SitePlan("inline", info, fn, inline_variables={s.entry: s.variables for s in fn.inline_sites})
        plan.bias_of = _bias
        return _Site(site, plan, path, process, pid=pid)
    if fn.entry_address is None:
        if site.is_return or "call" in args:
            raise LiveSetupError(f"probe {site.point}: {fn.name} is inlined everywhere in {path}: no call to "
                                 "probe (use .inline)")
        plan = SitePlan("inline", info, fn, inline_variables={s.entry: s.variables for s in fn.inline_sites})
        plan.bias_of = _bias
        return _Site(site, plan, path, process, pid=pid)
    return _Site(site, SitePlan("return" if site.is_return else "entry", info, fn), path, process, pid=pid)


def _library_file(site: ProbeSite, lib: str) -> str:
    """The library file pass 2 derived the site for (a bare name or glob matched among the
    executable's libraries): the probe's module, or the file its point names."""
    probe = site.probe
    module = probe.context.module if probe is not None else ""
    m = _QUOTED.fullmatch(module) or _QUOTED.match(site.point)
    if m is not None and m.group(1) == "process" and m.group(2).startswith("/"):
        return os.path.realpath(m.group(2))
    return resolve_path(lib)


def _statement_plan(site: ProbeSite, args: dict[str, Any], path: str, info: Any, fn: Any) -> SitePlan:
    from tapkit.runtime.live.lines import statement_addresses

    text = args.get("statement")
    addresses: list[int] = []
    if isinstance(text, int):
        addresses = [text]
    elif isinstance(text, str) and "@" in text and ":" in text:
        where = text.split("@", 1)[1]
        file, _, line = where.rpartition(":")
        if not line.isdigit():
            raise LiveSetupError(f"probe {site.point}: a live .statement takes one line (FUNC@FILE:LINE)")
        ranges = tuple(fn.ranges) or ((fn.low_pc or 0, fn.high_pc or 0),)
        addresses = statement_addresses(path, file, int(line), ranges)
        if not addresses:
            raise LiveSetupError(f"probe {site.point}: no code for line {line} of {file} in {fn.name}")
    elif fn.entry_address is not None:
        addresses = [fn.entry_address]
    if not addresses:
        raise LiveSetupError(f"probe {site.point}: no address to place it at")
    plan = SitePlan("address", info, fn, addresses=tuple(addresses))
    plan.bias_of = _bias
    return plan


def _bias(ctx: LiveContext) -> int:
    return ctx.module.bias if ctx.module is not None else 0


__all__ = ["LiveSetupError", "LiveSource", "is_live_site", "neutral", "resolve_path"]
