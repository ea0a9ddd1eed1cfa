"""Evaluating one preprocessor comparison `LEFT OP RIGHT` against a Target, with stap's rules.

Versions compare with glibc's strverscmp, patterns (`arch == "i?86"`, `kernel_v == "5.*"`)
with fnmatch, CONFIG_ values as numbers when both sides are numbers, else as strings.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from tapkit.syntax.tokens import Token, string_value
from tapkit.target import Target

_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class ConditionError(Exception):
    def __init__(self, message: str, token: Token) -> None:
        super().__init__(message)
        self.token = token


def strverscmp(a: str, b: str) -> int:
    """glibc strverscmp: digit runs compare as numbers, leading zeros as fractions."""
    s_n, s_i, s_f, s_z = 0, 3, 6, 9
    cmp_, len_ = 2, 3
    next_state = (s_n, s_i, s_z, s_n, s_i, s_i, s_n, s_f, s_f, s_n, s_f, s_z)
    result_type = (
        cmp_, cmp_, cmp_, cmp_, len_, cmp_, cmp_, cmp_, cmp_,
        cmp_, -1, -1, 1, len_, len_, 1, len_, len_,
        cmp_, cmp_, cmp_, cmp_, cmp_, cmp_, cmp_, cmp_, cmp_,
        cmp_, 1, 1, -1, cmp_, cmp_, -1, cmp_, cmp_,
    )
    p1 = a.encode("utf-8", "surrogateescape") + b"\0"
    p2 = b.encode("utf-8", "surrogateescape") + b"\0"
    if p1 == p2:
        return 0

    def cls(c: int) -> int:
        return (c == 0x30) + (0x30 <= c <= 0x39)

    i = 0
    c1, c2 = p1[0], p2[0]
    state = s_n + cls(c1)
    while c1 - c2 == 0:
        if c1 == 0:
            return 0
        state = next_state[state]
        i += 1
        c1, c2 = p1[i], p2[i]
        state += cls(c1)
    diff = c1 - c2
    kind = result_type[state * 3 + cls(c2)]
    if kind == cmp_:
        return diff
    if kind == len_:
        k = i + 1
        while 0x30 <= p1[k] <= 0x39:
            if not 0x30 <= p2[k] <= 0x39:
                return 1
            k += 1
        return -1 if 0x30 <= p2[k] <= 0x39 else diff
    return kind


def _strtoll(text: str) -> int | None:
    """C strtoll(text, &end, 0) that must consume everything; None where stap would complain."""
    s = text.strip()
    if s == "" and text == "":
        return 0
    try:
        sign = 1
        body = s
        if body[:1] in "+-":
            sign = -1 if body[0] == "-" else 1
            body = body[1:]
        if body[:2].lower() == "0x":
            return sign * int(body[2:], 16)
        if body.startswith("0") and len(body) > 1:
            return sign * int(body[1:], 8)
        return sign * int(body, 10)
    except (ValueError, IndexError):
        return None


def _lex_int(text: str) -> int:
    digits = ""
    for ch in text:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


def _compare(lhs: int | str, op: Token, rhs: int | str) -> bool:
    o = op.text if op.type == "CMP_OP" else ""
    if o == "==":
        return lhs == rhs
    if o == "!=":
        return lhs != rhs
    if o == "<":
        return lhs < rhs  # type: ignore[operator]
    if o == "<=":
        return lhs <= rhs  # type: ignore[operator]
    if o == ">":
        return lhs > rhs  # type: ignore[operator]
    if o == ">=":
        return lhs >= rhs  # type: ignore[operator]
    raise ConditionError("expected comparison operator", op)


def _equality(match: bool, op: Token) -> bool:
    if op.type == "CMP_OP" and op.text == "==":
        return match
    if op.type == "CMP_OP" and op.text == "!=":
        return not match
    raise ConditionError("expected '==' or '!='", op)


def _is_string(t: Token) -> bool:
    return t.type in ("STRING", "ARGSTR")


def _string(t: Token) -> str:
    return string_value(t.text) if t.type == "STRING" else ""


def evaluate_condition(target: Target, left: Token, op: Token, right: Token) -> bool:
    lt = left.type
    name = left.text if lt in ("IDENT", "PRINTFN") else None
    if name in ("kernel_v", "kernel_vr", "systemtap_v"):
        if not _is_string(right):
            raise ConditionError("expected string literal", right)
        have = {"kernel_v": target.kernel_version, "kernel_vr": target.release,
                "systemtap_v": target.stap_version}[name]
        query = _string(right)
        wildcard = any(c in query for c in "*?[")
        o = op.text if op.type == "CMP_OP" else ""
        if o not in _COMPARISONS:
            raise ConditionError("expected comparison operator", op)
        if wildcard and o not in ("==", "!="):
            raise ConditionError("wildcard not allowed with order comparison operators", op)
        if wildcard:
            return fnmatchcase(have, query) == (o == "==")
        r = strverscmp(have, query)
        r = (r > 0) - (r < 0)
        return {"<=": r <= 0, ">=": r >= 0, "<": r < 0, ">": r > 0, "==": r == 0, "!=": r != 0}[o]
    if name == "systemtap_privilege":
        if not _is_string(right):
            raise ConditionError("expected string literal", right)
        return _equality(target.privilege == _string(right), op)
    if name == "guru_mode":
        if right.type not in ("NUMBER", "ARGNUM"):
            raise ConditionError("expected number", right)
        rhs = _lex_int(right.text)
        if rhs not in (0, 1):
            raise ConditionError("expected 0 or 1", op)
        if not (op.type == "CMP_OP" and op.text in ("==", "!=")):
            raise ConditionError("expected '==' or '!='", op)
        return _compare(int(target.guru_mode), op, rhs)
    if name in ("arch", "runtime"):
        if not _is_string(right):
            raise ConditionError("expected string literal", right)
        have = target.arch if name == "arch" else target.runtime
        return _equality(fnmatchcase(have, _string(right)), op)
    if name is not None and name.startswith("CONFIG_"):
        config = target.kernel_config
        lhs_text = config.get(name, "")
        if _is_string(right):
            return _equality(fnmatchcase(lhs_text, _string(right)), op)
        if right.type in ("NUMBER", "ARGNUM"):
            lhs = _strtoll(lhs_text)
            if lhs is None:
                raise ConditionError("Config option value not a number", left)
            return _compare(lhs, op, _lex_int(right.text))
        if right.type in ("IDENT", "PRINTFN") and right.text.startswith("CONFIG_"):
            rhs_text = config.get(right.text, "")
            ln, rn = _strtoll(lhs_text), _strtoll(rhs_text)
            if ln is not None and rn is not None:
                return _compare(ln, op, rn)
            return _compare(lhs_text, op, rhs_text)
        raise ConditionError("expected string, number literal or other CONFIG_... as right side operand", right)
    if _is_string(left) and _is_string(right):
        return _compare(_string(left), op, _string(right))
    if lt in ("NUMBER", "ARGNUM") and right.type in ("NUMBER", "ARGNUM"):
        return _compare(_lex_int(left.text), op, _lex_int(right.text))
    if _is_string(left) and right.type in ("NUMBER", "ARGNUM") and op.type != "JUNK":
        raise ConditionError("expected string literal as right value", right)
    if lt in ("NUMBER", "ARGNUM") and _is_string(right) and op.type != "JUNK":
        raise ConditionError("expected number literal as right value", right)
    raise ConditionError(
        "expected 'arch', 'kernel_v', 'kernel_vr', 'systemtap_v',\n"
        "             'runtime', 'systemtap_privilege', 'CONFIG_...', or\n"
        "             comparison between strings or integers", left)
