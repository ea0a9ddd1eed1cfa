"""The probe context (stap's per-CPU `struct context`) and the context/time tapset functions.

The event source fills in who was running (`Task`), the CPU, the probe point, and the
memory its target variables live in; compiled code reads them through the functions
below (or the attributes directly).
"""

from __future__ import annotations

import functools
import gzip
import os
import re
import threading
import time
from dataclasses import dataclass

from tapkit.runtime.arith import wrap
from tapkit.runtime.memory import Memory, NoMemory
from tapkit.runtime.strings import MAX_CHARS, TokenizeState

MAXACTION = 1000
MAXACTION_INTERRUPTIBLE = MAXACTION * 10  # what probes get: runtime_defines.h sets INTERRUPTIBLE 1


@dataclass(frozen=True, slots=True)
class Task:
    """The task a probe hit interrupted (current->...)."""

    pid: int
    tid: int
    ppid: int
    uid: int
    euid: int
    gid: int
    egid: int
    execname: str
    pexecname: str = ""

    @classmethod
    def of_process(cls, pid: int, tid: int | None = None) -> Task:
        """Read a live process from /proc (comm is at most 15 bytes, as in the kernel)."""
        status: dict[str, str] = {}
        with open(f"/proc/{pid}/status", encoding="latin-1") as f:
            for line in f:
                name, _, value = line.partition(":")
                status[name] = value.strip()
        uids = status.get("Uid", "0 0").split()
        gids = status.get("Gid", "0 0").split()
        ppid = int(status.get("PPid", "0"))
        return cls(pid=pid, tid=tid if tid is not None else pid, ppid=ppid, uid=int(uids[0]), euid=int(uids[1]),
                   gid=int(gids[0]), egid=int(gids[1]), execname=_comm(pid), pexecname=_comm(ppid) if ppid else "")

    @classmethod
    def current(cls) -> Task:
        """This Python process: what begin/end/timer probes see here."""
        pid = os.getpid()
        return cls(pid=pid, tid=threading.get_native_id(), ppid=os.getppid(), uid=os.getuid(), euid=os.geteuid(),
                   gid=os.getgid(), egid=os.getegid(), execname=_comm(pid), pexecname=_comm(os.getppid()))


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="latin-1") as f:
            return f.read().rstrip("\n")
    except OSError:
        return ""


class Context:
    """One probe hit's view of the world, reused across hits like stap's per-CPU context.

    Per hit (reset by Session.run_probe): probe_point, probe_name, actionremaining,
    nesting. Kept across hits: task/cpu/memory (the event source updates them) and
    the tokenize() state, which lives in the per-CPU context in stap too.
    """

    __slots__ = ("actionremaining", "cpu", "kernel_frames", "memory", "nesting", "probe_name", "probe_point",
                 "probefunc", "regex_match", "session", "target", "task", "task_address", "tokenize")

    def __init__(self, task: Task | None = None, cpu: int = 0, memory: Memory | None = None, target: int = 0) -> None:
        self.task = task if task is not None else Task.current()
        self.cpu = cpu
        self.memory: Memory = memory if memory is not None else NoMemory()
        self.target = target
        self.probe_point = ""
        self.probe_name = ""
        self.probefunc = ""
        self.actionremaining = MAXACTION_INTERRUPTIBLE
        self.nesting = -1
        self.tokenize = TokenizeState()
        self.session: object = None
        self.regex_match: re.Match[str] | None = None  # the last =~ match, for matched() (regex.stp)
        self.task_address = 0  # task_current(): the event source's address of the current task_struct
        self.kernel_frames: tuple[str, ...] = ()  # print_backtrace() lines the event source knows, if any


# ---- context functions (context.stp, pn.stp) ----


def pid(ctx: Context) -> int:
    return ctx.task.pid


def tid(ctx: Context) -> int:
    return ctx.task.tid


def ppid(ctx: Context) -> int:
    return ctx.task.ppid


def uid(ctx: Context) -> int:
    return ctx.task.uid


def euid(ctx: Context) -> int:
    return ctx.task.euid


def gid(ctx: Context) -> int:
    return ctx.task.gid


def egid(ctx: Context) -> int:
    return ctx.task.egid


def execname(ctx: Context) -> str:
    return ctx.task.execname


def pexecname(ctx: Context) -> str:
    return ctx.task.pexecname


def cpu(ctx: Context) -> int:
    return ctx.cpu


def target(ctx: Context) -> int:
    """The -x PID or the -c command's pid; 0 without either."""
    return ctx.target


def pp(ctx: Context) -> str:
    return ctx.probe_point[:MAX_CHARS]


def pn(ctx: Context) -> str:
    return (ctx.probe_name or ctx.probe_point)[:MAX_CHARS]


def ppfunc(ctx: Context) -> str:
    """The function name inside pp()'s function("...") or statement("..."), else ""."""
    point = ctx.probe_point
    for marker in ('function("', 'statement("'):
        start = point.find(marker)
        if start >= 0:
            name: list[str] = []
            for ch in point[start + len(marker):]:
                if ch in '@"' or len(name) >= MAX_CHARS:
                    break
                name.append(ch)
            return "".join(name)
    return ""


def probefunc(ctx: Context) -> str:
    """symname(addr()) in stap 4.8: the event source knows the address; "" when it has none."""
    return ctx.probefunc


# ---- time (timestamp_gtod.stp, timestamp.stp) ----


def gettimeofday_ns() -> int:
    return time.time_ns()


def gettimeofday_us() -> int:
    return time.time_ns() // 1000


def gettimeofday_ms() -> int:
    return time.time_ns() // 1000000


def gettimeofday_s() -> int:
    return time.time_ns() // 1000000000


def get_cycles() -> int:
    """The TSC is out of Python's reach: a monotonic nanosecond counter stands in for it."""
    return time.perf_counter_ns()


@functools.cache
def kernel_hz() -> int:
    """CONFIG_HZ of the running kernel (from /proc/config.gz); Debian's 250 when unknown."""
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            for line in f:
                if line.startswith("CONFIG_HZ="):
                    return int(line.split("=", 1)[1])
    except (OSError, ValueError):
        pass
    return 250


def HZ() -> int:
    return kernel_hz()


def jiffies() -> int:
    """jiffies_64: INITIAL_JIFFIES (5 minutes before the 32-bit wrap) plus uptime in ticks."""
    hz = kernel_hz()
    initial = (-300 * hz) & 0xFFFFFFFF
    return wrap(initial + time.clock_gettime_ns(time.CLOCK_MONOTONIC) * hz // 1000000000)
