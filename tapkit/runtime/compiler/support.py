"""Small helpers that compiled code calls where no runtime-library function fits one expression.

Everything here is either an operation the translator emits inline in C (a compound assignment to
an array element, a post-increment) or the body of an embedded-C tapset function that has no home
in the runtime library (randint, ctime, errno_str, the regex match and matched()).
"""

from __future__ import annotations

import errno
import os
import random
import re
from collections.abc import Callable
from typing import Any

from tapkit.runtime.arith import INT64_MAX, div_nocheck, mod_nocheck, wrap
from tapkit.runtime.context import Context
from tapkit.runtime.errors import DIVISION_BY_ZERO, ActionLimitError, StapError
from tapkit.runtime.strings import MAX_CHARS, cstr


class NextOverload(Exception):
    """`next` in a function: the caller tries the next overload."""


def raise_error(message: str) -> None:
    """error(msg): the message, and no `near` (the tapset clears last_stmt)."""
    raise StapError(cstr(message), None)


def first(a: Any, b: Any) -> Any:
    """The value before a post-increment: `first(x, x := x + 1)`."""
    return a


def charged(ctx: Context, value: Any, actions: int, where: str | None) -> Any:
    """A call's value, after charging the actions the translator charges on its return."""
    ctx.actionremaining -= actions
    if ctx.actionremaining <= 0:
        raise ActionLimitError(where)
    return value


def stat_push(stat: Any, value: int) -> int:
    """`s <<< v` used as a value."""
    stat.add(value)
    return value


def compound(op: str) -> Callable[[int, int, str | None], int]:
    """The C operation of `x op= v` for the operators that have no single runtime call."""
    return _COMPOUND[op]


def _mul(a: int, b: int, where: str | None) -> int:
    return wrap(a * b)


def _divide(a: int, b: int, where: str | None) -> int:
    if not b:
        raise StapError(DIVISION_BY_ZERO, where)
    return div_nocheck(a, b)


def _modulo(a: int, b: int, where: str | None) -> int:
    if not b:
        raise StapError(DIVISION_BY_ZERO, where)
    return mod_nocheck(a, b)


_COMPOUND: dict[str, Callable[[int, int, str | None], int]] = {
    "+=": lambda a, b, w: wrap(a + b),
    "-=": lambda a, b, w: wrap(a - b),
    "*=": _mul,
    "/=": _divide,
    "%=": _modulo,
    "&=": lambda a, b, w: a & b,
    "|=": lambda a, b, w: a | b,
    "^=": lambda a, b, w: a ^ b,
    "<<=": lambda a, b, w: wrap(a << (b & 63)),
    ">>=": lambda a, b, w: a >> (b & 63),
}


def array_update(array: Any, key: Any, op: Callable[[int, int, str | None], int], value: int,
                 where: str | None, value_where: str | None) -> int:
    """`a[k] op= v` for operators other than += (get, compute, set, as the translator does)."""
    result = op(array.get(key), value, value_where)
    array.set(key, result, where)
    return result


def array_concat(array: Any, key: Any, text: str, where: str | None, maxstringlen: int = MAX_CHARS + 1) -> str:
    """`a[k] .= s`."""
    old: str = array.get(key)
    result = old + text
    if len(result) >= maxstringlen:
        result = result[:maxstringlen - 1]
    array.set(key, result, where)
    return result


def concat_n(a: str, b: str, maxstringlen: int) -> str:
    """`a . b` under -D MAXSTRINGLEN=N."""
    s = a + b
    return s if len(s) < maxstringlen else s[:maxstringlen - 1]


# ---- randint, ctime, errno_str ----

RANDMAX = 1024 * 1024
_random = random.Random()


def randint(n: int, where: str | None) -> int:
    """randint(n): [0, n); n above 2**20 (as an unsigned long) is "range too wide"."""
    if (n & 0xFFFFFFFFFFFFFFFF) > RANDMAX:
        raise StapError("range too wide", where)
    if n == 0:
        return 0
    return _random.randrange(n)


