"""Target-variable resolution and evaluation: stap's "not accessible" verdict, location lists, entry
values (DW_OP_entry_value) at statement probes, $return typing, and the DWARF evaluator's operations."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tapkit.runtime.live import LiveContext, LiveEngine
from tapkit.runtime.live.dwarfexpr import (
    ImplicitPlace,
    LocationError,
    MemoryPlace,
    PiecesPlace,
    RegisterPlace,
    Unavailable,
    ValuePlace,
    ValueUnavailable,
    evaluate,
)
from tapkit.runtime.live.variables import TargetVariableError, resolve_return, resolve_variable
from tests.runtime_live.helpers import info
from tests.tooling import require_tool


def _instructions(path: Path, function: str) -> list[int]:
    objdump = require_tool("objdump")
    text = subprocess.run([objdump, "-d", f"--disassemble={function}", str(path)], capture_output=True,
                          text=True, check=True).stdout
    return [int(m.group(1), 16) for m in re.finditer(r"^\s*([0-9a-f]+):\t", text, re.M)]


def test_not_accessible_at_entry(basic: dict[str, Path]) -> None:
    di = info(basic["O2-pie"])
    fn = di.function("fact")
    with pytest.raises(TargetVariableError) as err:
        resolve_variable(di, fn, "r", fn.entry_address or 0)
    assert str(err.value).startswith(f"not accessible at this address (pc: {fn.entry_address:#x}) [man error::dwarf]")
    assert "alternative locations: [0x" in str(err.value)


def test_unknown_variable(basic: dict[str, Path]) -> None:
    di = info(basic["O0-pie"])
    fn = di.function("add3")
    with pytest.raises(TargetVariableError, match=r"unable to find local 'zz'.*alternatives: a b c"):
        resolve_variable(di, fn, "zz", fn.entry_address or 0)


def test_return_of_void_refused(basic: dict[str, Path]) -> None:
    di = info(basic["O0-pie"])
    with pytest.raises(TargetVariableError, match="returns void"):
        resolve_return(di, di.function("thrower"))


def _entry_value_site(afsim: Path) -> tuple[int, int]:
    """(function entry, an instruction of afs_linux_writepage where $pp is DW_OP_entry_value(rdi))."""
    di = info(afsim)
    fn = di.function("afs_linux_writepage")
    pp = next(v for v in fn.params if v.name == "pp")
    assert pp.location is not None
    spans = [(r.low, r.high) for r in pp.location.ranges if r.expr[:1] in (b"\xa3", b"\xf3")]
    assert spans, "gcc -O2 should describe pp by its entry value after the first call"
    address = next(a for a in _instructions(afsim, "afs_linux_writepage") if any(lo <= a < hi for lo, hi in spans))
    return fn.entry_address or 0, address


def test_entry_value_at_statement(afsim: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    exe = afsim["O2"]
    di = info(exe)
    fn = di.function("afs_linux_writepage")
    entry, address = _entry_value_site(exe)
    at_entry = resolve_variable(di, fn, "pp", entry)
    later = resolve_variable(di, fn, "pp", address)
    firsts: list[int] = []
    seconds: list[int] = []
    engine = LiveEngine()
    engine.add_function(str(exe), fn, lambda ctx: firsts.append(at_entry.read(ctx)))
    engine.add_address(str(exe), address, lambda ctx: seconds.append(later.read(ctx)), function=fn,
                       entry_values=True)
    result = engine.run([str(exe), "3", "4", "0"])
    capfd.readouterr()
    assert result.exit_code == 0
    assert len(firsts) == 3 and firsts == seconds


def test_entry_value_unavailable_says_so(afsim: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    exe = afsim["O2"]
    di = info(exe)
    fn = di.function("afs_linux_writepage")
    _, address = _entry_value_site(exe)
    later = resolve_variable(di, fn, "pp", address)
    errors: list[str] = []

    def hit(ctx: LiveContext) -> None:
        try:
            later.read(ctx)
        except LocationError as exc:
            errors.append(str(exc))

    engine = LiveEngine()
    engine.add_address(str(exe), address, hit, function=fn)
    engine.run([str(exe), "2", "4", "0"])
    capfd.readouterr()
    assert errors == ["DW_OP_entry_value unable to resolve value"] * 2


def test_locals_along_the_function(basic: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    """At -O0 a local's frame slot (DW_OP_fbreg against DW_OP_call_frame_cfa) is right after it is set."""
    exe = basic["O0-pie"]
    di = info(exe)
    fn = di.function("fact")
    addresses = _instructions(exe, "fact")
    ret_at = addresses[-2]  # the instruction before ret: r is set by then
    r = resolve_variable(di, fn, "r", ret_at)
    n = resolve_variable(di, fn, "n", ret_at)
    seen: list[tuple[int, int]] = []
    engine = LiveEngine()

    def hit(ctx: LiveContext) -> None:
        value = n.read(ctx)
        if value > 1:
            seen.append((value, r.read(ctx)))

    engine.add_address(str(exe), ret_at, hit, function=fn)
    engine.run([str(exe), "1"])
    capfd.readouterr()
    assert seen == [(2, 1), (3, 2), (4, 6), (5, 24)]


