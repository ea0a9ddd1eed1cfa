"""Target memory as compiled scripts see it, and the conversion tapset functions over it.

The event source provides a `Memory` (a live process through /proc/PID/mem or ptrace, a
replay fixture's synthetic address space, ...). Reads that fail raise `MemoryFault`;
the functions here turn that into the error each tapset function reports in stap 4.8
(conversions.stp, uconversions.stp, loc2c-runtime.h). x86-64 layout: little-endian,
char is signed, long and pointers are 8 bytes.
"""

from __future__ import annotations

import bisect
from typing import Protocol

from tapkit.runtime.arith import sign_extend
from tapkit.runtime.errors import StapError, copy_fault, read_fault, user_string_fault
from tapkit.runtime.strings import MAX_CHARS, MAXSTRINGLEN, text_str_from

EFAULT = 14


class MemoryFault(Exception):
    """A read the target cannot serve; addr is the first byte that failed."""

    def __init__(self, addr: int) -> None:
        super().__init__(f"fault at 0x{addr & 0xFFFFFFFFFFFFFFFF:x}")
        self.addr = addr


class Memory(Protocol):
    def read(self, addr: int, size: int, user: bool) -> bytes:
        """size bytes at addr in kernel (user=False) or user space; raise MemoryFault."""
        ...


class NoMemory:
    """What begin/end/timer probes can reach here: nothing."""

    def read(self, addr: int, size: int, user: bool) -> bytes:
        raise MemoryFault(addr)


class MappedMemory:
    """A sparse address space of byte regions (tests, replay fixtures); other reads fault."""

    def __init__(self) -> None:
        self._starts: dict[bool, list[int]] = {False: [], True: []}
        self._data: dict[bool, list[bytes]] = {False: [], True: []}

    def map(self, addr: int, data: bytes, user: bool = False) -> None:
        starts, datas = self._starts[user], self._data[user]
        i = bisect.bisect_left(starts, addr)
        starts.insert(i, addr)
        datas.insert(i, bytes(data))

    def read(self, addr: int, size: int, user: bool) -> bytes:
        starts, datas = self._starts[user], self._data[user]
        out = bytearray()
        cur = addr
        while len(out) < size:
            i = bisect.bisect_right(starts, cur) - 1
            if i < 0 or cur >= starts[i] + len(datas[i]):
                raise MemoryFault(cur)
            off = cur - starts[i]
            chunk = datas[i][off : off + size - len(out)]
            out += chunk
            cur += len(chunk)
        return bytes(out)


def _read(memory: Memory | None, addr: int, size: int, user: bool) -> bytes:
    if memory is None:
        raise MemoryFault(addr)
    return memory.read(addr & 0xFFFFFFFFFFFFFFFF, size, user)  # kernel pointers are negative longs in scripts


def read_byte(memory: Memory | None, addr: int, user: bool = False, where: str | None = None) -> int:
    """kread/uread of one byte, failing with loc2c's "read fault" (as %m does)."""
    try:
        return _read(memory, addr, 1, user)[0]
    except MemoryFault as fault:
        raise StapError(read_fault(fault.addr), where) from None


def deref(memory: Memory | None, addr: int, size: int, signed: bool, user: bool = False,
          where: str | None = None) -> int:
    """kderef/uderef of a 1, 2, 4 or 8 byte integer: what $var->field and @cast read."""
    try:
        data = _read(memory, addr, size, user)
    except MemoryFault:
        raise StapError(read_fault(addr), where) from None
    value = int.from_bytes(data, "little")
    return sign_extend(value, size * 8) if signed or size == 8 else value


def _copy(memory: Memory | None, addr: int, size: int, signed: bool, what: str, where: str | None) -> int:
    try:
        data = _read(memory, addr, size, False)
    except MemoryFault:
        raise StapError(copy_fault("kernel", what, addr), where) from None
    value = int.from_bytes(data, "little")
    return sign_extend(value, size * 8) if signed or size == 8 else value


