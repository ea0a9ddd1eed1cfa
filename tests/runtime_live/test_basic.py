"""Entry and return probes on basic.c, built -O0/-O2 and PIE/non-PIE: exact counts, parameters of
every calling-convention class at the entry address, return values, and an untouched tracee."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.runtime.live import LiveEngine
from tests.runtime_live.helpers import counter, info, plain, record_param, record_return

VARIANTS = ["O0-pie", "O2-pie", "O0-nopie", "O2-nopie"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_counts_and_output_untouched(basic: dict[str, Path], capfd: pytest.CaptureFixture[str], variant: str) -> None:
    exe = basic[variant]
    expected = plain([str(exe), "50"])
    engine = LiveEngine()
    counts = counter(engine, exe, ["hot", "fact", "add3", "thrower", "catcher", "leaf", "tail"])
    result = engine.run([str(exe), "50"])
    out = capfd.readouterr().out
    assert out == expected.stdout
    assert result.exit_code == expected.returncode == 3
    assert counts == {"hot": 50, "fact": 5, "add3": 1, "thrower": 4 + 3, "catcher": 2, "leaf": 1, "tail": 1}
    assert result.hits == sum(counts.values())


@pytest.mark.parametrize("variant", VARIANTS)
def test_parameters_at_entry(basic: dict[str, Path], capfd: pytest.CaptureFixture[str], variant: str) -> None:
    exe = basic[variant]
    engine = LiveEngine()
    seen = {
        ("add3", "a"): record_param(engine, exe, "add3", "a"),
        ("add3", "b"): record_param(engine, exe, "add3", "b"),
        ("add3", "c"): record_param(engine, exe, "add3", "c"),
        ("neg", "v"): record_param(engine, exe, "neg", "v"),
        ("low_byte", "v"): record_param(engine, exe, "low_byte", "v"),
        ("many", "a1"): record_param(engine, exe, "many", "a1"),
        ("many", "a6"): record_param(engine, exe, "many", "a6"),
        ("many", "a7"): record_param(engine, exe, "many", "a7"),  # on the stack
        ("many", "a8"): record_param(engine, exe, "many", "a8"),
        ("big_sum", "scale"): record_param(engine, exe, "big_sum", "scale"),
        ("fact", "n"): record_param(engine, exe, "fact", "n"),
    }
    big = info(exe)
    fn = big.function("big_sum")
    from tapkit.runtime.live.variables import resolve_variable

    b = resolve_variable(big, fn, "b", fn.entry_address or 0)
    members: list[tuple[int, int, int, bytes]] = []

    def read_big(ctx):  # type: ignore[no-untyped-def]
        address = b.address(ctx)  # a struct passed in memory has an address at entry
        words = [int.from_bytes(ctx.memory.read(address + 8 * i, 8, True), "little") for i in range(3)]
        members.append((words[0], words[1], words[2], ctx.memory.read(address + 24, 3, True)))

    engine.add_function(str(exe), fn, read_big)
    engine.run([str(exe), "1"])
    capfd.readouterr()
    assert seen[("add3", "a")] == [1] and seen[("add3", "b")] == [2] and seen[("add3", "c")] == [3]
    assert seen[("neg", "v")] == [-42]
    assert seen[("low_byte", "v")] == [0x1FF]
    assert [seen[("many", f"a{i}")][0] for i in (1, 6, 7, 8)] == [1, 6, 7, 8]
    assert seen[("big_sum", "scale")] == [2]
    assert seen[("fact", "n")] == [5, 4, 3, 2, 1]
    assert members == [(1, 2, 3, b"xyz")]


@pytest.mark.parametrize("variant", VARIANTS)
def test_return_values(basic: dict[str, Path], capfd: pytest.CaptureFixture[str], variant: str) -> None:
    exe = basic[variant]
    engine = LiveEngine()
    rets = {name: record_return(engine, exe, name)
            for name in ("add3", "neg", "low_byte", "many", "big_sum", "point_y", "fact", "tail", "leaf", "catcher")}
    result = engine.run([str(exe), "3"])
    out = capfd.readouterr().out
    assert "fact 120" in out and result.exit_code == 3
    assert rets["add3"] == [6]
    assert rets["neg"] == [42]
    assert rets["low_byte"] == [0xFF]  # unsigned char: the low byte only
    assert rets["many"] == [204]
    assert rets["big_sum"] == [12 + ord("x")]
    assert rets["point_y"] == [-4]  # int: sign-extended from eax
    assert rets["fact"] == [1, 2, 6, 24, 120]  # innermost first
    assert rets["leaf"] == [15] and rets["tail"] == [15]
    assert rets["catcher"] == [42, 42]  # frames left by longjmp are dropped, the catchers still return
