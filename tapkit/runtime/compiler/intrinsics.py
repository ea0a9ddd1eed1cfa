"""Tapset functions whose bodies are embedded C (or `@const` C expressions), and what runs instead.

Script-language tapset functions are compiled from the installed library like the user's code; a
function listed here is not: each call becomes the Python expression of its template. Templates
name their arguments {0}, {1}, …; {ctx} is the probe context, {W} the function's declaration token
(stap's last_stmt inside an embedded-C function, so the `near` of its errors). Names used in the
templates are the ones tapkit.runtime.compiler.namespace provides.

A tapset function with embedded C that is not listed here cannot run: the compiler reports it by
name, file and line instead of guessing (see UNSUPPORTED_REASONS for the ones we know and why).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Intrinsic:
    name: str
    arity: int
    template: str
    pure: bool = True  # no side effects: a call in a discarded position may be dropped

    def render(self, args: list[str], ctx: str, where: str) -> str:
        return self.template.format(*args, ctx=ctx, W=where)


def _table(*entries: tuple[str, int, str] | tuple[str, int, str, bool]) -> dict[tuple[str, int], Intrinsic]:
    out: dict[tuple[str, int], Intrinsic] = {}
    for entry in entries:
        name, arity, template = entry[0], entry[1], entry[2]
        pure = entry[3] if len(entry) > 3 else True
        out[(name, arity)] = Intrinsic(name, arity, template, bool(pure))
    return out


INTRINSICS: dict[tuple[str, int], Intrinsic] = _table(
    # logging.stp
    ("exit", 0, "_exit()", False),
    ("abort", 0, "_abort()", False),
    ("error", 1, "_raise_error({0})", False),
    ("warn", 1, "_warn({0})", False),
    ("log", 1, "_log({0})", False),
    # string.stp, tokenize.stp
    ("strlen", 1, "len({0})"),
    ("substr", 3, "_substr({0}, {1}, {2})"),
    ("stringat", 2, "_stringat({0}, {1}, {W})"),
    ("isinstr", 2, "_isinstr({0}, {1})"),
    ("strpos", 2, "_strpos({0}, {1})"),
    ("text_str", 1, "_text_str({0})"),
    ("text_strn", 3, "_text_strn({0}, {1}, {2})"),
    ("str_replace", 3, "_str_replace({0}, {1}, {2})"),
    ("strtol", 2, "_strtol({0}, {1})"),
    ("isdigit", 1, "_isdigit({0})"),
    ("string_quoted", 1, "_string_quoted({0})"),
    ("tokenize", 2, "_tokenize({ctx}.tokenize, {0}, {1})", False),
    # regex.stp
    ("matched", 1, "_matched({ctx}, {0}, {W})"),
    ("ngroups", 0, "_ngroups({ctx})"),
    # context.stp, linux/context.stp, pn.stp
    ("execname", 0, "{ctx}.task.execname"),
    ("pexecname", 0, "{ctx}.task.pexecname"),
    ("pid", 0, "{ctx}.task.pid"),
    ("ns_pid", 0, "{ctx}.task.pid"),
    ("tid", 0, "{ctx}.task.tid"),
    ("ns_tid", 0, "{ctx}.task.tid"),
    ("ppid", 0, "{ctx}.task.ppid"),
    ("ns_ppid", 0, "{ctx}.task.ppid"),
    ("uid", 0, "{ctx}.task.uid"),
    ("ns_uid", 0, "{ctx}.task.uid"),
    ("euid", 0, "{ctx}.task.euid"),
    ("ns_euid", 0, "{ctx}.task.euid"),
    ("gid", 0, "{ctx}.task.gid"),
    ("ns_gid", 0, "{ctx}.task.gid"),
    ("egid", 0, "{ctx}.task.egid"),
    ("ns_egid", 0, "{ctx}.task.egid"),
    ("cpu", 0, "{ctx}.cpu"),
    ("target", 0, "{ctx}.target"),
    ("pp", 0, "_pp({ctx})"),
    ("pn", 0, "_pn({ctx})"),
    ("ppfunc", 0, "_ppfunc({ctx})"),
    ("probefunc", 0, "{ctx}.probefunc"),
    ("stp_pid", 0, "_stp_pid()"),
    ("task_current", 0, "{ctx}.task_address"),
    ("is_myproc", 0, "(1 if {ctx}.task.pid == {ctx}.target else 0)"),
    # timestamp*.stp
    ("gettimeofday_ns", 0, "_time_ns()"),
    ("gettimeofday_us", 0, "(_time_ns() // 1000)"),
    ("gettimeofday_ms", 0, "(_time_ns() // 1000000)"),
    ("gettimeofday_s", 0, "(_time_ns() // 1000000000)"),
    ("get_cycles", 0, "_get_cycles()"),
    ("jiffies", 0, "_jiffies()"),
    ("HZ", 0, "_HZ()"),
    ("local_clock_ns", 0, "_monotonic_ns()"),
    ("cpu_clock_ns", 1, "_monotonic_ns()"),
    ("ktime_get_ns", 0, "_monotonic_ns()"),
    # linux/conversions.stp: kernel memory through the event source's Memory
    ("kernel_string", 1, "_kernel_string({ctx}.memory, {0}, {W})"),
    ("kernel_string_n", 2, "_kernel_string_n({ctx}.memory, {0}, {1}, {W})"),
    ("kernel_string_quoted", 1, "_kernel_string_quoted({ctx}.memory, {0})"),
    ("kernel_long", 1, "_kernel_long({ctx}.memory, {0}, {W})"),
    ("kernel_int", 1, "_kernel_int({ctx}.memory, {0}, {W})"),
    ("kernel_short", 1, "_kernel_short({ctx}.memory, {0}, {W})"),
    ("kernel_char", 1, "_kernel_char({ctx}.memory, {0}, {W})"),
    ("kernel_pointer", 1, "_kernel_pointer({ctx}.memory, {0}, {W})"),
    # uconversions.stp: user memory
    ("user_string_n", 2, "_user_string_n({ctx}.memory, {0}, {1}, {W})"),
    ("user_char_error", 1, "_user_value_error({ctx}.memory, 'char', {0}, {W})"),
    ("user_short_error", 1, "_user_value_error({ctx}.memory, 'short', {0}, {W})"),
    ("user_ushort_error", 1, "_user_value_error({ctx}.memory, 'ushort', {0}, {W})"),
    ("user_int_error", 1, "_user_value_error({ctx}.memory, 'int', {0}, {W})"),
    ("user_long_error", 1, "_user_value_error({ctx}.memory, 'long', {0}, {W})"),
    ("user_ulong_error", 1, "_user_value_error({ctx}.memory, 'ulong', {0}, {W})"),
    ("user_int8_error", 1, "_user_value_error({ctx}.memory, 'int8', {0}, {W})"),
    ("user_uint8_error", 1, "_user_value_error({ctx}.memory, 'uint8', {0}, {W})"),
    ("user_int16_error", 1, "_user_value_error({ctx}.memory, 'int16', {0}, {W})"),
    ("user_uint16_error", 1, "_user_value_error({ctx}.memory, 'uint16', {0}, {W})"),
    ("user_int32_error", 1, "_user_value_error({ctx}.memory, 'int32', {0}, {W})"),
    ("user_uint32_error", 1, "_user_value_error({ctx}.memory, 'uint32', {0}, {W})"),
    ("user_int64_error", 1, "_user_value_error({ctx}.memory, 'int64', {0}, {W})"),
    # random.stp, linux/ctime.stp, errno.stp, linux/dev.stp, linux/endian.stp
    ("randint", 1, "_randint({0}, {W})", False),
    ("ctime", 1, "_ctime({0}, {W})"),
    ("errno_str", 1, "_errno_str({0})"),
    ("MAJOR", 1, "_major({0})"),
    ("MINOR", 1, "_minor({0})"),
    ("MKDEV", 2, "_mkdev({0}, {1})"),
    ("big_endian2", 1, "_endian({0}, 2, True)"),
    ("big_endian4", 1, "_endian({0}, 4, True)"),
    ("big_endian8", 1, "_endian({0}, 8, True)"),
    ("little_endian2", 1, "_endian({0}, 2, False)"),
    ("little_endian4", 1, "_endian({0}, 4, False)"),
    ("little_endian8", 1, "_endian({0}, 8, False)"),
    # x86_64/registers.stp helpers that are plain arithmetic
    ("_stp_sign_extend32", 1, "_sign_extend({0}, 32)"),
    ("_stp_sign_extend16", 1, "_sign_extend({0}, 16)"),
    ("_stp_sign_extend8", 1, "_sign_extend({0}, 8)"),
    ("arch_bytes", 0, "8"),
    ("probing_32bit_app", 0, "0"),
    # backtraces: what the event source knows (a replay fixture's frames, a live process's unwinder)
    ("print_backtrace", 0, "_print_backtrace({ctx})", False),
    ("sprint_backtrace", 0, "_sprint_backtrace({ctx})"),
    ("backtrace", 0, "_backtrace({ctx})"),
    ("print_ubacktrace", 0, "_print_ubacktrace({ctx})", False),
    ("sprint_ubacktrace", 0, "_sprint_ubacktrace({ctx})"),
    ("ubacktrace", 0, "_ubacktrace({ctx})"),
    ("usymname", 1, "_usymname({ctx}, {0})"),
    ("usymdata", 1, "_usymdata({ctx}, {0})"),
    ("umodname", 1, "_umodname({ctx}, {0})"),
    ("uaddr", 0, "_uaddr({ctx})"),
    ("user_mode", 0, "_registers_valid({ctx})"),  # a live hit: the probe interrupted user code
    # context.stp, x86_64/registers.stp: the registers of a live hit (register(), u_register(), int_arg()…)
    ("registers_valid", 0, "_registers_valid({ctx})"),
    ("_stp_get_register_by_offset", 1, "_register_by_offset({ctx}, {0}, {W})"),
    ("_stp_arg2", 4, "_stp_arg2({ctx}, {0}, {1}, {2}, {3}, {W})"),
    ("symname", 1, "_hexaddr({0})"),
    ("symdata", 1, "_hexaddr({0})"),
)

# Functions that look tempting but depend on the kernel itself; the error names the reason.
UNSUPPORTED_REASONS: dict[str, str] = {
    "system": "runs a shell command from the kernel through stapio",
    "print_regs": "needs the registers of an interrupted kernel context",
    "dump_stack": "prints the kernel's own stack",
    "printk": "writes to the kernel log",
    "panic": "panics the kernel",
    "raise": "sends a signal from the kernel",
    "mdelay": "busy-waits in the kernel",
    "udelay": "busy-waits in the kernel",
}


def intrinsic_for(name: str, arity: int) -> Intrinsic | None:
    return INTRINSICS.get((name, arity))


# `@const("C expression")` values script-language tapset functions use ({ctx}: the probe context).
CONSTANTS: dict[str, str] = {
    "MAXSTRINGLEN": "{maxstringlen}",
    "BITS_PER_LONG": "64",
    "PAGE_SIZE": "4096",
    "current->tgid": "{ctx}.task.pid",
    "current->pid": "{ctx}.task.tid",
    "_stp_target": "{ctx}.target",
    "_stp_remote_id": "-1",
    "AF_INET": "2",
    "AF_INET6": "10",
}


def constant_for(code: str) -> str | None:
    """The template of an embedded C expression `@const` produced, if tapkit knows its value."""
    text = code.replace("/* pure */", "").strip()
    return CONSTANTS.get(text)
