"""The x86-64 length decoder against objdump, instruction by instruction, over real code; relocation of
rip-relative operands; branch emulation."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tapkit.runtime.live.x86 import condition_holds, decode, emulate_branch, relocate
from tests.tooling import require_tool

_LINE = re.compile(r"^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$")


def _compare(path: str) -> tuple[int, list[str]]:
    objdump = require_tool("objdump")
    text = subprocess.run([objdump, "-d", "--insn-width=16", path], capture_output=True, text=True,
                          check=True).stdout
    insns = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            insns.append((int(m.group(1), 16), bytes.fromhex(m.group(2).replace(" ", "")), m.group(3)))
    memory = {a + i: b for a, raw, _ in insns for i, b in enumerate(raw)}
    bad: list[str] = []
    checked = 0
    skip_next = False
    for address, raw, asm in insns:
        lone_rex = re.fullmatch(r"rex(\.\w+)?", asm.strip()) is not None
        # objdump lists a REX byte that a legacy prefix cancels, and data it cannot decode, on lines of their own
        if skip_next or lone_rex or "(bad)" in asm or asm.startswith(".byte") or asm.startswith("fwait"):
            skip_next = lone_rex
            continue
        code = bytes(memory.get(address + i, 0) for i in range(16))
        insn = decode(code)
        checked += 1
        if insn.length != len(raw):
            bad.append(f"{address:#x} {raw.hex()} {asm}: decoded {insn.length} bytes")
        elif ("(%rip)" in asm) != (insn.kind == "rip_relative") and insn.kind not in ("branch", "unsupported"):
            bad.append(f"{address:#x} {raw.hex()} {asm}: classified {insn.kind}")
    return checked, bad


def test_lengths_on_test_programs(basic: dict[str, Path], threads: Path, afsim: dict[str, Path]) -> None:
    for path in [*basic.values(), threads, *afsim.values()]:
        checked, bad = _compare(str(path))
        assert checked > 100 and bad == [], bad[:10]


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
                                  "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"])
def test_lengths_on_system_libraries(path: str) -> None:
    """libc has SSE, AVX2 and AVX-512 (EVEX) string functions; every instruction's length must match."""
    if not Path(path).exists():
        pytest.skip(f"{path} is not installed")
    checked, bad = _compare(path)
    assert checked > 30000 and bad == [], bad[:10]


def test_relocated_rip_relative() -> None:
    insn = decode(bytes.fromhex("488b05f92f0000") + bytes(9))  # mov 0x2ff9(%rip),%rax
    assert insn.kind == "rip_relative" and insn.length == 7 and insn.disp_offset == 3
    moved = relocate(insn, 0x401000, 0x400000)
    assert moved is not None
    # same target: 0x401007 + 0x2ff9 == 0x400007 + disp'
    disp = int.from_bytes(moved[3:7], "little", signed=True)
    assert 0x400007 + disp == 0x401007 + 0x2FF9
    assert moved[7:9] == b"\xff\x25" and int.from_bytes(moved[13:21], "little") == 0x401007
    assert relocate(insn, 0x7F0000000000, 0x400000) is None  # out of disp32 reach


def test_branches_emulated() -> None:
    call = decode(bytes.fromhex("e810000000") + bytes(11))
    assert call.kind == "branch" and call.branch == "call"
    outcome = emulate_branch(call, 0x1000, 0, 0)
    assert outcome.rip == 0x1015 and outcome.push == 0x1005
    jne = decode(bytes.fromhex("75fe") + bytes(14))  # jne to itself
    assert emulate_branch(jne, 0x2000, 0x40, 0).rip == 0x2002  # ZF set: not taken
    assert emulate_branch(jne, 0x2000, 0, 0).rip == 0x2000
    loop = decode(bytes.fromhex("e2fe") + bytes(14))
    assert emulate_branch(loop, 0x10, 0, 1).rcx == 0 and emulate_branch(loop, 0x10, 0, 1).rip == 0x12
    assert emulate_branch(loop, 0x10, 0, 5).rip == 0x10


@pytest.mark.parametrize("cond, flags, holds", [
    (0xC, 0x80, True),  # jl: SF != OF
    (0xC, 0x880, False),
    (0xE, 0x40, True),  # jle: ZF
    (0x7, 0x0, True),  # ja: !CF && !ZF
    (0x7, 0x1, False),
    (0xA, 0x4, True),  # jp
])
def test_conditions(cond: int, flags: int, holds: bool) -> None:
    assert condition_holds(cond, flags) is holds


def test_indirect_calls_are_stepped() -> None:
    for raw in ("ffd0", "ff1500100000", "41ff5608"):  # call *%rax, call *0x1000(%rip), call *0x8(%r14)
        insn = decode(bytes.fromhex(raw) + bytes(16))
        assert insn.kind == "unsupported" and insn.length == len(raw) // 2, raw
