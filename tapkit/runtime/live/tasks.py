"""The tracer's record of what it follows: processes, their threads, and calls whose return it hooked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tapkit.runtime.live.procfs import exe_path
from tapkit.runtime.live.ptrace import Registers
from tapkit.runtime.live.space import AddressSpace, LoadedModule


class TracerError(Exception):
    """The tracer cannot do what was asked (start the command, attach, place a breakpoint)."""


@dataclass(eq=False, slots=True)
class ReturnFrame:
    """A call whose return address tapkit replaced with the trampoline (one per probed call in flight)."""

    slot: int  # stack address of the return address
    return_address: int
    function: int  # the probed function's entry address
    callbacks: Sequence[Callable[[Thread, ReturnFrame], None]]
    entry_regs: Registers
    data: list[object] = field(default_factory=list)  # per-probe values saved at entry (@entry)


class Thread:
    __slots__ = ("announce", "exiting", "held", "pending_signals", "process", "regs", "running", "shadow", "started",
                 "task_cache", "tid")

    def __init__(self, tid: int, process: Process) -> None:
        self.tid = tid
        self.process = process
        self.regs = Registers()
        self.shadow: list[ReturnFrame] = []
        self.running = False
        self.started = False  # an auto-attached thread reports one initial stop first
        # Why the thread is stopped while tapkit holds it: ("bp", addr), ("tramp", return address),
        # ("signal", sig), ("group", sig), ("queued", 0) (a status to process later), ("quiet", 0).
        self.held: tuple[str, int] | None = None
        self.pending_signals: list[int] = []
        self.task_cache: object = None
        self.announce = ""  # "thread" or "process": tell the listener at the initial stop
        self.exiting = False  # reported PTRACE_EVENT_EXIT (a leader that exits first lingers until the last)

    def __repr__(self) -> str:
        return f"<Thread {self.tid} of {self.process.pid}>"


class Process:
    __slots__ = ("exe", "pid", "space", "threads")

    def __init__(self, pid: int, space: AddressSpace) -> None:
        self.pid = pid
        self.space = space
        self.threads: dict[int, Thread] = {}
        self.exe = exe_path(pid)

    def __repr__(self) -> str:
        return f"<Process {self.pid} {self.exe}>"


class Listener(Protocol):
    """What the tracer tells its user (the engine)."""

    def image_loaded(self, process: Process, thread: Thread, modules: list[LoadedModule]) -> None:
        """New files are mapped (exec, attach, dlopen); thread is stopped and may be used to insert."""

    def process_started(self, process: Process, thread: Thread) -> None: ...

    def thread_started(self, thread: Thread) -> None: ...

    def thread_exiting(self, thread: Thread, last: bool) -> None: ...


def thread_group(tid: int) -> int:
    """The Tgid of a task (0 when it is gone)."""
    try:
        with open(f"/proc/{tid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Tgid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
