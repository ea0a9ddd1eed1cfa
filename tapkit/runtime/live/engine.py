"""LiveEngine: live user-space probes as an event source for a tapkit Session (see __init__.py for the API)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tapkit.debuginfo import Function
from tapkit.runtime.context import Context, Task
from tapkit.runtime.live import symbols
from tapkit.runtime.live.elfimage import ElfImage
from tapkit.runtime.live.procfs import ProcessMemory
from tapkit.runtime.live.ptrace import DWARF_REGS, Registers
from tapkit.runtime.live.sdt import Marker, markers
from tapkit.runtime.live.space import AddressSpace, Breakpoint, LoadedModule, same_file
from tapkit.runtime.live.tracer import Process, ReturnFrame, Thread, Tracer, TracerError
from tapkit.runtime.memory import MemoryFault
from tapkit.runtime.session import Handler, Session, SessionState

ProbeKind = Literal["entry", "return", "address", "mark"]
Callback = Callable[["LiveContext"], None]
EntryCallback = Callable[["LiveContext"], object]


class LiveContext(Context):
    """The runtime Context of a live probe hit: who hit it (task, thread, process), where (pc, module),
    the registers (writable in guru mode), memory, and for return probes the entry state."""

    __slots__ = ("entry", "entry_regs", "live_probe", "module", "pc", "process", "regs", "return_frame", "space",
                 "thread")

    def __init__(self) -> None:
        super().__init__(task=Task(0, 0, 0, 0, 0, 0, 0, ""))
        self.thread: Thread | None = None
        self.process: Process | None = None
        self.space: AddressSpace = None  # type: ignore[assignment]  # set at every hit
        self.regs: Registers = Registers()
        self.pc = 0
        self.module: LoadedModule | None = None
        self.live_probe: LiveProbe | None = None
        self.return_frame: ReturnFrame | None = None
        self.entry_regs: Registers | None = None
        self.entry: object = None

    # registers and $return
    def register(self, name: str) -> int:
        value: int = getattr(self.regs, name)
        return value

    def set_register(self, name: str, value: int) -> None:
        """Guru mode: the thread resumes with this register value."""
        setattr(self.regs, name, value & 0xFFFFFFFFFFFFFFFF)

    def dwarf_register(self, regno: int) -> int:
        value: int = getattr(self.regs, DWARF_REGS[regno])
        return value

    @property
    def uaddr(self) -> int:
        value: int = self.regs.rip
        return value

    # backtraces and symbols (stap's formats; see symbols.py)
    def ubacktrace_pcs(self) -> list[int]:
        shadow = [(f.slot, f.return_address) for f in self.thread.shadow] if self.thread is not None else []
        if self.return_frame is not None:
            shadow.append((self.return_frame.slot, self.return_frame.return_address))
        return symbols.unwind(self.space, self.regs, shadow)

    def print_ubacktrace(self) -> str:
        returning = self.return_frame.function if self.return_frame is not None else None
        return symbols.print_ubacktrace(self.space, self.ubacktrace_pcs(), returning)

    def sprint_ubacktrace(self) -> str:
        return symbols.sprint_ubacktrace(self.space, self.ubacktrace_pcs())

    def ubacktrace(self) -> str:
        return symbols.ubacktrace(self.ubacktrace_pcs())

    def usymname(self, address: int) -> str:
        return symbols.usymname(self.space, address)

    def usymdata(self, address: int) -> str:
        return symbols.usymdata(self.space, address)

    def umodname(self, address: int) -> str | None:
        return symbols.umodname(self.space, address)

    # SDT markers
    def mark_argument(self, n: int) -> int:
        """$argN (1-based) of an SDT marker probe."""
        probe = self.live_probe
        if probe is None or probe.marker is None or not 1 <= n <= len(probe.marker.arguments):
            raise IndexError(f"marker has no argument {n}")
        return probe.marker.arguments[n - 1].read(self)


@dataclass(eq=False)
class LiveProbe:
    """One registered probe. address is link-time (as debuginfo and the ELF file give it)."""

    kind: ProbeKind
    path: str
    address: int
    callback: Callback
    name: str = ""
    process: str | None = None  # only in processes running this executable (realpath)
    pid: int | None = None  # only in this process
    function: Function | None = None
    function_name: str = ""
    on_entry: EntryCallback | None = None  # return probes: runs at entry, its value is ctx.entry at return
    marker: Marker | None = None
    hits: int = 0
    entry_of: int | None = None  # address probes: the function whose entry registers they use
    internal: bool = False  # tapkit's own (keeps entry registers for entry_values): no callback, not counted


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a live run ended: the target's exit code or fatal signal, or why tapkit stopped first."""

    status: int | None
    exit_code: int | None
    signal: int | None
    interrupted_by: int  # SIGINT/SIGTERM that ended the run, else 0
    stopped: bool  # the session asked to stop (exit()) while the target ran
    hits: int
    detach_problems: tuple[str, ...] = ()


