"""Memory reads with stap's fault messages, and the context/time functions."""

from __future__ import annotations

import os
import time

import pytest

from tapkit.runtime import context as C
from tapkit.runtime import memory as M
from tapkit.runtime.errors import StapError


@pytest.fixture
def mem() -> M.MappedMemory:
    m = M.MappedMemory()
    m.map(0x1000, (-2).to_bytes(8, "little", signed=True) + b"\xfe\xff\xff\xff" + b"\x80\x00" + b"\xff")
    m.map(0x2000, b"hello\x00junk")
    m.map(0x3000, b"x" * 600)
    m.map(0x4000, b"user\x00", user=True)
    m.map(0x5000, b"u" * 600, user=True)
    return m


def test_kernel_integers_are_signed_little_endian(mem: M.MappedMemory) -> None:
    assert M.kernel_long(mem, 0x1000) == -2
    assert M.kernel_int(mem, 0x1008) == -2
    assert M.kernel_short(mem, 0x100C) == 128
    assert M.kernel_char(mem, 0x100E) == -1
    assert M.kernel_pointer(mem, 0x1000) == -2  # a long holds the pointer's bits


def test_kernel_faults(mem: M.MappedMemory) -> None:
    where = "identifier 'kernel_long' at /usr/share/systemtap/tapset/linux/conversions.stp:286:10"
    with pytest.raises(StapError) as err:
        M.kernel_long(mem, 0x100C, where)  # runs off the end of the mapping
    assert err.value.text == f"kernel long copy fault at 0x100c [man error::fault] near {where}"
    for fn, what in ((M.kernel_int, "int"), (M.kernel_short, "short"), (M.kernel_char, "char"),
                     (M.kernel_pointer, "pointer"), (M.kernel_string, "string")):
        with pytest.raises(StapError, match=rf"^kernel {what} copy fault at 0x0 \[man error::fault\]$"):
            fn(mem, 0)
    with pytest.raises(StapError, match=r"^kernel string copy fault at 0xffffffffffffffff \[man error::fault\]$"):
        M.kernel_string(mem, -1)
    with pytest.raises(StapError, match="copy fault"):
        M.kernel_long(None, 0x1000)


def test_strings(mem: M.MappedMemory) -> None:
    assert M.kernel_string(mem, 0x2000) == "hello"
    assert M.kernel_string(mem, 0x3000) == "x" * 511
    assert M.kernel_string_n(mem, 0x2000, 3) == "hel"
    assert M.kernel_string_n(mem, 0x2000, 0) == ""
    assert M.kernel_string_n(mem, 0x3000, 1000) == "x" * 511
    assert M.user_string(mem, 0x4000) == "user"
    assert M.user_string(mem, 0x5000) == "u" * 510  # one byte fewer than kernel_string
    assert M.user_string_n(mem, 0x5000, 3) == "uuu"
    with pytest.raises(StapError, match=r"^user string copy fault -14 at 0x2000 \[man error::fault\]$"):
        M.user_string(mem, 0x2000)  # kernel memory is not user memory
    assert M.kernel_string_quoted(mem, 0x2000) == '"hello"'
    assert M.kernel_string_quoted(mem, 0) == "0x0"
    assert M.kernel_string_quoted(mem, 0x9999) == "0x9999"


def test_user_values_and_deref(mem: M.MappedMemory) -> None:
    mem.map(0x6000, b"\xff\xff\xff\xff\xff\xff\xff\xff", user=True)
    assert M.user_value(mem, "int", 0x6000) == -1
    assert M.user_value(mem, "uint32", 0x6000) == 0xFFFFFFFF
    assert M.user_value(mem, "ushort", 0x6000) == 0xFFFF
    assert M.user_value(mem, "uint64", 0x6000) == -1
    assert M.user_value(mem, "long", 0x9000) == 0  # user_long() swallows the fault
    with pytest.raises(StapError, match=r"^read fault \[man error::fault\] at 0x9000$"):
        M.user_value_error(mem, "long", 0x9000)
    assert M.deref(mem, 0x1008, 4, signed=False) == 0xFFFFFFFE
    with pytest.raises(StapError, match=r"^read fault \[man error::fault\] at 0x10$"):
        M.deref(mem, 0x10, 8, signed=True)
    with pytest.raises(M.MemoryFault):
        M.NoMemory().read(0x1000, 1, False)


def test_task_and_context_functions() -> None:
    task = C.Task.current()
    assert task.pid == os.getpid() and task.ppid == os.getppid() and task.uid == os.getuid()
    assert task.execname and len(task.execname) <= 15
    assert C.Task.of_process(os.getpid()).execname == task.execname
    ctx = C.Context(task=task, cpu=1, target=1234)
    ctx.probe_point = 'process("/bin/ls").function("main@ls.c:10").call'
    assert (C.pid(ctx), C.tid(ctx), C.cpu(ctx), C.target(ctx)) == (task.pid, task.tid, 1, 1234)
    assert C.execname(ctx) == task.execname and C.uid(ctx) == task.uid
    assert C.pp(ctx) == ctx.probe_point and C.pn(ctx) == ctx.probe_point
    assert C.ppfunc(ctx) == "main"
    ctx.probe_point = 'kernel.statement("vfs_read@fs/read_write.c:450")'
    assert C.ppfunc(ctx) == "vfs_read"
    ctx.probe_point = "timer.ms(100)"
    assert C.ppfunc(ctx) == "" and C.probefunc(ctx) == ""
    assert ctx.actionremaining == C.MAXACTION_INTERRUPTIBLE == 10000


def test_time_functions() -> None:
    before = time.time_ns()
    ns, us, ms, s = C.gettimeofday_ns(), C.gettimeofday_us(), C.gettimeofday_ms(), C.gettimeofday_s()
    after = time.time_ns()
    assert before <= ns <= after
    assert before // 1000 <= us <= after // 1000 and before // 10**6 <= ms <= after // 10**6
    assert s == after // 10**9 or s == before // 10**9
    assert C.get_cycles() < C.get_cycles()
    assert C.HZ() in (100, 250, 300, 1000)
    j1 = C.jiffies()
    assert j1 >= (-300 * C.HZ()) & 0xFFFFFFFF
