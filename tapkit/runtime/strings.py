"""Strings as stap's runtime has them, and the string tapset functions with embedded-C bodies.

A stap string is a NUL-terminated byte array of MAXSTRINGLEN (512) bytes, so it holds at
most 511 bytes. Here a string is a Python str with one code point per byte (latin-1):
len() is the byte count, comparisons order like strcmp on unsigned bytes, and output
encodes with latin-1 to give back the exact bytes. Script literals are UTF-8 in the
source file; `decode_script_string` turns their source text into this form.
"""

from __future__ import annotations

from collections.abc import Callable

from tapkit.runtime.arith import wrap
from tapkit.runtime.errors import POSITION_OUT_OF_BOUNDS, StapError

MAXSTRINGLEN = 512  # bytes including the NUL (runtime_defines.h, 64-bit)
MAX_CHARS = MAXSTRINGLEN - 1


def cstr(s: str) -> str:
    """strlcpy(dst, s, MAXSTRINGLEN): what assigning s to a variable keeps."""
    if len(s) < MAXSTRINGLEN:
        return s
    return s[:MAX_CHARS]


def concat(a: str, b: str) -> str:
    """Script `a . b` (strlcpy then strlcat into a MAXSTRINGLEN buffer)."""
    s = a + b
    return s if len(s) < MAXSTRINGLEN else s[:MAX_CHARS]


def until_nul(s: str) -> str:
    """C string semantics: the text ends at the first NUL."""
    i = s.find("\0")
    return s if i < 0 else s[:i]


def from_bytes(data: bytes) -> str:
    return data.decode("latin-1")


def to_bytes(s: str) -> bytes:
    return s.encode("latin-1")


def from_text(text: str) -> str:
    """A Unicode string (e.g. a command-line argument) as stap sees it: its UTF-8 bytes."""
    return text.encode("utf-8").decode("latin-1")


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "\\": "\\"}
_OCTAL = "01234567"


