"""printf/sprintf exactly as stap 4.8 formats: the format parser of staptree.cxx and the
"compiled printf" the translator emits around runtime/vsprintf.c's number(),
_stp_vsprint_char(), _stp_vsprint_memory() and _stp_vsprint_binary().

`compile_format` turns a format into a callable. It first tries a fast path: one Python
%-operation whose result provably equals stap's whenever nothing hits the buffer limit
(tests check this against the reference on random formats). Output that reaches the
limit, and conversions Python cannot express (%b %m %M, %#o, %#c, %05s), go through
`render`, a step-by-step simulation of the C code with its fixed-size buffer:
sprintf keeps at most MAXSTRINGLEN-1 bytes and stops at a NUL, printf reserves at most
STP_BUFFER_SIZE bytes per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tapkit.runtime.arith import UINT64_MASK, wrap32
from tapkit.runtime.errors import StapError, memory_dump_too_big
from tapkit.runtime.memory import Memory, read_byte
from tapkit.runtime.strings import MAXSTRINGLEN, until_nul

STP_BUFFER_SIZE = 8192  # transport.h: the per-CPU print buffer, and the cap of one printf
PAGE_SIZE = 4096  # %m / %M dump at most this many bytes

# enum print_flag (vsprintf.h); staptree's fmt_flag_* have the same values.
ZEROPAD, SIGN, PLUS, SPACE, LEFT, SPECIAL, LARGE = 1, 2, 4, 8, 16, 32, 64

LITERAL, NUMBER, POINTER, STRING, CHAR, MEMORY, MEMORY_HEX, BINARY = (
    "literal", "number", "pointer", "string", "char", "memory", "memory_hex", "binary")

UNSPECIFIED, STATIC, DYNAMIC = 0, 1, 2  # width/precision kinds


class FormatError(ValueError):
    """A format string stap's parser rejects (reported as a parse error at the string)."""


@dataclass(frozen=True, slots=True)
class Component:
    kind: str
    text: str = ""  # literal text
    flags: int = 0
    base: int = 10
    width_kind: int = UNSPECIFIED
    width: int = 0
    precision_kind: int = UNSPECIFIED
    precision: int = 0

    @property
    def takes_long(self) -> bool:
        return self.kind not in (LITERAL, STRING)

    def arg_count(self) -> int:
        """Arguments this component consumes: '*' width and precision come first."""
        if self.kind == LITERAL:
            return 0
        return 1 + (self.width_kind == DYNAMIC) + (self.precision_kind == DYNAMIC)


_CONVERSIONS = {
    "b": (BINARY, 0, 10), "c": (CHAR, 0, 10), "s": (STRING, 0, 10), "m": (MEMORY, 0, 10),
    "M": (MEMORY_HEX, 0, 10), "d": (NUMBER, SIGN, 10), "i": (NUMBER, SIGN, 10), "u": (NUMBER, 0, 10),
    "o": (NUMBER, 0, 8), "X": (NUMBER, LARGE, 16), "x": (NUMBER, 0, 16), "p": (POINTER, SPECIAL, 16),
}
_FLAG_CHARS = {"0": ZEROPAD, "+": PLUS, "-": LEFT, " ": SPACE, "#": SPECIAL}
_INVALID = "invalid or missing conversion specifier"
_TRAILING = "trailing incomplete print format conversion"


