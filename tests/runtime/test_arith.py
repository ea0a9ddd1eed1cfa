"""64-bit integer semantics: hand-checked edge cases, then the C the translator emits as oracle."""

from __future__ import annotations

import random

import pytest

from tapkit.runtime import arith
from tapkit.runtime.arith import INT64_MAX, INT64_MIN
from tapkit.runtime.errors import StapError
from tests.runtime.c_oracle import COracle


@pytest.mark.parametrize(("x", "y", "quotient", "remainder"), [
    (7, 2, 3, 1),
    (-7, 2, -3, -1),  # C truncates toward zero; the remainder takes the dividend's sign
    (7, -2, -3, 1),
    (-7, -2, 3, -1),
    (INT64_MIN, -1, INT64_MIN, 0),  # _stp_div64 returns -x, which wraps; _stp_mod64 returns 0 for ±1
    (INT64_MIN, 1, INT64_MIN, 0),
    (INT64_MAX, -1, -INT64_MAX, 0),
    (INT64_MIN, 2, INT64_MIN // 2, 0),
    (INT64_MIN, 3, -3074457345618258602, -2),
    (0, 5, 0, 0),
    (5, 7, 0, 5),
    (-5, 7, 0, -5),
])
def test_division_truncates_like_c(x: int, y: int, quotient: int, remainder: int) -> None:
    assert arith.div(x, y) == quotient
    assert arith.mod(x, y) == remainder


def test_division_by_zero_is_stap_error_with_location() -> None:
    where = "operator '/' at <input>:1:23"
    with pytest.raises(StapError) as err:
        arith.div(1, 0, where)
    assert err.value.message == "division by 0"
    assert err.value.text == "division by 0 near operator '/' at <input>:1:23"
    with pytest.raises(StapError, match=r"^division by 0$"):
        arith.mod(INT64_MIN, 0)


@pytest.mark.parametrize(("op", "x", "y", "expected"), [
    (arith.add, INT64_MAX, 1, INT64_MIN),
    (arith.sub, INT64_MIN, 1, INT64_MAX),
    (arith.mul, INT64_MAX, 2, -2),
    (arith.mul, 1 << 32, 1 << 32, 0),
    (arith.mul, -(1 << 62), 4, 0),
    (arith.shl, 1, 63, INT64_MIN),
    (arith.shl, 1, 64, 1),  # the count is masked with & 63
    (arith.shl, 1, 65, 2),
    (arith.shl, 3, -1, INT64_MIN),  # -1 & 63 == 63; the high bit of 3 falls off
    (arith.shr, -8, 1, -4),  # arithmetic shift
    (arith.shr, -1, 63, -1),
    (arith.shr, 256, 72, 1),  # 72 & 63 == 8
    (arith.ushr, -1, 60, 15),
    (arith.ushr, -8, 1, INT64_MAX - 3),
    (arith.ushr, INT64_MIN, 63, 1),
    (arith.ushr, -1, 0, -1),
])
def test_wrapping_and_shifts(op: object, x: int, y: int, expected: int) -> None:
    assert callable(op)
    assert op(x, y) == expected


def test_negation_and_bit_operators() -> None:
    assert arith.neg(INT64_MIN) == INT64_MIN
    assert arith.neg(5) == -5
    assert ~INT64_MIN == INT64_MAX  # Python's ~ on an in-range long stays in range
    assert (-1 & INT64_MAX) == INT64_MAX
    assert arith.truth(-3) == 1 and arith.truth(0) == 0


def test_helpers() -> None:
    assert arith.wrap(1 << 64) == 0
    assert arith.wrap((1 << 63) + 5) == INT64_MIN + 5
    assert arith.wrap32(1 << 31) == -(1 << 31)
    assert arith.sign_extend(0xFF, 8) == -1
    assert arith.sign_extend(0x7F, 8) == 127
    assert arith.to_unsigned(-1) == (1 << 64) - 1


def _interesting(rng: random.Random) -> int:
    choice = rng.randrange(5)
    if choice == 0:
        return rng.choice([0, 1, -1, 2, -2, 63, 64, 65, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1])
    if choice == 1:
        return rng.randint(-100, 100)
    if choice == 2:
        return rng.randint(-(1 << 31), 1 << 31)
    return rng.randint(INT64_MIN, INT64_MAX)


OPS = {"+": arith.add, "-": arith.sub, "*": arith.mul, "&": lambda x, y: x & y, "|": lambda x, y: x | y,
       "^": lambda x, y: x ^ y, "<<": arith.shl, ">>": arith.shr, ">>>": arith.ushr,
       "/": arith.div_nocheck, "%": arith.mod_nocheck}


def test_every_operator_matches_the_emitted_c(c_oracle: COracle) -> None:
    """The translator's C expressions and arith.c, compiled with -fwrapv (the kernel's
    -fno-strict-overflow), on 3000 operand pairs rich in edge values."""
    rng = random.Random(7)
    for _ in range(3000):
        op = rng.choice(list(OPS))
        x, y = _interesting(rng), _interesting(rng)
        if op in "/%" and y == 0:
            continue
        assert OPS[op](x, y) == c_oracle.arith(op, x, y), (op, x, y)
    for x in (INT64_MIN, INT64_MAX, 0, 5, -5):
        assert arith.neg(x) == c_oracle.arith("neg", x)
        assert ~x == c_oracle.arith("~", x)
