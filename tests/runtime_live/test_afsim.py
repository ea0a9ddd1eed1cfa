"""The seed's program: call counts, return values along the failing write chain, the backtrace of the
failing call, and fault injection that leaks afs_linux_readdir's read lock."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tapkit.runtime.live import LiveContext, LiveEngine
from tapkit.runtime.live.variables import resolve_return, resolve_variable
from tests.runtime_live.helpers import counter, info, plain, record_return

CHAIN = ["sys_msync", "vfs_fsync", "vfs_fsync_range", "filemap_write_and_wait_range", "afs_linux_writepage"]


@pytest.mark.parametrize("opt", ["O0", "O2"])
def test_counts_and_chain_returns(afsim: dict[str, Path], capfd: pytest.CaptureFixture[str], opt: str) -> None:
    exe = afsim[opt]
    expected = plain([str(exe), "20", "4", "3"])
    engine = LiveEngine()
    counts = counter(engine, exe, ["afs_GetDCache", "afs_PutDCache", "afs_linux_writepage", "afs_linux_readdir",
                                   "afs_dir_GetVerifiedBlob"])
    rets = {name: record_return(engine, exe, name) for name in CHAIN}
    result = engine.run([str(exe), "20", "4", "3"])
    out = capfd.readouterr().out
    assert out == expected.stdout == "afsim: 20 writes, 5 failed with EIO, 3 readdirs, dcache[0] readers 0\n"
    assert result.exit_code == 0
    assert counts == {"afs_GetDCache": 23, "afs_PutDCache": 23, "afs_linux_writepage": 20, "afs_linux_readdir": 3,
                      "afs_dir_GetVerifiedBlob": 3}
    for name in CHAIN:
        # every 4th write fails with -EIO (-5) and the error travels up the whole chain
        assert rets[name] == [-5 if i % 4 == 3 else 0 for i in range(20)], name


@pytest.mark.parametrize("opt", ["O0", "O2"])
def test_fault_injection_leaks_the_read_lock(afsim: dict[str, Path], capfd: pytest.CaptureFixture[str],
                                             opt: str) -> None:
    exe = afsim[opt]
    di = info(exe)
    blob = di.function("afs_dir_GetVerifiedBlob")
    ret = resolve_return(di, blob)
    put = di.function("afs_PutDCache")
    adc = resolve_variable(di, put, "adc", put.entry_address or 0)
    lock = di.walk(adc.type, "->lock->readers_reading")
    offset = sum(step.offset for step in lock.steps if step.offset)
    leaks: list[int] = []

    def inject(ctx: LiveContext) -> None:
        ret.write(ctx, -1)

    def check(ctx: LiveContext) -> None:  # the seed's afs_PutDCache check: a reader still holds the lock
        readers = int.from_bytes(ctx.memory.read(adc.read(ctx) + offset, 2, True), "little")
        if readers:
            leaks.append(readers)

    engine = LiveEngine()
    engine.add_function(str(exe), blob, inject, kind="return")
    engine.add_function(str(exe), put, check)
    result = engine.run([str(exe), "8", "4", "3"])
    out = capfd.readouterr().out
    assert result.exit_code == 0
    assert out == "afsim: 8 writes, 2 failed with EIO, 3 readdirs, dcache[0] readers 3\n"
    assert leaks == [1, 2, 3]


def test_backtrace_of_the_failing_call(afsim: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    exe = afsim["O0"]
    di = info(exe)
    fn = di.function("afs_linux_writepage")
    ret = resolve_return(di, fn)
    traces: list[str] = []

    def on_return(ctx: LiveContext) -> None:
        if ret.read(ctx) < 0 and not traces:
            traces.append(ctx.print_ubacktrace())

    engine = LiveEngine()
    engine.add_function(str(exe), fn, on_return, kind="return")
    engine.run([str(exe), "4", "4", "0"])
    capfd.readouterr()
    lines = traces[0].splitlines()
    assert re.fullmatch(rf"Returning from:  0x[0-9a-f]+ : afs_linux_writepage\+0x0/0x[0-9a-f]+ \[{exe}\]", lines[0])
    assert lines[1].startswith("Returning to  :  0x")
    names = [re.search(r" : (\w+)\+", line).group(1) for line in lines[1:] if " : " in line]  # type: ignore[union-attr]
    assert names[:8] == ["write_cache_pages", "do_writepages", "__filemap_fdatawrite_range",
                         "filemap_write_and_wait_range", "vfs_fsync_range", "vfs_fsync", "sys_msync", "main"]
    assert all(f"[{exe}]" in line for line in lines[1:9])
    assert names[-1] == "_start" and "__libc_start_main" in names
