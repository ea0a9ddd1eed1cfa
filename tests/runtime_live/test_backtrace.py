"""Backtraces from call frame information (.eh_frame, or .debug_frame when that is all there is), through
return probes' trampolines, printed in stap's formats."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tapkit.runtime.live import LiveContext, LiveEngine
from tapkit.runtime.live.cfi import parse_tables
from tapkit.runtime.live.elfimage import ElfImage


def _fact_traces(exe: Path, with_return_probe: bool) -> list[LiveContext]:
    engine = LiveEngine()
    traces: list[tuple[str, str, str, list[int]]] = []

    def hit(ctx: LiveContext) -> None:
        if ctx.regs.rdi == 1:  # the innermost call: fact(1) under fact(2..5) under main
            traces.append((ctx.print_ubacktrace(), ctx.sprint_ubacktrace(), ctx.ubacktrace(), ctx.ubacktrace_pcs()))

    engine.add_function(str(exe), "fact", hit)
    if with_return_probe:  # every fact frame's return address is tapkit's trampoline meanwhile
        engine.add_function(str(exe), "fact", lambda ctx: None, kind="return")
    engine.run([str(exe), "1"])
    return traces  # type: ignore[return-value]


@pytest.mark.parametrize("variant", ["O0-pie", "O2-nopie", "debug-frame"])
@pytest.mark.parametrize("with_return_probe", [False, True])
def test_recursion(basic: dict[str, Path], debug_frame_only: Path, capfd: pytest.CaptureFixture[str],
                   variant: str, with_return_probe: bool) -> None:
    exe = debug_frame_only if variant == "debug-frame" else basic[variant]
    if variant == "debug-frame":  # the program's own functions are described only in .debug_frame
        image = ElfImage.load(str(exe))
        fact = image.by_name["fact"].address
        eh = [s for s in image.cfi if s.name == ".eh_frame"]
        assert parse_tables(tuple(eh)).fde_for(fact) is None
        assert parse_tables(image.cfi).fde_for(fact) is not None
    traces = _fact_traces(exe, with_return_probe)
    capfd.readouterr()
    assert len(traces) == 1
    full, simple, hexes, pcs = traces[0]  # type: ignore[misc]
    lines = full.splitlines()
    names = [re.match(r" 0x[0-9a-f]+ : (\w+)\+0x[0-9a-f]+/0x[0-9a-f]+ \[(.+)\]$", line).group(1)  # type: ignore[union-attr]
             for line in lines]
    assert names[:6] == ["fact"] * 5 + ["main"]
    assert names[-1] == "_start"
    assert lines[0].startswith(f" {pcs[0]:#x} : fact+0x0/") and lines[0].endswith(f"[{exe}]")
    assert simple.splitlines()[0] == f"fact+0x0 [{exe.name}]"
    assert simple.splitlines()[5].startswith("main+0x")
    assert hexes == "".join(f"{pc:#x} " for pc in pcs)
    assert len(pcs) == len(lines)


@pytest.mark.parametrize("path", ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"])
def test_every_entry_row_of_system_libraries(path: str) -> None:
    """At a function's first instruction the CFA is rsp+8 and the return address sits just below it:
    parse every FDE of libc and ld.so and check the row at each function symbol's start (signal
    frames, described with expressions, aside)."""
    from tapkit.runtime.live.cfi import RA_REG, SP_REG

    image = ElfImage.load(path)
    table = parse_tables(image.cfi)
    assert len(table.fdes) > 200
    functions = {sym.address for sym in image.functions}
    plain = checked = 0
    for fde in table.fdes:
        row = table.row_at(fde.start)
        assert row is not None
        if fde.start not in functions:  # the PLT's entries push before they jump
            continue
        checked += 1
        if row.cfa_expr is not None or row.signal_frame:
            continue
        assert (row.cfa_reg, row.cfa_offset) == (SP_REG, 8), hex(fde.start)
        assert row.rules[RA_REG].kind == "offset" and row.rules[RA_REG].n == -8
        plain += 1
    assert checked > 10 and plain > 0.98 * checked
