"""64-bit signed integer arithmetic exactly as stap's kernel runtime computes it.

Longs are plain Python ints kept in [INT64_MIN, INT64_MAX]. Operators whose C result
can leave that range (+ - * << unary -) go through `wrap`; & | ^ ~ and >> of in-range
values stay in range, so compiled code may use Python's operators for them directly.

The C the translator emits (translate.cxx, checked against `stap -p3` of 4.8):
  a + b, a - b, a * b            plain int64 ops, wrapping (the kernel builds with -fno-strict-overflow)
  a << b, a >> b                 ((int64_t)a) << (b & 63), arithmetic >> (b & 63)
  a >>> b                        (int64_t)((uint64_t)a >> (b & 63))
  -a                             (int64_t)(0 - (uint64_t)a)
  a / b, a % b                   "division by 0" error when b == 0, else _stp_div64/_stp_mod64 (arith.c):
                                 x / -1 is -x (so INT64_MIN / -1 == INT64_MIN), x % ±1 is 0,
                                 otherwise C truncation toward zero.
"""

from __future__ import annotations

from tapkit.runtime.errors import DIVISION_BY_ZERO, StapError

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MASK = (1 << 64) - 1
_BIAS = 1 << 63


def wrap(x: int) -> int:
    """The int64 that two's-complement truncation of x denotes."""
    if INT64_MIN <= x <= INT64_MAX:
        return x
    return ((x + _BIAS) & UINT64_MASK) - _BIAS


def wrap32(x: int) -> int:
    """The int32 that truncation of x denotes (C's conversion of int64 to int)."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def sign_extend(value: int, bits: int) -> int:
    """Interpret the low `bits` bits of value as a signed number."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def to_unsigned(x: int) -> int:
    """The uint64 with the same bits as the long x (%u, %x, %o and >>> see this)."""
    return x & UINT64_MASK


def add(a: int, b: int) -> int:
    return wrap(a + b)


def sub(a: int, b: int) -> int:
    return wrap(a - b)


def mul(a: int, b: int) -> int:
    return wrap(a * b)


def neg(a: int) -> int:
    return wrap(-a)


def shl(a: int, b: int) -> int:
    return wrap(a << (b & 63))


def shr(a: int, b: int) -> int:
    return a >> (b & 63)


def ushr(a: int, b: int) -> int:
    return wrap((a & UINT64_MASK) >> (b & 63))


def div_nocheck(x: int, y: int) -> int:
    """_stp_div64 with a non-zero divisor: -x for y == -1, else C truncating division."""
    if y == -1:
        return wrap(-x)
    q = x // y
    if q < 0 and q * y != x:
        q += 1  # Python floors; C truncates toward zero
    return q


def mod_nocheck(x: int, y: int) -> int:
    """_stp_mod64 with a non-zero divisor: 0 for y == ±1, else C remainder (sign of x)."""
    if y == 1 or y == -1:
        return 0
    r = abs(x) % abs(y)
    return -r if x < 0 else r


def div(x: int, y: int, where: str | None = None) -> int:
    """Script `x / y`; where is the operator's token text for the error line."""
    if not y:
        raise StapError(DIVISION_BY_ZERO, where)
    return div_nocheck(x, y)


def mod(x: int, y: int, where: str | None = None) -> int:
    """Script `x % y`; where is the operator's token text for the error line."""
    if not y:
        raise StapError(DIVISION_BY_ZERO, where)
    return mod_nocheck(x, y)


def truth(x: int) -> int:
    """C's !!x: what && || ! and comparisons yield (1 or 0)."""
    return 1 if x else 0
