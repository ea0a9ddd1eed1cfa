"""What /proc tells the tracer about a process: its mappings, its threads, and its memory.

ProcessMemory is the runtime's Memory for a live process: reads and writes go through
/proc/PID/mem (pread/pwrite), which a ptrace tracer may use on a stopped tracee, even on
read-only text pages (the kernel writes them copy-on-write, as for breakpoints).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from tapkit.runtime.memory import MemoryFault


@dataclass(frozen=True, slots=True)
class Mapping:
    """One line of /proc/PID/maps."""

    start: int
    end: int
    perms: str
    offset: int
    dev: str
    inode: int
    path: str

    @property
    def executable(self) -> bool:
        return "x" in self.perms


def read_maps(pid: int) -> list[Mapping]:
    out = []
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            parts = line.rstrip("\n").split(None, 5)
            if len(parts) < 5:
                continue
            lo, _, hi = parts[0].partition("-")
            out.append(Mapping(int(lo, 16), int(hi, 16), parts[1], int(parts[2], 16), parts[3], int(parts[4]),
                               parts[5].strip() if len(parts) > 5 else ""))
    return out


def thread_ids(pid: int) -> list[int]:
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return []


def thread_state(tid: int) -> str:
    """The one-letter state of /proc/TID/stat ('t' is a tracing stop); '' when gone."""
    try:
        with open(f"/proc/{tid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return data[data.rfind(b")") + 2:][:1].decode()


def exe_path(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


class ProcessMemory:
    """A live process's address space (tapkit.runtime.Memory): user reads only, kernel reads fault."""

    __slots__ = ("_fd", "overlays", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        # values with no memory of their own (a struct held in registers) laid out where no user address
        # can be (>= 2**63), so that `$s->member` reads them like memory: base -> bytes
        self.overlays: dict[int, bytes] = {}
        self._fd = -1  # __del__ closes it: set before the open can fail
        self._fd = os.open(f"/proc/{pid}/mem", os.O_RDWR | os.O_CLOEXEC)

    def read(self, addr: int, size: int, user: bool = True) -> bytes:
        if not user or addr < 0 or size < 0 or addr + size > 1 << 63:  # pread's offset is a signed off_t
            if user and size >= 0:
                for base, data in self.overlays.items():
                    if base <= addr and addr + size <= base + len(data):
                        return data[addr - base:addr - base + size]
            raise MemoryFault(addr)
        try:
            data = os.pread(self._fd, size, addr)
        except OSError:
            raise MemoryFault(addr) from None
        if len(data) < size:
            # pread stops at the first unreadable page: report the first byte that failed.
            raise MemoryFault(addr + len(data))
        return data

    def write(self, addr: int, data: bytes) -> None:
        if addr < 0 or addr + len(data) > 1 << 63:
            raise MemoryFault(addr)
        try:
            done = os.pwrite(self._fd, data, addr)
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EFAULT):
                raise MemoryFault(addr) from None
            raise
        if done < len(data):
            raise MemoryFault(addr + done)

    def read_word(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little")

    def write_word(self, addr: int, value: int) -> None:
        self.write(addr, (value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()
