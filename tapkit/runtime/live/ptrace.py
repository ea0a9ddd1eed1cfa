"""The ptrace(2) calls the tracer makes, through ctypes (x86_64 Linux only).

Registers are glibc's `struct user_regs_struct`; DWARF register numbers map onto its fields
through DWARF_REGS. Errors raise PtraceError with the request's name and errno, so a failure
says which step went wrong ("PTRACE_SEIZE 1234: Operation not permitted").
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Callable

PTRACE_TRACEME = 0
PTRACE_CONT = 7
PTRACE_KILL = 8
PTRACE_SINGLESTEP = 9
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_DETACH = 17
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO = 0x4202
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208

PTRACE_O_TRACESYSGOOD = 0x01
PTRACE_O_TRACEFORK = 0x02
PTRACE_O_TRACEVFORK = 0x04
PTRACE_O_TRACECLONE = 0x08
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEEXIT = 0x40

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_STOP = 0x80

WALL = 0x40000000  # __WALL: wait for threads (clone children) too
SI_KERNEL = 0x80  # si_code of the SIGTRAP an int3 raises on x86
TRAP_TRACE = 2  # si_code of a single-step trap

REQUEST_NAMES = {
    PTRACE_CONT: "PTRACE_CONT", PTRACE_SINGLESTEP: "PTRACE_SINGLESTEP", PTRACE_GETREGS: "PTRACE_GETREGS",
    PTRACE_SETREGS: "PTRACE_SETREGS", PTRACE_DETACH: "PTRACE_DETACH", PTRACE_SETOPTIONS: "PTRACE_SETOPTIONS",
    PTRACE_GETEVENTMSG: "PTRACE_GETEVENTMSG", PTRACE_GETSIGINFO: "PTRACE_GETSIGINFO", PTRACE_SEIZE: "PTRACE_SEIZE",
    PTRACE_INTERRUPT: "PTRACE_INTERRUPT", PTRACE_LISTEN: "PTRACE_LISTEN", PTRACE_KILL: "PTRACE_KILL",
}


class PtraceError(OSError):
    """A ptrace request the kernel refused; errno and the thread it was for are kept."""

    def __init__(self, request: int, tid: int, err: int) -> None:
        name = REQUEST_NAMES.get(request, f"ptrace request {request:#x}")
        super().__init__(err, f"{name} {tid}: {os.strerror(err)}")
        self.request = request
        self.tid = tid


class Registers(ctypes.Structure):
    """struct user_regs_struct (x86_64)."""

    _fields_ = [(name, ctypes.c_ulonglong) for name in (
        "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi",
        "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs")]

    def copy(self) -> Registers:
        out = Registers()
        ctypes.pointer(out)[0] = self
        return out


# DWARF register number -> user_regs_struct field (System V x86_64 psABI numbering); 16 is the return address.
DWARF_REGS = ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
              "r15", "rip")


class SigInfo(ctypes.Structure):
    _fields_ = [("si_signo", ctypes.c_int), ("si_errno", ctypes.c_int), ("si_code", ctypes.c_int),
                ("_pad", ctypes.c_int), ("si_addr", ctypes.c_ulonglong), ("_rest", ctypes.c_byte * 112)]


def _load_libc() -> ctypes.CDLL:
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        raise OSError("live process probes need Linux on x86_64 (ptrace register layout and int3 breakpoints)")
    lib = ctypes.CDLL(None, use_errno=True)
    lib.ptrace.restype = ctypes.c_long
    lib.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    return lib


_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = _load_libc()
    return _libc


def _first_call(request: int, tid: int, addr: int | None, data: int | None) -> int:
    global _ptrace
    _ptrace = libc().ptrace
    result: int = _ptrace(request, tid, addr, data)
    return result


# Every request used here returns 0 or a value >= 0 on success and -1 on failure (no PEEK requests), so
# errno need not be cleared first: a ptrace request costs ~2 us on the test host, the Python around it less.
_ptrace: Callable[[int, int, int | None, int | None], int] = _first_call


def _fail(request: int, tid: int) -> None:
    raise PtraceError(request, tid, ctypes.get_errno())


def seize(tid: int, options: int) -> None:
    if _ptrace(PTRACE_SEIZE, tid, 0, options) == -1:
        _fail(PTRACE_SEIZE, tid)


def interrupt(tid: int) -> None:
    if _ptrace(PTRACE_INTERRUPT, tid, 0, 0) == -1:
        _fail(PTRACE_INTERRUPT, tid)


def cont(tid: int, sig: int = 0) -> None:
    if _ptrace(PTRACE_CONT, tid, 0, sig) == -1:
        _fail(PTRACE_CONT, tid)


def listen(tid: int) -> None:
    if _ptrace(PTRACE_LISTEN, tid, 0, 0) == -1:
        _fail(PTRACE_LISTEN, tid)


def singlestep(tid: int, sig: int = 0) -> None:
    if _ptrace(PTRACE_SINGLESTEP, tid, 0, sig) == -1:
        _fail(PTRACE_SINGLESTEP, tid)


def detach(tid: int, sig: int = 0) -> None:
    if _ptrace(PTRACE_DETACH, tid, 0, sig) == -1:
        _fail(PTRACE_DETACH, tid)


def get_regs(tid: int, regs: Registers) -> None:
    if _ptrace(PTRACE_GETREGS, tid, 0, ctypes.addressof(regs)) == -1:
        _fail(PTRACE_GETREGS, tid)


def set_regs(tid: int, regs: Registers) -> None:
    if _ptrace(PTRACE_SETREGS, tid, 0, ctypes.addressof(regs)) == -1:
        _fail(PTRACE_SETREGS, tid)


def event_message(tid: int) -> int:
    value = ctypes.c_ulong()
    if _ptrace(PTRACE_GETEVENTMSG, tid, 0, ctypes.addressof(value)) == -1:
        _fail(PTRACE_GETEVENTMSG, tid)
    return value.value


def siginfo(tid: int) -> SigInfo:
    info = SigInfo()
    if _ptrace(PTRACE_GETSIGINFO, tid, 0, ctypes.addressof(info)) == -1:
        _fail(PTRACE_GETSIGINFO, tid)
    return info
