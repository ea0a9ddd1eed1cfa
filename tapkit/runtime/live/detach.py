"""Leaving the tracee as it was: stop every thread, undo every change, detach.

Order matters. First every thread is stopped (statuses that arrive meanwhile are settled: a thread
caught on a breakpoint or the return trampoline is rewound to run the original code; a signal in
transit is kept to be re-delivered by PTRACE_DETACH; a child born meanwhile is adopted so that its
copy is cleaned too). Then return addresses replaced on stacks are put back, breakpoints and SDT
semaphores restored, and each thread detached. Scratch pages stay mapped: a thread may be running
a copied instruction there, and it needs the jump back.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
from typing import TYPE_CHECKING

from tapkit.runtime.live import ptrace
from tapkit.runtime.live.space import AddressSpace
from tapkit.runtime.live.tasks import Thread
from tapkit.runtime.memory import MemoryFault

if TYPE_CHECKING:
    from tapkit.runtime.live.tracer import Tracer


def detach_all(tracer: Tracer) -> list[str]:
    """Returns the problems met (empty when everything was restored)."""
    problems: list[str] = []
    for proc in list(tracer.processes.values()):
        for thread in list(proc.threads.values()):
            if thread.running:
                tracer.hold(thread)
    while tracer.queue:  # statuses that arrived while holding, or were left for the main loop
        tid, status = tracer.queue.popleft()
        queued = tracer.threads.get(tid)
        if queued is not None:
            _settle(tracer, queued, status)
    for proc in list(tracer.processes.values()):
        for thread in proc.threads.values():
            if thread.held is not None and thread.held[0] in ("bp", "tramp"):
                _rewind(thread)
    spaces = {id(p.space): p.space for p in tracer.processes.values()}
    for proc in tracer.processes.values():
        for thread in proc.threads.values():
            for frame in reversed(thread.shadow):
                with contextlib.suppress(MemoryFault):
                    if proc.space.memory.read_word(frame.slot) == proc.space.trampoline:
                        proc.space.memory.write_word(frame.slot, frame.return_address)
            thread.shadow.clear()
    for space in spaces.values():
        problems += space.remove_all()
    for proc in list(tracer.processes.values()):
        for thread in list(proc.threads.values()):
            sig = 0
            if thread.held is not None and thread.held[0] == "signal":
                sig = thread.held[1]
            elif thread.pending_signals:
                sig = thread.pending_signals[0]
            try:
                ptrace.detach(thread.tid, sig)
            except ptrace.PtraceError as exc:
                if exc.errno != errno.ESRCH:
                    problems.append(str(exc))
            tracer.forget(thread)
        proc.space.close()
    tracer.processes.clear()
    for tid in list(tracer.early):  # tasks whose creation event never came: let them go too
        with contextlib.suppress(ptrace.PtraceError):
            ptrace.detach(tid, 0)
    tracer.early.clear()
    return problems


def _settle(tracer: Tracer, thread: Thread, status: int) -> None:
    """What a held thread's unprocessed status means for detaching."""
    if os.WIFEXITED(status) or os.WIFSIGNALED(status):
        tracer.gone(thread, status)
        return
    sig, event = os.WSTOPSIG(status), status >> 16
    thread.running = False
    thread.held = ("quiet", 0)
    if event == 0 and sig == signal.SIGTRAP:
        ptrace.get_regs(thread.tid, thread.regs)
        code = ptrace.siginfo(thread.tid).si_code
        space = thread.process.space
        address = thread.regs.rip - 1
        if code == ptrace.SI_KERNEL and address in space.breakpoints:
            thread.held = ("bp", address)
        elif code == ptrace.SI_KERNEL and space.trampoline and address == space.trampoline:
            slot = thread.regs.rsp - 8
            frames = [i for i, f in enumerate(thread.shadow) if f.slot == slot]
            if frames:
                thread.held = ("tramp", thread.shadow[frames[0]].return_address)
                del thread.shadow[frames[0]:]
        elif code != ptrace.TRAP_TRACE:
            thread.held = ("signal", signal.SIGTRAP)
    elif event == 0:
        thread.held = ("signal", sig)
    elif event in (ptrace.PTRACE_EVENT_FORK, ptrace.PTRACE_EVENT_VFORK, ptrace.PTRACE_EVENT_CLONE):
        child_id = tracer.message(thread)
        first = tracer.early.pop(child_id, None)
        if first is None:
            _, first = os.waitpid(child_id, ptrace.WALL)  # its initial stop
        child = tracer.adopt(thread, event, child_id)
        child.started = True
        child.held = ("quiet", 0)
    elif event == ptrace.PTRACE_EVENT_EXEC:
        thread.process.space = AddressSpace(thread.process.pid)  # the old image and its breakpoints are gone
        thread.shadow.clear()


def _rewind(thread: Thread) -> None:
    """A thread stopped at a breakpoint or the trampoline: make it run the original code once detached."""
    assert thread.held is not None
    regs = thread.regs
    ptrace.get_regs(thread.tid, regs)
    regs.rip = thread.held[1]
    ptrace.set_regs(thread.tid, regs)
    thread.held = ("quiet", 0)