def kernel_long(memory: Memory | None, addr: int, where: str | None = None) -> int:
    return _copy(memory, addr, 8, True, "long", where)


def kernel_int(memory: Memory | None, addr: int, where: str | None = None) -> int:
    return _copy(memory, addr, 4, True, "int", where)


def kernel_short(memory: Memory | None, addr: int, where: str | None = None) -> int:
    return _copy(memory, addr, 2, True, "short", where)


def kernel_char(memory: Memory | None, addr: int, where: str | None = None) -> int:
    return _copy(memory, addr, 1, True, "char", where)


def kernel_pointer(memory: Memory | None, addr: int, where: str | None = None) -> int:
    return _copy(memory, addr, 8, False, "pointer", where)


def _read_cstring(memory: Memory | None, addr: int, limit: int, user: bool) -> str:
    """Bytes up to a NUL or `limit` bytes, whichever comes first; MemoryFault on failure."""
    out = bytearray()
    while len(out) < limit:
        b = _read(memory, addr + len(out), 1, user)[0]
        if b == 0:
            break
        out.append(b)
    return out.decode("latin-1")


def kernel_string(memory: Memory | None, addr: int, where: str | None = None) -> str:
    return kernel_string_n(memory, addr, MAXSTRINGLEN, where)


def kernel_string_n(memory: Memory | None, addr: int, n: int, where: str | None = None) -> str:
    """At most min(n, 511) bytes (kderef_string with clamp(n + 1, 1, MAXSTRINGLEN))."""
    size = min(max(n + 1, 1), MAXSTRINGLEN)
    try:
        return _read_cstring(memory, addr, size - 1, False)
    except MemoryFault:
        raise StapError(copy_fault("kernel", "string", addr), where) from None


def kernel_string_quoted(memory: Memory | None, addr: int) -> str:
    """Quoted and escaped like string_quoted(); the address in hex when unreadable."""
    if addr != 0:
        try:
            return text_str_from(lambda i: _read(memory, addr + i, 1, False)[0], MAXSTRINGLEN, MAXSTRINGLEN, True)
        except MemoryFault:
            pass
    return f"0x{addr & 0xFFFFFFFFFFFFFFFF:x}"


def user_string_n(memory: Memory | None, addr: int, n: int, where: str | None = None) -> str:
    """strncpy_from_user of clamp(n + 1, 1, MAXSTRINGLEN - 1) bytes, keeping all but the last."""
    size = min(max(n + 1, 1), MAX_CHARS)
    try:
        text = _read_cstring(memory, addr, size, True)
    except MemoryFault:
        raise StapError(user_string_fault(-EFAULT, addr), where) from None
    return text[: size - 1]


def user_string(memory: Memory | None, addr: int, where: str | None = None) -> str:
    """user_string_n(addr, MAXSTRINGLEN): so at most 510 bytes, one fewer than kernel_string."""
    return user_string_n(memory, addr, MAXSTRINGLEN, where)


_USER_TYPES: dict[str, tuple[int, bool]] = {
    "char": (1, True), "short": (2, True), "ushort": (2, False), "int": (4, True), "long": (8, True),
    "ulong": (8, False), "int8": (1, True), "uint8": (1, False), "int16": (2, True), "uint16": (2, False),
    "int32": (4, True), "uint32": (4, False), "int64": (8, True), "uint64": (8, False),
}


def user_value_error(memory: Memory | None, kind: str, addr: int, where: str | None = None) -> int:
    """user_<kind>_error(): uread, so a fault is loc2c's "read fault" error."""
    size, signed = _USER_TYPES[kind]
    return deref(memory, addr, size, signed, user=True, where=where)


def user_value(memory: Memory | None, kind: str, addr: int) -> int:
    """user_<kind>(): the value, or 0 when the read faults (try/catch in uconversions.stp)."""
    try:
        return user_value_error(memory, kind, addr)
    except StapError:
        return 0