def parse_format(fmt: str, decode: Callable[[str], str] | None = None) -> list[Component]:
    """print_format::string_to_components: one optional flag, width, precision, one 'l'.

    fmt may be the literal's source text, with `decode` turning literal pieces into
    runtime strings (stap parses the format before C interprets its escapes).
    """
    out: list[Component] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            text = "".join(literal)
            out.append(Component(LITERAL, text=decode(text) if decode else text))
            literal.clear()

    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch != "%":
            literal.append(ch)
            i += 1
            continue
        if i + 1 == n:
            raise FormatError(_INVALID)  # stap reads past the end here; 4.8 reports this
        if fmt[i + 1] == "%":
            literal.append("%")
            i += 2
            continue
        flush()
        i += 1
        flags = _FLAG_CHARS.get(fmt[i], 0)
        if flags:
            i += 1
        width_kind = precision_kind = UNSPECIFIED
        width = precision = 0
        if i < n and fmt[i] == "*":
            width_kind = DYNAMIC
            i += 1
        elif i < n and fmt[i].isdigit():
            width_kind = STATIC
            while i < n and fmt[i].isdigit():
                width = width * 10 + int(fmt[i])
                i += 1
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                precision_kind = DYNAMIC
                i += 1
            elif i < n and fmt[i].isdigit():
                precision_kind = STATIC
                while i < n and fmt[i].isdigit():
                    precision = precision * 10 + int(fmt[i])
                    i += 1
        if i < n and fmt[i] == "l":
            i += 1
        if i >= n:
            # An unfinished conversion with nothing recorded vanishes ("a%." prints "a").
            if flags or width_kind != UNSPECIFIED or precision_kind != UNSPECIFIED:
                raise FormatError(_TRAILING)
            break
        conv = _CONVERSIONS.get(fmt[i])
        if conv is None:
            raise FormatError(_INVALID)
        kind, extra, base = conv
        out.append(Component(kind, flags=flags | extra, base=base, width_kind=width_kind, width=width,
                             precision_kind=precision_kind, precision=precision))
        i += 1
    flush()
    return out


def print_format_for(types: Sequence[str], delimiter: str | None = None, newline: bool = False) -> str:
    """The format stap synthesizes for print/println/printd/printdln/sprint...: %d or %s per
    argument ("long"/"string"), the delimiter between them (its % doubled), then a newline."""
    delim = delimiter.replace("%", "%%") if delimiter is not None else ""
    fmt = delim.join("%d" if t == "long" else "%s" for t in types)
    return fmt + "\n" if newline else fmt


# ---- the reference: a simulation of the translator's compiled printf ----


