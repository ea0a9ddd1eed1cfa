"""Guru-mode writes change what the program does: $return = v at a return probe, $param = v at entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.runtime.live import LiveContext, LiveEngine
from tapkit.runtime.live.variables import resolve_return, resolve_variable
from tests.runtime_live.helpers import info

VARIANTS = ["O0-pie", "O2-pie", "O0-nopie", "O2-nopie"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_return_write(basic: dict[str, Path], capfd: pytest.CaptureFixture[str], variant: str) -> None:
    exe = basic[variant]
    di = info(exe)
    fn = di.function("decide")
    ret = resolve_return(di, fn)
    neg = di.function("neg")
    neg_ret = resolve_return(di, neg)
    engine = LiveEngine()

    def set_decide(ctx: LiveContext) -> None:
        ret.write(ctx, -1)

    def set_neg(ctx: LiveContext) -> None:
        neg_ret.write(ctx, neg_ret.read(ctx) + 1000)

    engine.add_function(str(exe), fn, set_decide, kind="return")
    engine.add_function(str(exe), neg, set_neg, kind="return")
    engine.run([str(exe), "1"])
    out = capfd.readouterr().out
    assert "decide -1\n" in out
    assert "neg 1042\n" in out


@pytest.mark.parametrize("variant", VARIANTS)
def test_parameter_write_at_entry(basic: dict[str, Path], capfd: pytest.CaptureFixture[str], variant: str) -> None:
    exe = basic[variant]
    di = info(exe)
    fn = di.function("add3")
    a = resolve_variable(di, fn, "a", fn.entry_address or 0)
    c = resolve_variable(di, fn, "c", fn.entry_address or 0)
    many = di.function("many")
    a8 = resolve_variable(di, many, "a8", many.entry_address or 0)  # a stack slot
    engine = LiveEngine()

    def change(ctx: LiveContext) -> None:
        a.write(ctx, 100)
        c.write(ctx, -3)

    engine.add_function(str(exe), fn, change)
    engine.add_function(str(exe), many, lambda ctx: a8.write(ctx, 0))
    engine.run([str(exe), "1"])
    out = capfd.readouterr().out
    assert "add3 99\n" in out  # 100 + 2 - 3
    assert "many 140\n" in out  # 204 - 8 * 8
