"""Running one system call inside a stopped tracee thread (tapkit uses it to mmap scratch pages)."""

from __future__ import annotations

import os
import signal

from tapkit.runtime.live import ptrace
from tapkit.runtime.live.ptrace import Registers
from tapkit.runtime.live.tasks import Thread, TracerError


def syscall_stub(nr: int) -> bytes:
    """mov $nr, %eax; syscall; int3 -- the stub loads rax itself: at an exec stop the kernel still writes
    execve's result to rax after the tracer's SETREGS."""
    return b"\xb8" + nr.to_bytes(4, "little") + b"\x0f\x05\xcc"


def run_syscall(thread: Thread, nr: int, args: tuple[int, ...], at: int, in_place: bool) -> int:
    """Run syscall nr(args) in the stopped thread at address `at` and put registers (and, in_place, the
    code there) back. in_place writes the stub at `at` (the thread's pc; only while every thread of the
    process is stopped); otherwise `at` is the stub in tapkit's scratch page. Returns the result
    (negative errno on failure)."""
    tid, memory = thread.tid, thread.process.space.memory
    saved = Registers()
    ptrace.get_regs(tid, saved)
    regs = saved.copy()
    stub = syscall_stub(nr)
    original = memory.read(at, len(stub)) if in_place else b""
    memory.write(at, stub)
    try:
        # orig_rax -1: no syscall restart logic may touch the injected call (the thread may have been
        # stopped inside an interrupted system call; restoring `saved` later restarts that one).
        regs.rax, regs.orig_rax, regs.rip = nr, 0xFFFFFFFFFFFFFFFF, at
        regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9 = args
        ptrace.set_regs(tid, regs)
        ptrace.cont(tid, 0)
        while True:
            _, status = os.waitpid(tid, ptrace.WALL)
            if not os.WIFSTOPPED(status):
                raise TracerError(f"thread {tid} ended while tapkit ran a system call in it")
            sig, event = os.WSTOPSIG(status), status >> 16
            if sig == signal.SIGTRAP and event == 0:
                break
            if event == 0:
                thread.pending_signals.append(sig)  # delivered when the thread resumes
            ptrace.cont(tid, 0)
        ptrace.get_regs(tid, regs)
        result = int(regs.rax)
    finally:
        if in_place:
            memory.write(at, original)
        ptrace.set_regs(tid, saved)
    return result if result < 1 << 63 else result - (1 << 64)