def decode_script_string(source: str) -> str:
    """The runtime value of a string literal, given its source text between the quotes.

    stap 4.8's lexer keeps \\a \\b \\t \\n \\v \\f \\r \\x \\\\ and \\<octal digit> for the C compiler
    and drops the backslash of every other escape (so "\\q" is "q", "\\e" is "e"); C then reads
    up to three octal digits or all hex digits after \\x. The value ends at a NUL, as the C
    literal would. ValueError for what gcc refuses: \\x without digits or above \\xff.
    """
    text = from_text(source)
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        i += 1
        if c != "\\" or i >= n:
            out.append(c)
            continue
        e = text[i]
        i += 1
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
        elif e == "x":
            j = i
            while j < n and text[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i:
                raise ValueError("\\x used with no following hex digits")
            value = int(text[i:j], 16)
            if value > 0xFF:
                raise ValueError("hex escape sequence out of range")
            out.append(chr(value))
            i = j
        elif e in _OCTAL:
            digits = e
            while len(digits) < 3 and i < n and text[i] in _OCTAL:
                digits += text[i]
                i += 1
            out.append(chr(int(digits, 8) & 0xFF))
        else:
            out.append(e)
    return until_nul("".join(out))


# ---- string.stp functions whose bodies are embedded C ----


def strlen(s: str) -> int:
    return len(s)


def substr(s: str, start: int, length: int) -> str:
    """strlcpy(ret, s + start, clamp(length + 1, 0, MAXSTRINGLEN)) when start is in range."""
    size = min(max(wrap(length + 1), 0), MAXSTRINGLEN)
    if 0 <= start < len(s) and size > 0:
        return s[start : start + size - 1]
    return ""


def stringat(s: str, pos: int, where: str | None = None) -> int:
    """The byte at pos as a signed char (x86 char is signed), or the bounds error."""
    if 0 <= pos < len(s):
        b = ord(s[pos])
        return b - 256 if b >= 128 else b
    raise StapError(POSITION_OUT_OF_BOUNDS, where)


def isinstr(s1: str, s2: str) -> int:
    return 1 if s2 in s1 else 0


def strpos(s1: str, s2: str) -> int:
    return s1.find(s2)


def str_replace(text: str, search: str, replacement: str) -> str:
    if not search:
        return cstr(text)
    return cstr(text.replace(search, replacement))


def isdigit(s: str) -> int:
    return 1 if s[:1] and "0" <= s[0] <= "9" else 0


def strtol(s: str, base: int) -> int:
    """The kernel's simple_strtol: optional '-', radix prefix fix-up, no whitespace, wrapping."""
    negative = s[:1] == "-"
    if negative:
        s = s[1:]
    value = _simple_strtoull(s, base & 0xFFFFFFFF)
    return wrap(-value if negative else value)


def _simple_strtoull(s: str, base: int) -> int:
    if base == 0:
        if s[:1] == "0":
            base = 16 if s[1:2] in ("x", "X") and s[2:3] != "" and s[2] in "0123456789abcdefABCDEF" else 8
        else:
            base = 10
    if base == 16 and s[:1] == "0" and s[1:2] in ("x", "X"):
        s = s[2:]
    result = 0
    for ch in s:
        o = ord(ch)
        lc = o | 0x20  # the kernel's no-tolower trick, faithfully
        if 48 <= o <= 57:
            val = o - 48
        elif 97 <= lc <= 102:
            val = lc - 97 + 10
        else:
            break
        if val >= base:
            break
        result = (result * base + val) & 0xFFFFFFFFFFFFFFFF
    return result


# ---- _stp_text_str (runtime/stp_string.c): text_str, text_strn, string_quoted ----

ByteReader = Callable[[int], int]  # offset -> byte; raises on a fault


def _decode_utf8(read: ByteReader, pos: int, size: int) -> tuple[int, int]:
    """(code point, bytes consumed), with stap's rule of passing anything odd through as one byte."""
    b = read(pos)
    size -= 1
    if (b & 0xE0) == 0xC0 and size >= 1:
        n, c = 2, b & 0x1F
    elif (b & 0xF0) == 0xE0 and size >= 2:
        n, c = 3, b & 0x0F
    elif (b & 0xF8) == 0xF0 and size >= 3:
        n, c = 4, b & 0x07
    else:
        return b, 1
    for i in range(1, n):
        b2 = read(pos + i)
        if (b2 & 0xC0) != 0x80:
            return b, 1
        c = (c << 6) | (b2 & 0x3F)
    if 0xD800 <= c <= 0xDFFF or c > 0x10FFFF or c < 0x80 or (n == 3 and c < 0x800) or (n == 4 and c < 0x10000):
        return b, 1
    return c, n


_TEXT_ESCAPES = {7: "a", 8: "b", 12: "f", 10: "n", 13: "r", 9: "t", 11: "v", 34: '"', 92: "\\"}


def text_str_from(read: ByteReader, inlen: int, outlen: int, quoted: bool, buffer: bool = False) -> str:
    """Port of _stp_text_str over a byte source; raises whatever `read` raises on a fault."""
    if inlen <= 0 or inlen > MAX_CHARS:
        inlen = MAX_CHARS
    if outlen <= 0 or outlen > MAX_CHARS:
        outlen = MAX_CHARS
    out: list[str] = []
    size = 0  # characters in out so far
    if quoted:
        outlen = max(outlen, 5) - 2
        out.append('"')
        size = 1
    esc = -1  # offset of the first escape that truncation could cut in half
    esc_len = 0
    c = 0
    pos = 0
    while inlen > 0:
        num = 1
        c, n = _decode_utf8(read, pos, inlen)
        if (c == 0 and not buffer) or outlen <= 0:
            break
        pos += n
        inlen -= n
        if n > 1:
            num = 6 if c <= 0xFFFF else 10
            if esc < 0 and outlen - 3 < num:
                esc, esc_len = size, num
            if outlen < num:
                break
            out.append(("\\u%04X" if c <= 0xFFFF else "\\U%08X") % c)
        elif 32 <= c < 127 and c != 34 and c != 92:
            out.append(chr(c))
        else:
            num = 2 if c in _TEXT_ESCAPES else 4
            if esc < 0 and outlen - 3 < num:
                esc, esc_len = size, num
            if outlen < num:
                break
            if c == 0:
                out.append("\\0")  # buffer mode only; reserved 4 columns, writes 2
            elif c in _TEXT_ESCAPES:
                out.append("\\" + _TEXT_ESCAPES[c])
            else:
                out.append(f"\\{(c >> 6) & 3}{(c >> 3) & 7}{c & 7}")
        size += len(out[-1])
        outlen -= num
    text = "".join(out)
    if quoted:
        if c and inlen > 0:
            trunc = size - 3 + outlen
            if esc >= 0 and esc < trunc < esc + esc_len:
                trunc = esc
            text = text[:trunc] + '"...'
        else:
            text += '"'
    return text


def _string_reader(s: str) -> ByteReader:
    def read(i: int) -> int:
        return ord(s[i]) if i < len(s) else 0

    return read


def text_str(s: str) -> str:
    return text_str_from(_string_reader(s), 0, 0, False)


def text_strn(s: str, length: int, quoted: int) -> str:
    outlen = min(max(length, 0), MAXSTRINGLEN)
    return text_str_from(_string_reader(s), 0, outlen, bool(quoted))


def string_quoted(s: str) -> str:
    return text_str_from(_string_reader(s), MAXSTRINGLEN, MAXSTRINGLEN, True)


# ---- tokenize(): strsep over a copy kept in the (per-CPU) context ----


class TokenizeState:
    """CONTEXT->tok_str/tok_start: survives between calls and between probe hits."""

    __slots__ = ("start", "text")

    def __init__(self) -> None:
        self.text = ""
        self.start: int | None = None  # None is strsep's NULL: no more tokens


def tokenize(state: TokenizeState, text: str, delim: str) -> str:
    """tokenize(input, delim); an empty input continues the previous string."""
    if text:
        state.text = text  # already a stap string, so within MAXSTRINGLEN
        state.start = 0
    while True:
        start = state.start
        if start is None:
            return ""
        s = state.text
        end = start
        while end < len(s) and s[end] not in delim:
            end += 1
        state.start = end + 1 if end < len(s) else None
        if end > start:
            return s[start:end]