@dataclass(eq=False)
class _EventHooks:
    process_begin: list[tuple[Callback, str | None]] = field(default_factory=list)
    process_end: list[tuple[Callback, str | None]] = field(default_factory=list)
    thread_begin: list[tuple[Callback, str | None]] = field(default_factory=list)
    thread_end: list[tuple[Callback, str | None]] = field(default_factory=list)


class LiveEngine:
    """Register probes, then run(command=...) or run(pid=...)."""

    def __init__(self, context: LiveContext | None = None, *, out_of_line: bool = True) -> None:
        self.context = context if context is not None else LiveContext()
        self.probes: list[LiveProbe] = []
        self.hooks = _EventHooks()
        self.tracer = Tracer(self, out_of_line=out_of_line)
        self._stop = False
        self._held: int | None = None
        self.hits = 0

    # ---- registering ----

    def add_function(self, path: str, function: Function | str, callback: Callback, *,
                     kind: Literal["entry", "return"] = "entry", process: str | None = None, pid: int | None = None,
                     on_entry: EntryCallback | None = None, name: str = "") -> LiveProbe:
        """A probe on a function's own entry address (kind "entry", stap's .function/.call) or on its
        return (kind "return"). function: a debuginfo Function, or a name from the ELF symbol table."""
        path = _real(path)
        if isinstance(function, Function):
            address = function.entry_address
            if address is None:
                raise TracerError(f"{function.name} has no out-of-line copy in {path} (inlined everywhere)")
            fname = function.name
            fn: Function | None = function
        else:
            sym = ElfImage.load(path).by_name.get(function)
            if sym is None:
                raise TracerError(f"no function {function!r} in {path}")
            address, fname, fn = sym.address, function, None
        probe = LiveProbe(kind, path, address, callback, name or f'process("{path}").function("{fname}")'
                          + (".return" if kind == "return" else ""), _real_or_none(process), pid, fn, fname,
                          on_entry)
        self.probes.append(probe)
        return probe

    def add_address(self, path: str, address: int, callback: Callback, *, process: str | None = None,
                    pid: int | None = None, function: Function | None = None, name: str = "",
                    entry_values: bool = False) -> LiveProbe:
        """A probe on any instruction (stap's .statement, and inlined copies at InlineSite.entry).

        entry_values: the function's registers at entry are kept for the length of each call, so that
        DW_OP_entry_value locations (common in -O2 code) can be read here (ctx.entry_regs)."""
        path = _real(path)
        probe = LiveProbe("address", path, address, callback, name or f'process("{path}").statement({address:#x})',
                          _real_or_none(process), pid, function, function.name if function else "")
        self.probes.append(probe)
        if entry_values:
            if function is None or function.entry_address is None:
                raise TracerError("entry values need the probe's function (with an out-of-line entry)")
            probe.entry_of = function.entry_address
            self.probes.append(LiveProbe("return", path, function.entry_address, _ignore, "", probe.process, pid,
                                         function, function.name, internal=True))
        return probe

    def add_mark(self, path: str, provider: str | None, name: str | None, callback: Callback, *,
                 process: str | None = None, pid: int | None = None) -> list[LiveProbe]:
        """Probes on every SDT marker site matching provider/name (None: any)."""
        path = _real(path)
        found = markers(ElfImage.load(path), provider, name)
        if not found:
            raise TracerError(f"no SDT marker {provider or '*'}:{name or '*'} in {path}")
        out = []
        for marker in found:
            probe = LiveProbe("mark", path, marker.pc, callback,
                              f'process("{path}").provider("{marker.provider}").mark("{marker.name}")',
                              _real_or_none(process), pid, marker=marker)
            self.probes.append(probe)
            out.append(probe)
        return out

    def on_process_begin(self, callback: Callback, process: str | None = None) -> None:
        self.hooks.process_begin.append((callback, _real_or_none(process)))

    def on_process_end(self, callback: Callback, process: str | None = None) -> None:
        self.hooks.process_end.append((callback, _real_or_none(process)))

    def on_thread_begin(self, callback: Callback, process: str | None = None) -> None:
        self.hooks.thread_begin.append((callback, _real_or_none(process)))

    def on_thread_end(self, callback: Callback, process: str | None = None) -> None:
        self.hooks.thread_end.append((callback, _real_or_none(process)))

    # ---- running ----

    def stop(self) -> None:
        """End the run after the current hit (the session's exit())."""
        self._stop = True

    def session_callback(self, session: Session, handler: Handler, point: str, probe_name: str = "") -> Callback:
        """A probe callback running a compiled handler under the session's protocol (state, MAXACTION,
        errors, buffered output); the run ends when the session wants to exit (exit(), too many errors).
        The session must have been made with context=engine.context."""
        if session.context is not self.context:
            raise TracerError("the session must use the engine's context: Session(context=engine.context)")
        run_probe = session.run_probe

        def callback(ctx: LiveContext) -> None:
            run_probe(handler, point, SessionState.RUNNING, probe_name)
            if session.exit_requested:
                self._stop = True

        return callback

    def hold(self, command: Sequence[str], env: dict[str, str] | None = None) -> int:
        """Fork the -c command now, stopped before its exec, so target() is its pid before run(command)
        starts it (stap runs begin probes first the same way). release_held() if run never comes."""
        self._held = Tracer.fork_held(command, env)
        self.context.target = self._held
        return self._held

    def release_held(self) -> None:
        """The session ended before run: the held command never starts."""
        if self._held is not None:
            import contextlib

            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(self._held, signal.SIGKILL)
                os.waitpid(self._held, 0)
            self._held = None

    def run(self, command: Sequence[str] | None = None, pid: int | None = None, *,
            should_stop: Callable[[], bool] | None = None, env: dict[str, str] | None = None,
            idle: Callable[[], float | None] | None = None, wake_fd: int | None = None) -> RunResult:
        """Start command (stap -c) or attach to pid (stap -x); serve probes until the target exits,
        stop()/should_stop(), or SIGINT/SIGTERM. The tracee is left running, unmodified, either way.
        idle/wake_fd: run other work (timers) while no hit is pending (Tracer.run)."""
        if (command is None) == (pid is None):
            raise TracerError("give either a command or a pid")
        tracer = self.tracer
        old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            if command is not None:
                held, self._held = self._held, None
                target = tracer.spawn(command, env, held)
            else:
                assert pid is not None
                target = tracer.attach(pid)
            self.context.target = target.pid
            status = tracer.run(lambda: self._stop or (should_stop is not None and should_stop()), idle, wake_fd)
        except BaseException:
            tracer.detach_all()
            raise
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
        exit_code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
        killed = os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else None
        return RunResult(status, exit_code, killed, tracer.interrupted_by, self._stop, self.hits)

    # ---- the tracer's listener ----

    def image_loaded(self, process: Process, thread: Thread, modules: list[LoadedModule]) -> None:
        exe = _real(process.exe) if process.exe else ""
        for mod in modules:
            probes = [p for p in self.probes if (p.process is None or p.process == exe)
                      and (p.pid is None or p.pid == process.pid) and _same_module(mod, p.path)]
            returns: dict[int, list[LiveProbe]] = {}
            for probe in probes:
                address = probe.address + mod.bias
                if probe.kind == "return":
                    returns.setdefault(address, []).append(probe)
                    continue
                self.tracer.insert(thread, address, self._entry_action(probe, mod))
                if probe.marker is not None and probe.marker.semaphore:
                    process.space.bump_semaphore(probe.marker.semaphore + mod.bias)
            for address, group in returns.items():
                self.tracer.insert(thread, address, self._return_action(group, mod))

    def process_started(self, process: Process, thread: Thread) -> None:
        self._fire(self.hooks.process_begin, thread)

    def thread_started(self, thread: Thread) -> None:
        self._fire(self.hooks.thread_begin, thread)

    def thread_exiting(self, thread: Thread, last: bool) -> None:
        self._fire(self.hooks.thread_end, thread)
        if last:
            self._fire(self.hooks.process_end, thread)

    # ---- hits ----

    def _fire(self, hooks: list[tuple[Callback, str | None]], thread: Thread) -> None:
        if not hooks:
            return
        from tapkit.runtime.live.ptrace import get_regs

        exe = _real(thread.process.exe) if thread.process.exe else ""
        get_regs(thread.tid, thread.regs)
        for callback, process in hooks:
            if process is None or process == exe:
                ctx = self._prepare(thread, None, None)
                callback(ctx)

    def _prepare(self, thread: Thread, probe: LiveProbe | None, module: LoadedModule | None) -> LiveContext:
        ctx = self.context
        space = thread.process.space
        task = thread.task_cache
        if task is None:
            task = thread.task_cache = _task(thread)
        ctx.task = task  # type: ignore[assignment]
        ctx.thread = thread
        ctx.process = thread.process
        ctx.space = space
        ctx.memory = space.memory
        ctx.regs = thread.regs
        ctx.pc = thread.regs.rip
        ctx.module = module
        ctx.live_probe = probe
        ctx.probefunc = probe.function_name if probe is not None else ""
        ctx.return_frame = None
        ctx.entry_regs = None
        ctx.entry = None
        return ctx

    def _entry_action(self, probe: LiveProbe, module: LoadedModule) -> Callable[[Thread, Breakpoint], None]:
        at_entry = probe.kind == "entry"

        entry_of = probe.entry_of + module.bias if probe.entry_of is not None else None

        def action(thread: Thread, bp: Breakpoint) -> None:
            ctx = self._prepare(thread, probe, module)
            if at_entry:
                ctx.entry_regs = thread.regs
            elif entry_of is not None:
                frame = next((f for f in reversed(thread.shadow) if f.function == entry_of), None)
                ctx.entry_regs = frame.entry_regs if frame is not None else None
            probe.hits += 1
            self.hits += 1
            probe.callback(ctx)

        return action

    def _return_action(self, group: list[LiveProbe], module: LoadedModule) -> Callable[[Thread, Breakpoint], None]:
        def at_return(thread: Thread, frame: ReturnFrame) -> None:
            for probe, saved in zip(group, frame.data, strict=True):
                if probe.internal:
                    continue
                ctx = self._prepare(thread, probe, module)
                ctx.return_frame = frame
                ctx.entry_regs = frame.entry_regs
                ctx.entry = saved
                probe.hits += 1
                self.hits += 1
                probe.callback(ctx)

        def at_entry(thread: Thread, bp: Breakpoint) -> None:
            saved: list[object] = []
            for probe in group:
                if probe.on_entry is None:
                    saved.append(None)
                    continue
                ctx = self._prepare(thread, probe, module)
                ctx.entry_regs = thread.regs
                saved.append(probe.on_entry(ctx))
            frame = self.tracer.hook_return(thread, bp.address, (at_return,))
            if frame is not None:
                frame.data = saved

        return at_entry


def _ignore(ctx: LiveContext) -> None:
    pass


def _task(thread: Thread) -> Task:
    """The thread's task as stap's context functions see it: execname() is the thread's own comm
    (pthread_setname_np changes it), uid/gid and ppid those of the process."""
    pid, tid = thread.process.pid, thread.tid
    try:
        base = Task.of_process(pid, tid)
    except OSError:
        return Task(pid, tid, 0, 0, 0, 0, 0, os.path.basename(thread.process.exe)[:15])
    try:
        with open(f"/proc/{pid}/task/{tid}/comm", encoding="latin-1") as f:
            comm = f.read().rstrip("\n")
    except OSError:
        return base
    return Task(base.pid, base.tid, base.ppid, base.uid, base.euid, base.gid, base.egid, comm, base.pexecname)


def _real(path: str) -> str:
    return os.path.realpath(path)


def _real_or_none(path: str | None) -> str | None:
    return os.path.realpath(path) if path is not None else None


def _same_module(mod: LoadedModule, path: str) -> bool:
    return mod.path == path or same_file(mod.path, mod.inode, path)


__all__ = ["LiveContext", "LiveEngine", "LiveProbe", "MemoryFault", "ProcessMemory", "RunResult"]