class _Frame:
    bias = 0x1000

    def __init__(self) -> None:
        self.regs = {0: 5, 6: 0x7000, 7: 0x8000}
        self.memory = {0x8010: 0x1234, 0x7ff0: 0x99}

    def register(self, regno: int) -> int:
        if regno not in self.regs:
            raise ValueUnavailable(regno)
        return self.regs[regno]

    def read_word(self, address: int, size: int) -> int:
        return self.memory[address] & ((1 << (8 * size)) - 1)

    def cfa(self) -> int:
        return 0x8008

    def frame_base(self) -> int:
        return self.cfa()

    def entry_register(self, regno: int) -> int:
        if regno == 5:
            return 0xABC
        raise ValueUnavailable(regno)


@pytest.mark.parametrize("expr, place", [
    (b"", Unavailable("optimized out")),
    (bytes([0x50]), RegisterPlace(0)),
    (bytes([0x91, 0x08]), MemoryPlace(0x8010)),  # fbreg 8
    (bytes([0x77, 0x10, 0x06]), MemoryPlace(0x1234)),  # breg7 16; deref
    (bytes([0x76, 0x70]), MemoryPlace(0x6FF0)),  # breg6 -16
    (bytes([0x9C, 0x23, 0x08]), MemoryPlace(0x8010)),  # call_frame_cfa; plus_uconst 8
    (bytes([0x03]) + (0x20).to_bytes(8, "little"), MemoryPlace(0x1020)),  # addr, moved by the load bias
    (bytes([0x70, 0x02, 0x9F]), ValuePlace(7)),  # breg0 2; stack_value
    (bytes([0x9E, 0x02, 0x34, 0x12]), ImplicitPlace(b"\x34\x12")),
    (bytes([0xA3, 0x01, 0x55, 0x9F]), ValuePlace(0xABC)),  # entry_value(reg5); stack_value
    (bytes([0x35, 0x36, 0x1E, 0x9F]), ValuePlace(30)),  # lit5 lit6 mul
    (bytes([0x31, 0x28, 0x02, 0x00, 0x30, 0x30, 0x33, 0x9F]), ValuePlace(3)),  # lit1 bra +2 (skips) lit3
    (bytes([0x50, 0x93, 0x04, 0x56, 0x93, 0x04]),
     PiecesPlace(((4, RegisterPlace(0)), (4, RegisterPlace(6))))),
])
def test_evaluator(expr: bytes, place: object) -> None:
    assert evaluate(expr, _Frame()) == place


@pytest.mark.parametrize("expr, message", [
    (bytes([0xA3, 0x01, 0x54, 0x9F]), "DW_OP_entry_value unable to resolve value"),
    (bytes([0xF3, 0x02, 0x77, 0x00, 0x9F]), "DW_OP_GNU_entry_value unable to resolve value"),
    (bytes([0xE0]), "unhandled DW_OP operation 0xe0"),
])
def test_evaluator_refusals(expr: bytes, message: str) -> None:
    with pytest.raises(LocationError, match=re.escape(message)):
        evaluate(expr, _Frame())
