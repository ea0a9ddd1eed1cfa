""".statement("func@file:line") probes: the line's addresses from the line table, locals read there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.runtime.live import LiveContext, LiveEngine
from tapkit.runtime.live.lines import statement_addresses
from tapkit.runtime.live.variables import resolve_return, resolve_variable
from tests.runtime_live.helpers import info

LINE = 169  # afsim.c, afs_linux_readdir:  if (code) {


@pytest.mark.parametrize("opt", ["O0", "O2"])
def test_local_at_a_line(afsim: dict[str, Path], capfd: pytest.CaptureFixture[str], opt: str) -> None:
    exe = afsim[opt]
    di = info(exe)
    fn = di.function("afs_linux_readdir")
    ranges = fn.ranges or ((fn.low_pc or 0, fn.high_pc or 0),)
    addresses = statement_addresses(str(exe), "afsim.c", LINE, ranges)
    assert addresses, "line 169 has code"
    blob = di.function("afs_dir_GetVerifiedBlob")
    ret = resolve_return(di, blob)
    calls = 0

    def fail_second(ctx: LiveContext) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            ret.write(ctx, -7)

    codes: list[int] = []
    engine = LiveEngine()
    engine.add_function(str(exe), blob, fail_second, kind="return")
    code = resolve_variable(di, fn, "code", addresses[0])
    engine.add_address(str(exe), addresses[0], lambda ctx: codes.append(code.read(ctx)), function=fn,
                       entry_values=True)
    result = engine.run([str(exe), "0", "4", "3"])
    out = capfd.readouterr().out
    assert result.exit_code == 0 and out.endswith("dcache[0] readers 1\n")
    assert codes == [0, -7, 0]


def test_no_code_on_a_line(afsim: dict[str, Path]) -> None:
    assert statement_addresses(str(afsim["O0"]), "afsim.c", 1) == []
    assert statement_addresses(str(afsim["O0"]), "other.c", LINE) == []
