"""compile_format: a printf/sprintf format turned into one fast Python callable.

The callable takes the script arguments in order (a '*' width or precision before its
value, as in stap) and returns the text. When the format has an exact %-operator
equivalent, the generated function is a single `%` with the unsigned conversions masked
and '*' values clamped; its result is returned when it is within the buffer limit (then
no clamp in the C code can have applied), otherwise `render` recomputes it exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tapkit.runtime.arith import UINT64_MASK, wrap32
from tapkit.runtime.memory import Memory
from tapkit.runtime.printf import (
    BINARY,
    CHAR,
    DYNAMIC,
    LEFT,
    LITERAL,
    MEMORY,
    MEMORY_HEX,
    NUMBER,
    PLUS,
    POINTER,
    SIGN,
    SPACE,
    SPECIAL,
    STATIC,
    STP_BUFFER_SIZE,
    STRING,
    ZEROPAD,
    Component,
    check_memory_dumps,
    parse_format,
    render,
)
from tapkit.runtime.strings import MAXSTRINGLEN

Formatter = Callable[..., str]


def _python_spec(comp: Component, limit: int) -> str | None:
    """The %-spec equal to stap's conversion below the limit, or None if there is none."""
    if (comp.width_kind == STATIC and comp.width > limit) or (
            comp.precision_kind == STATIC and comp.precision > limit):
        return None
    flags = comp.flags
    if comp.kind == STRING:
        if flags & ZEROPAD:
            return None  # stap appends a NUL byte after the field
        chars, conv = ("-" if flags & LEFT else ""), "s"
    elif comp.kind == CHAR:
        if flags & SPECIAL:
            return None  # escapes unprintable characters
        chars, conv = ("-" if flags & LEFT else ""), "c"
    elif comp.kind in (NUMBER, POINTER):
        if comp.base == 8 and flags & SPECIAL:
            return None  # C prints 010, Python 0o10
        chars = "".join(ch for ch, bit in (("-", LEFT), ("0", ZEROPAD)) if flags & bit)
        if flags & SIGN:
            chars += "+" if flags & PLUS else " " if flags & SPACE else ""
        elif flags & SPECIAL and comp.base == 16:
            chars += "#"
        conv = {10: "d", 8: "o", 16: "X" if comp.kind == NUMBER and flags & 64 else "x"}[comp.base]
    else:
        return None
    width = "*" if comp.width_kind == DYNAMIC else str(comp.width) if comp.width_kind == STATIC else ""
    if comp.precision_kind == DYNAMIC:
        precision = ".*"
    elif comp.precision_kind == STATIC:
        precision = f".{comp.precision}"
    else:
        precision = ""
    return f"%{chars}{width}{precision}{conv}"


def _fast_source(components: Sequence[Component], limit: int, check_nul: bool) -> tuple[str, int] | None:
    """Source of `def fmt(a0, a1, ...)` for the fast path, and its argument count."""
    pieces: list[str] = []
    values: list[str] = []
    nargs = 0
    for comp in components:
        if comp.kind == LITERAL:
            pieces.append(comp.text.replace("%", "%%"))
            continue
        spec = _python_spec(comp, limit)
        if spec is None:
            return None
        pieces.append(spec)
        for _ in range((comp.width_kind == DYNAMIC) + (comp.precision_kind == DYNAMIC)):
            values.append(f"_size(a{nargs})")
            nargs += 1
        arg = f"a{nargs}"
        nargs += 1
        if comp.kind == CHAR:
            values.append(f"({arg} & 255)")
        elif comp.kind in (NUMBER, POINTER) and not comp.flags & SIGN:
            values.append(f"({arg} & {UINT64_MASK})")
        else:
            values.append(arg)
    params = ", ".join(f"a{i}" for i in range(nargs))
    body = f"s = {''.join(pieces)!r} % ({', '.join(values)}{',' if len(values) == 1 else ''})" if values \
        else f"s = {''.join(pieces).replace('%%', '%')!r}"
    guard = f"len(s) > {limit}" + (" or '\\x00' in s" if check_nul else "")
    packed = params + ("," if nargs == 1 else "")
    source = f"def fmt({params}):\n    {body}\n    if {guard}:\n        return _slow(({packed}))\n    return s\n"
    return source, nargs


def _clamp_size(limit: int) -> Callable[[int], int]:
    """A '*' value as the C code narrows it (int) and clamps it; beyond the limit means overflow."""
    def size(value: int) -> int:
        v = wrap32(value)
        return 0 if v < 0 else v if v <= limit else limit + 1

    return size


def compile_format(fmt: str | Sequence[Component], *, stream: bool, memory: Memory | None = None,
                   where: str | None = None, arg_where: Sequence[str | None] | None = None,
                   maxstringlen: int = MAXSTRINGLEN) -> Formatter:
    """A callable formatting like stap's printf (stream=True) or sprintf (stream=False).

    fmt is the runtime format string or already-parsed components (FormatError when stap
    would reject it). memory serves %m/%M ('#' reads user space); where is the printf
    token for their errors, arg_where the tokens of the arguments (for a '*' precision);
    maxstringlen is -D MAXSTRINGLEN's value (what sprintf keeps, NUL included).
    """
    components = parse_format(fmt) if isinstance(fmt, str) else list(fmt)
    has_dump = any(c.kind in (MEMORY, MEMORY_HEX) for c in components)

    def slow(args: Sequence[Any]) -> str:
        if has_dump:
            check_memory_dumps(components, args, where, arg_where)
        return render(components, args, stream=stream, memory=memory, where=where, maxstringlen=maxstringlen)

    if has_dump or any(c.kind == BINARY for c in components):
        return lambda *args: slow(args)
    # sprintf keeps 511 bytes; one more byte means the NUL overwrote the last one.
    limit = STP_BUFFER_SIZE if stream else maxstringlen - 1
    check_nul = not stream and any(c.kind == CHAR for c in components)
    built = _fast_source(components, limit, check_nul)
    if built is None:
        return lambda *args: slow(args)
    source, _ = built
    namespace: dict[str, Any] = {"_slow": slow, "_size": _clamp_size(limit)}
    exec(compile(source, f"<stap format {fmt if isinstance(fmt, str) else 'components'!r}>", "exec"), namespace)
    fast: Formatter = namespace["fmt"]
    return fast


__all__ = ["Formatter", "compile_format"]