_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def ctime(epochsecs: int, where: str | None = None) -> str:
    """ctime(secs) of linux/ctime.stp: UTC, no newline, within what a signed 32-bit time_t holds."""
    if epochsecs > (1 << 31) - 1:
        raise StapError("Time too far in the future to be converted", where)
    if epochsecs < -(1 << 31):
        raise StapError("Time too far in the past to be converted", where)
    days, rem = divmod(epochsecs, 86400)
    hour, rem = divmod(rem, 3600)
    minute, sec = divmod(rem, 60)
    wday = (4 + days) % 7
    year, month, day = _civil_from_days(days)
    return f"{_DAYS[wday]} {_MONTHS[month - 1]}{day:3d} {hour:02d}:{minute:02d}:{sec:02d} {year}"


def _civil_from_days(z: int) -> tuple[int, int, int]:
    """Howard Hinnant's days-to-civil conversion (proleptic Gregorian)."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


# errno.stp's errlist: its names in its order (a later name for the same number wins, as in C)
_ERRLIST_NAMES = (
    "EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT ENOTBLK EBUSY "
    "EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG ENOSPC ESPIPE EROFS EMLINK EPIPE "
    "EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ELOOP ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST "
    "ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR EXFULL ENOANO EBADRQC EBADSLT EBFONT ENOSTR ENODATA ETIME ENOSR "
    "ENONET ENOPKG EREMOTE ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD "
    "EREMCHG ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK EDESTADDRREQ "
    "EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP EPFNOSUPPORT EAFNOSUPPORT "
    "EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN "
    "ESHUTDOWN ETOOMANYREFS ETIMEDOUT ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN "
    "ENOTNAM ENAVAIL EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED "
    "EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE EDEADLOCK EADV")
ERRLIST: dict[int, str] = {getattr(errno, name): name for name in _ERRLIST_NAMES.split() if hasattr(errno, name)}
MAXERRNO = max(ERRLIST) + 1


def errno_str(err: int) -> str:
    """errno_str(e): the name errno.stp's table gives |e|, or "" outside it."""
    n = -err if err < 0 else err
    return ERRLIST.get(n, "") if 0 < n < MAXERRNO else ""


# ---- tapset arithmetic helpers with embedded-C bodies ----

def major(dev: int) -> int:
    return wrap((dev & 0xFFFFFFFF) >> 20)


def minor(dev: int) -> int:
    return dev & ((1 << 20) - 1)


def mkdev(major_: int, minor_: int) -> int:
    return wrap(((major_ << 20) | minor_) & 0xFFFFFFFF)


def endian(value: int, size: int, big: bool) -> int:
    """big_endianN / little_endianN on x86-64: a byte swap for big, nothing for little; unsigned."""
    data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    result = int.from_bytes(data, "big" if big else "little")
    return wrap(result)


# ---- regular expressions (stap's =~ is POSIX ERE over bytes) ----

_POSIX_CLASSES = {
    "alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
    "space": " \\t\\n\\r\\f\\v", "blank": " \\t", "punct": "!-/:-@\\[-`{-~", "xdigit": "0-9A-Fa-f",
    "cntrl": "\\x00-\\x1f\\x7f", "print": " -~", "graph": "!-~",
}


class RegexError(ValueError):
    """A pattern stap's regex compiler would reject."""