class _Buf:
    """The output region: writes past `end` are dropped, like the C `str <= end` tests."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, size: int) -> None:
        self.data: list[str] = [""] * size
        self.end = size - 1
        self.pos = 0

    def put(self, ch: str) -> None:  # *str = ch if in range; ++str regardless
        if self.pos <= self.end:
            self.data[self.pos] = ch
        self.pos += 1

    def room(self) -> int:
        return self.end - self.pos + 1


def _digits(num: int, base: int, large: bool) -> str:
    if base == 10:
        return str(num)
    s = format(num, "x" if base == 16 else "o")
    return s.upper() if large else s


def _number(buf: _Buf | None, num: int, base: int, size: int, precision: int, flags: int) -> int:
    """number() of vsprintf.c on a uint64; returns the byte count (number_size) too."""
    count = 0

    def put(ch: str) -> None:
        nonlocal count
        count += 1
        if buf is not None:
            buf.put(ch)

    if flags & LEFT:
        flags &= ~ZEROPAD
    pad = "0" if flags & ZEROPAD else " "
    sign = ""
    if flags & SIGN:
        if num >> 63:
            sign = "-"
            num = (-num) & UINT64_MASK
            size -= 1
        elif flags & PLUS:
            sign = "+"
            size -= 1
        elif flags & SPACE:
            sign = " "
            size -= 1
    if flags & SPECIAL:
        size -= 2 if base == 16 else 1 if base == 8 else 0
    digits = _digits(num, base, bool(flags & LARGE))
    precision = max(precision, len(digits))
    size -= precision
    if not flags & (ZEROPAD | LEFT):
        while size > 0:
            put(" ")
            size -= 1
        size -= 1
    if sign:
        put(sign)
    if flags & SPECIAL:
        if base == 8:
            put("0")
        elif base == 16:
            put("0")
            put("X" if flags & LARGE else "x")
    if not flags & LEFT:
        while size > 0:
            put(pad)
            size -= 1
        size -= 1
    for _ in range(precision - len(digits)):
        put("0")
    for ch in digits:
        put(ch)
    while size > 0:
        put(" ")
        size -= 1
    return count


_CHAR_ESCAPES = {7: "a", 8: "b", 12: "f", 10: "n", 13: "r", 9: "t", 11: "v", 39: "'", 92: "\\"}


def _char_size(c: int, width: int, flags: int) -> int:
    size = 1
    if flags & SPECIAL and (not 32 <= c < 127 or c in (39, 92)):
        size = 2 if c in _CHAR_ESCAPES else 4
    return max(size, width)


def _char(buf: _Buf, c: int, width: int, flags: int) -> None:
    size = _char_size(c, 0, flags)
    if not flags & LEFT:
        while width > size:
            buf.put(" ")
            width -= 1
        width -= 1
    if size == 1:
        buf.put(chr(c))
    else:
        buf.put("\\")
        if c in _CHAR_ESCAPES:
            buf.put(_CHAR_ESCAPES[c])
        else:
            for digit in ((c >> 6) & 3, (c >> 3) & 7, c & 7):
                buf.put(str(digit))
    while width > size:
        buf.put(" ")
        width -= 1


class _MemoryDump(Protocol):
    def __call__(self, offset: int) -> int: ...


def _memory_len(arg: int | str, precision: int, fmt: str) -> int:
    if fmt == "s":
        assert isinstance(arg, str)
        limit = STP_BUFFER_SIZE if precision < 0 else min(precision, STP_BUFFER_SIZE)
        return min(len(arg), limit)
    return precision if precision > 0 else 1


def _memory_size(arg: int | str, width: int, precision: int, fmt: str, flags: int) -> int:
    length = _memory_len(arg, precision, fmt)
    if fmt == "M":
        length *= 2
    return max(length, width) + (1 if flags & ZEROPAD else 0)


def _memory(buf: _Buf, arg: int | str, width: int, precision: int, fmt: str, flags: int,
            reader: _MemoryDump | None) -> None:
    length = _memory_len(arg, precision, fmt)
    if not flags & LEFT:
        actlen = length * 2 if fmt == "M" else length
        while True:  # while (actlen < width-- && str <= end)
            go = actlen < width
            width -= 1
            if not (go and buf.pos <= buf.end):
                break
            buf.put(" ")
    if fmt == "s":
        assert isinstance(arg, str)
        for i in range(length):
            if buf.pos > buf.end:
                break
            buf.put(arg[i])
    else:
        assert reader is not None
        for i in range(length):
            if (buf.pos >= buf.end) if fmt == "M" else (buf.pos > buf.end):
                break
            b = reader(i)
            if fmt == "M":
                buf.put("0123456789abcdef"[b >> 4])
                buf.put("0123456789abcdef"[b & 15])
            else:
                buf.put(chr(b))
        if fmt == "M":
            length *= 2
    while True:  # while (len < width-- && str <= end)
        go = length < width
        width -= 1
        if not (go and buf.pos <= buf.end):
            break
        buf.put(" ")
    if flags & ZEROPAD and buf.pos <= buf.end:
        buf.put("\0")


def _binary_shape(width: int, precision: int) -> tuple[int, int]:
    if precision not in (-1, 1, 2, 4, 8):
        precision = -1
    if width == -1:
        if precision == -1:
            return 8, 8
        return precision, precision
    if precision == -1:
        precision = width if width in (1, 2, 4, 8) else 8
    return width, precision


def _binary(buf: _Buf, num: int, width: int, precision: int, flags: int) -> None:
    width, precision = _binary_shape(width, precision)
    if not flags & LEFT:
        while True:
            go = precision < width
            width -= 1
            if not (go and buf.pos <= buf.end):
                break
            buf.put("\0")
    if buf.pos + precision - 1 <= buf.end:
        for ch in (num & UINT64_MASK).to_bytes(8, "little")[:precision]:
            buf.put(chr(ch))
    while precision >= 0 and width >= 0:
        go = precision < width
        width -= 1
        if not (go and buf.pos <= buf.end):
            break
        buf.put("\0")


def _clamp(value: int, hi: int) -> int:
    return min(max(value, 0), hi)


def render(components: Sequence[Component], args: Sequence[int | str], *, stream: bool,
           memory: Memory | None = None, where: str | None = None, maxstringlen: int = MAXSTRINGLEN) -> str:
    """The exact output of stap's compiled printf (stream) or sprintf (not stream); maxstringlen is
    -D MAXSTRINGLEN's (sprintf's buffer)."""
    if stream:
        size = _stream_size(components, args)
        if size == 0:
            return ""
    else:
        size = maxstringlen
    buf = _Buf(size)
    ai = 0
    for comp in components:
        if comp.kind == LITERAL:
            for ch in comp.text:
                if buf.pos > buf.end:
                    break
                buf.put(ch)
            continue
        width = precision = -1
        if comp.width_kind != UNSPECIFIED:
            raw = wrap32(int(args[ai])) if comp.width_kind == DYNAMIC else comp.width
            ai += comp.width_kind == DYNAMIC
            width = min(max(raw, 0), buf.room())
        if comp.precision_kind != UNSPECIFIED:
            raw = wrap32(int(args[ai])) if comp.precision_kind == DYNAMIC else comp.precision
            ai += comp.precision_kind == DYNAMIC
            precision = min(max(raw, 0), buf.room())
        value = args[ai]
        ai += 1
        if comp.kind in (NUMBER, POINTER):
            _number(buf, int(value) & UINT64_MASK, comp.base, width, precision, comp.flags)
        elif comp.kind == CHAR:
            _char(buf, int(value) & 0xFF, width, comp.flags)
        elif comp.kind == STRING:
            _memory(buf, str(value), width, precision, "s", comp.flags, None)
        elif comp.kind == BINARY:
            _binary(buf, int(value), width, precision, comp.flags)
        else:
            _memory(buf, int(value), width, precision, "M" if comp.kind == MEMORY_HEX else "m", comp.flags,
                    _dump_reader(memory, int(value), bool(comp.flags & SPECIAL), where))
    if stream:
        return "".join(buf.data[: min(buf.pos, size)])
    return until_nul("".join(buf.data[: min(buf.pos, buf.end)]))


def _dump_reader(memory: Memory | None, addr: int, user: bool, where: str | None) -> _MemoryDump:
    def read(offset: int) -> int:
        return read_byte(memory, addr + offset, user=user, where=where)

    return read


def _stream_size(components: Sequence[Component], args: Sequence[int | str]) -> int:
    """The sizing pass before _stp_reserve_bytes: widths clamped to STP_BUFFER_SIZE."""
    total = 0
    ai = 0
    for comp in components:
        if comp.kind == LITERAL:
            total += len(comp.text)
            continue
        width = precision = -1
        if comp.width_kind != UNSPECIFIED:
            raw = wrap32(int(args[ai])) if comp.width_kind == DYNAMIC else comp.width
            ai += comp.width_kind == DYNAMIC
            width = _clamp(raw, STP_BUFFER_SIZE)
        if comp.precision_kind != UNSPECIFIED:
            raw = wrap32(int(args[ai])) if comp.precision_kind == DYNAMIC else comp.precision
            ai += comp.precision_kind == DYNAMIC
            precision = _clamp(raw, STP_BUFFER_SIZE)
        value = args[ai]
        ai += 1
        if comp.kind in (NUMBER, POINTER):
            total += _number(None, int(value) & UINT64_MASK, comp.base, width, precision, comp.flags)
        elif comp.kind == CHAR:
            total += _char_size(int(value) & 0xFF, width, comp.flags)
        elif comp.kind == STRING:
            total += _memory_size(str(value), width, precision, "s", comp.flags)
        elif comp.kind == BINARY:
            total += max(_binary_shape(width, precision))
        else:
            total += _memory_size(int(value), width, precision, "M" if comp.kind == MEMORY_HEX else "m",
                                  comp.flags)
    return _clamp(total, STP_BUFFER_SIZE)


def check_memory_dumps(components: Sequence[Component], args: Sequence[int | str],
                       where: str | None, arg_where: Sequence[str | None] | None = None) -> None:
    """The translator's guard before a printf with %m/%M: at most PAGE_SIZE bytes each."""
    ai = 0
    for comp in components:
        if comp.kind == LITERAL:
            continue
        ai += comp.width_kind == DYNAMIC
        prec_ix = -1
        if comp.precision_kind == DYNAMIC:
            prec_ix = ai
            ai += 1
        if comp.kind in (MEMORY, MEMORY_HEX):
            if prec_ix >= 0:
                nbytes = int(args[prec_ix])
                near = arg_where[prec_ix] if arg_where is not None else where
            else:
                nbytes = comp.precision if comp.precision_kind == STATIC and comp.precision > 0 else 1
                near = where
            if nbytes > PAGE_SIZE:
                raise StapError(memory_dump_too_big(nbytes), near)
        ai += 1

