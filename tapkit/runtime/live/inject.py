"""Running one system call inside a stopped tracee thread (tapkit uses it to mmap scratch pages).

A thread can be stopped in the middle of a system call (a clone, fork or exec event stop, or an
interrupt that broke a blocking call): resuming it finishes that call and writes its result to rax
after any register change the tracer made. So the injection first lets the thread finish its stop
at an int3 (the interrupted call completes, or is left to restart), records that state, then runs
the stub, and finally puts back the state recorded, with the original pc: the thread then goes on
exactly as if tapkit had not been there.
"""

from __future__ import annotations

import os
import signal

from tapkit.runtime.live import ptrace
from tapkit.runtime.live.ptrace import Registers
from tapkit.runtime.live.tasks import Thread, TracerError

NO_SYSCALL = 0xFFFFFFFFFFFFFFFF  # orig_rax -1: no system call restart logic applies


def syscall_stub(nr: int) -> bytes:
    """int3; mov $nr, %eax; syscall; int3"""
    return b"\xcc\xb8" + nr.to_bytes(4, "little") + b"\x0f\x05\xcc"


def _run_to_trap(thread: Thread, regs: Registers) -> None:
    """Resume with regs until the thread's next SIGTRAP; other signals are kept for later delivery."""
    tid = thread.tid
    ptrace.set_regs(tid, regs)
    ptrace.cont(tid, 0)
    while True:
        _, status = os.waitpid(tid, ptrace.WALL)
        if not os.WIFSTOPPED(status):
            raise TracerError(f"thread {tid} ended while tapkit ran a system call in it")
        sig, event = os.WSTOPSIG(status), status >> 16
        if sig == signal.SIGTRAP and event == 0:
            ptrace.get_regs(tid, regs)
            return
        if event == 0:
            thread.pending_signals.append(sig)
        ptrace.cont(tid, 0)


def run_syscall(thread: Thread, nr: int, args: tuple[int, ...], at: int, in_place: bool) -> int:
    """Run syscall nr(args) in the stopped thread with the stub at address `at`; returns its result
    (negative errno on failure). in_place: `at` is the thread's own code (its pc), saved and restored
    around the call, which is only safe while every thread of the process is stopped; otherwise `at`
    is the stub area of tapkit's scratch page."""
    tid, memory = thread.tid, thread.process.space.memory
    stub = syscall_stub(nr)
    original = memory.read(at, len(stub)) if in_place else b""
    memory.write(at, stub)
    try:
        saved = Registers()
        ptrace.get_regs(tid, saved)
        settled = saved.copy()
        settled.rip, settled.orig_rax = at, NO_SYSCALL
        _run_to_trap(thread, settled)  # the thread's own pending system call finishes (or stays to restart)
        regs = settled.copy()
        regs.rax, regs.orig_rax, regs.rip = nr, NO_SYSCALL, at + 1
        regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9 = args
        _run_to_trap(thread, regs)
        result = int(regs.rax)
        settled.rip, settled.orig_rax = saved.rip, saved.orig_rax
        ptrace.set_regs(tid, settled)
    finally:
        if in_place:
            memory.write(at, original)
    return result if result < 1 << 63 else result - (1 << 64)