def ere_to_python(pattern: str) -> str:
    """Translate a POSIX extended regular expression into Python's syntax."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise RegexError("trailing backslash")
            nxt = pattern[i + 1]
            out.append(re.escape(nxt) if not nxt.isalnum() else "\\" + nxt)
            i += 2
        elif c == "[":
            j = i + 1
            parts = ["["]
            if j < n and pattern[j] == "^":
                parts.append("^")
                j += 1
            if j < n and pattern[j] == "]":
                parts.append("\\]")
                j += 1
            while j < n and pattern[j] != "]":
                if pattern.startswith("[:", j):
                    end = pattern.find(":]", j + 2)
                    if end < 0:
                        raise RegexError("unterminated character class")
                    name = pattern[j + 2:end]
                    if name not in _POSIX_CLASSES:
                        raise RegexError(f"unknown character class '{name}'")
                    parts.append(_POSIX_CLASSES[name])
                    j = end + 2
                    continue
                ch = pattern[j]
                parts.append("\\" + ch if ch in "\\[" else ch)
                j += 1
            if j >= n:
                raise RegexError("unterminated bracket expression")
            parts.append("]")
            out.append("".join(parts))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def compile_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(ere_to_python(pattern), re.DOTALL)
    except re.error as exc:
        raise RegexError(str(exc)) from None


def regex_match(ctx: Context, pattern: re.Pattern[str], text: str) -> int:
    """`text =~ pattern`: 1 or 0, remembering the match for matched()/ngroups()."""
    m = pattern.search(text)
    ctx.regex_match = m
    return 1 if m is not None else 0


def matched(ctx: Context, n: int, where: str | None) -> str:
    m = ctx.regex_match
    if m is None:
        raise StapError(f"Attempted to get subexpression {n} from failed match", where)
    if not 0 <= n <= m.re.groups:
        raise StapError(f"Attempted to get nonexistent subexpression {n}", where)
    text = m.group(n)
    return text if text is not None else ""


def ngroups(ctx: Context) -> int:
    m = ctx.regex_match
    return m.re.groups + 1 if m is not None else 0


# ---- context odds and ends ----

def stp_pid() -> int:
    """stp_pid(): the pid of the process running the session (stapio's, in stap)."""
    return os.getpid()


def clamp_long(value: int) -> int:
    return value if value <= INT64_MAX else wrap(value)


# ---- target values ----

def bitfield(raw: int, bit_offset: int, bit_size: int, signed: bool) -> int:
    """A bitfield's value from the storage unit that holds it (little-endian bit numbering)."""
    value = (raw >> bit_offset) & ((1 << bit_size) - 1)
    if signed and value >> (bit_size - 1):
        value -= 1 << bit_size
    return value


def write_var(access: Any, ctx: Context, value: int) -> int:
    """Guru mode `$var = value`: the event source stores it; the assignment's value is value."""
    access.write(ctx, value)
    return value


def poke(memory: Any, addr: int, size: int, value: int, user: bool, where: str | None) -> int:
    """Guru mode `$p->field = value`: a write through the event source's memory, if it takes writes."""
    writer = getattr(memory, "write", None)
    if writer is None:
        raise StapError(f"write fault [man error::fault] at 0x{addr & 0xFFFFFFFFFFFFFFFF:x}", where)
    data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    try:
        # a replay space takes (addr, data, user); a live process's memory only (addr, data)
        if getattr(memory, "takes_user_flag", False):
            writer(addr & 0xFFFFFFFFFFFFFFFF, data, user)
        else:
            writer(addr & 0xFFFFFFFFFFFFFFFF, data)
    except Exception:
        raise StapError(f"write fault [man error::fault] at 0x{addr & 0xFFFFFFFFFFFFFFFF:x}", where) from None
    return value


def register(ctx: Context, regno: int, where: str | None) -> int:
    reader = getattr(ctx, "dwarf_register", None)
    if reader is None:
        raise StapError("cannot access registers in this probe context", where)
    value: int = reader(regno)
    return wrap(value)


def sized(array: Any, maxsize: int) -> Any:
    """An array whose capacity is -D MAXMAPENTRIES (its overflow message still names MAXMAPENTRIES)."""
    array.maxsize = maxsize
    return array


def bind_optional(binder: Any, site: int, name: str) -> Any:
    """A target variable for $$parms & co: None when the probe cannot see it (printed as `name=?`)."""
    try:
        return binder.variable(site, name)
    except Exception:  # any binder's "not here": stap prints ? for it
        return None


def pretty_vars(ctx: Context, entries: tuple[tuple[str, Any, str], ...]) -> str:
    """stap's $$parms/$$locals/$$vars/$$return text: name=0x… each, space-separated (name=? when unreadable)."""
    out = []
    for name, access, kind in entries:
        if isinstance(kind, tuple):  # $$parms$: (plan, in memory)
            from tapkit.runtime.pretty import render, render_variable

            plan, in_memory = kind
            if access is None:
                text = None
            elif in_memory:
                text = render_variable(ctx, plan, access)
            else:
                value = _read_or_none(ctx, access)
                text = None if value is None else render(ctx.memory, plan, value, False)
        elif access is None or kind == "float":
            text = None
        elif kind == "struct":
            text = "{...}"
        elif kind == "array":
            text = "[...]"
        else:
            value = _read_or_none(ctx, access)
            text = None if value is None else f"0x{value & 0xFFFFFFFFFFFFFFFF:x}"
        out.append(f"{name}={'?' if text is None else text}")
    return cstr(" ".join(out))


def _read_or_none(ctx: Context, access: Any) -> int | None:
    try:
        value: int = access.read(ctx)
    except StapError:
        return None
    return value


def global_resolver(binder: Any, module: str, name: str) -> Callable[[Context], int]:
    """@var("name", "module")'s address per hit: the binder's resolver if it has one, else a constant."""
    resolver = getattr(binder, "global_resolver", None)
    if resolver is not None:
        found: Callable[[Context], int] = resolver(module, name)
        return found
    address = binder.global_address(module, name)
    return lambda ctx: address


class _EvaluatedHere:
    def __init__(self, evaluate: Callable[[Context], Any]) -> None:
        self.evaluate = evaluate

    def read(self, ctx: Context) -> Any:
        return self.evaluate(ctx)


def entry_value(binder: Any, site: int, evaluate: Callable[[Context], Any]) -> Any:
    """@entry(expr) in a return probe: the binder's saved-at-entry value, or expr evaluated at the return."""
    saver = getattr(binder, "entry_value", None)
    return saver(site, evaluate) if saver is not None else _EvaluatedHere(evaluate)


def _hit_registers(ctx: Context) -> Any:
    """The interrupted thread's registers (struct user_regs_struct), or None outside a live hit."""
    return getattr(ctx, "regs", None) if getattr(ctx, "thread", None) is not None else None


def registers_valid(ctx: Context) -> int:
    return 1 if _hit_registers(ctx) is not None else 0


def register_by_offset(ctx: Context, offset: int, where: str | None) -> int:
    """_stp_get_register_by_offset: a long read at a byte offset of pt_regs (user_regs_struct's layout)."""
    regs = _hit_registers(ctx)
    if regs is None:
        raise StapError("No registers available in this context", where)
    raw = bytes(regs)[:21 * 8]  # pt_regs: r15 … ss
    if offset < 0 or offset > len(raw) - 8:
        raise StapError(f"Bad register offset: {offset}", where)
    return int.from_bytes(raw[offset:offset + 8], "little", signed=True)


_ARG_REGISTERS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")


def stp_arg2(ctx: Context, argnum: int, sign_extend: int, truncate: int, force64: int, where: str | None) -> int:
    """_stp_arg2 for a 64-bit user-space hit: arguments 1-6 in registers, the rest on the stack above the
    return address (meaningful at a function's entry, as in stap)."""
    regs = _hit_registers(ctx)
    if regs is None:
        raise StapError("cannot access function args in this context", where)
    if argnum < 1:
        raise StapError(f"cannot access arg({argnum})", where)
    if argnum <= 6:
        value = getattr(regs, _ARG_REGISTERS[argnum - 1])
    else:
        address = regs.rsp + 8 * (argnum - 6)
        try:
            value = int.from_bytes(ctx.memory.read(address, 8, True), "little")
        except Exception:  # a stack page not resident: stap warns and gives 0
            warn = getattr(ctx.session, "warn", None)
            if warn is not None:
                warn(f"cannot access arg({argnum}) at user stack address 0x{address:x}\n")
            return 0
    if truncate and not force64:
        value &= 0xFFFFFFFF
        return wrap(value - (1 << 32) if sign_extend and value & 0x80000000 else value)
    return wrap(value)
