"""The names compiled programs see: the runtime library under short, fixed names.

The generated factory runs with these as its module globals; each name is what the compiler writes
(e.g. `_wrap(a + b)`, `_div(a, b, W3)`). Session-bound names (`_write`, `_exit`, …) are bound by the
factory from its session argument.
"""

from __future__ import annotations

import time
from typing import Any

from tapkit.runtime import arith, context, memory, pretty, stats, strings
from tapkit.runtime.arrays import LongArray, StatArray, StringArray
from tapkit.runtime.compiler import support
from tapkit.runtime.errors import ActionLimitError, StapError, uncatchable
from tapkit.runtime.formatter import compile_format
from tapkit.runtime.printf import parse_format, print_format_for
from tapkit.runtime.stats import LOG_HIST, NO_HIST, HistSpec, Stat


def _print_backtrace(ctx: context.Context) -> None:
    session = ctx.session
    write = getattr(session, "write", None)
    if write is not None and ctx.kernel_frames:
        write("".join(ctx.kernel_frames))


def _sprint_backtrace(ctx: context.Context) -> str:
    return strings.cstr("".join(line.split(" [")[0].strip().split(" : ")[-1] + "\n" for line in ctx.kernel_frames))


def _backtrace(ctx: context.Context) -> str:
    return strings.cstr(" ".join(line.split(" : ")[0].strip() for line in ctx.kernel_frames))


def _live(ctx: context.Context, method: str, *args: Any) -> Any:
    """A LiveContext method (tapkit.runtime.live) when the probe has a live process behind it."""
    fn = getattr(ctx, method, None)
    if fn is None:
        return None
    return fn(*args)


def _print_ubacktrace(ctx: context.Context) -> None:
    text = _live(ctx, "print_ubacktrace")
    if text:
        write = getattr(ctx.session, "write", None)
        if write is not None:
            write(text)


def _sprint_ubacktrace(ctx: context.Context) -> str:
    return strings.cstr(_live(ctx, "sprint_ubacktrace") or "")


def _ubacktrace(ctx: context.Context) -> str:
    return strings.cstr(_live(ctx, "ubacktrace") or "")


def _usymname(ctx: context.Context, addr: int) -> str:
    found = _live(ctx, "usymname", addr)
    return strings.cstr(found) if found else f"0x{addr & 0xFFFFFFFFFFFFFFFF:x}"


def _usymdata(ctx: context.Context, addr: int) -> str:
    found = _live(ctx, "usymdata", addr)
    return strings.cstr(found) if found else f"0x{addr & 0xFFFFFFFFFFFFFFFF:x}"


def _umodname(ctx: context.Context, addr: int) -> str:
    found = _live(ctx, "umodname", addr)
    return strings.cstr(found) if found else "<unknown>"


def _uaddr(ctx: context.Context) -> int:
    value = getattr(ctx, "uaddr", 0)
    return int(value) if value else 0


def _hexaddr(addr: int) -> str:
    """symname()/symdata() of an address no symbol table here can name: stap's fallback, the hex address."""
    return f"0x{addr & 0xFFFFFFFFFFFFFFFF:x}"


def _sign_extend(value: int, bits: int) -> int:
    return arith.sign_extend(value, bits)


def base_namespace() -> dict[str, Any]:
    """A fresh globals dict for exec'ing one compiled program."""
    return {
        "__builtins__": __builtins__,
        # values and arithmetic
        "_wrap": arith.wrap, "_div": arith.div, "_mod": arith.mod, "_shl": arith.shl, "_ushr": arith.ushr,
        "_cstr": strings.cstr, "_concat": strings.concat, "_concat_n": support.concat_n, "_first": support.first,
        "_compound": support.compound, "_array_update": support.array_update, "_array_concat": support.array_concat,
        "_stat_push": support.stat_push, "_charged": support.charged, "_sized": support.sized,
        # containers
        "LongArray": LongArray, "StringArray": StringArray, "StatArray": StatArray, "Stat": Stat,
        "HistSpec": HistSpec, "LOG_HIST": LOG_HIST, "NO_HIST": NO_HIST,
        "_stat_count": stats.stat_count, "_stat_sum": stats.stat_sum, "_stat_min": stats.stat_min,
        "_stat_max": stats.stat_max, "_stat_avg": stats.stat_avg, "_stat_variance": stats.stat_variance,
        "_hist_text": stats.hist_text, "_hist_bucket": stats.hist_bucket, "_hist_buckets": stats.hist_buckets,
        # formats
        "_compile_format": compile_format, "_parse_format": parse_format, "_print_format_for": print_format_for,
        "_decode": strings.decode_script_string,
        # errors and control
        "StapError": StapError, "_ActionLimit": ActionLimitError, "_uncatchable": uncatchable,
        "_NextOverload": support.NextOverload, "_raise_error": support.raise_error,
        # strings
        "_substr": strings.substr, "_stringat": strings.stringat, "_isinstr": strings.isinstr,
        "_strpos": strings.strpos, "_text_str": strings.text_str, "_text_strn": strings.text_strn,
        "_str_replace": strings.str_replace, "_strtol": strings.strtol, "_isdigit": strings.isdigit,
        "_string_quoted": strings.string_quoted, "_tokenize": strings.tokenize,
        "_compile_regex": support.compile_regex, "_regex_match": support.regex_match, "_matched": support.matched,
        "_ngroups": support.ngroups,
        # context and time
        "_pp": context.pp, "_pn": context.pn, "_ppfunc": context.ppfunc, "_stp_pid": support.stp_pid,
        "_time_ns": time.time_ns, "_monotonic_ns": time.monotonic_ns, "_get_cycles": context.get_cycles,
        "_jiffies": context.jiffies, "_HZ": context.HZ,
        # memory
        "_deref": memory.deref, "_kernel_string": memory.kernel_string, "_kernel_string_n": memory.kernel_string_n,
        "_kernel_string_quoted": memory.kernel_string_quoted, "_kernel_long": memory.kernel_long,
        "_kernel_int": memory.kernel_int, "_kernel_short": memory.kernel_short, "_kernel_char": memory.kernel_char,
        "_kernel_pointer": memory.kernel_pointer, "_user_string_n": memory.user_string_n,
        "_user_value_error": memory.user_value_error,
        # other tapset functions
        "_randint": support.randint, "_ctime": support.ctime, "_errno_str": support.errno_str,
        "_major": support.major, "_minor": support.minor, "_mkdev": support.mkdev, "_endian": support.endian,
        "_sign_extend": _sign_extend, "_hexaddr": _hexaddr, "_bitfield": support.bitfield,
        "_bind_optional": support.bind_optional, "_global_resolver": support.global_resolver,
        "_registers_valid": support.registers_valid, "_register_by_offset": support.register_by_offset,
        "_stp_arg2": support.stp_arg2,
        "_pretty_vars": support.pretty_vars, "_pretty": pretty.render,
        "_pretty_variable": pretty.render_variable, "_entry_value": support.entry_value,
        "_write_var": support.write_var, "_poke": support.poke, "_register": support.register,
        "_print_backtrace": _print_backtrace, "_sprint_backtrace": _sprint_backtrace, "_backtrace": _backtrace,
        "_print_ubacktrace": _print_ubacktrace, "_sprint_ubacktrace": _sprint_ubacktrace, "_ubacktrace": _ubacktrace,
        "_usymname": _usymname, "_usymdata": _usymdata, "_umodname": _umodname, "_uaddr": _uaddr,
    }
