"""What the language itself provides, for completion and signature help: keywords and snippets,
the print family (language constructs, not tapset functions), `@` operators, preprocessor
condition names, and the built-in probe point families (stap's own `--dump-probe-types`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Builtin:
    name: str
    signature: str  # how an editor shows it
    doc: str
    snippet: str = ""  # insert text in LSP snippet syntax ("" inserts the name)
    params: tuple[str, ...] = ()  # for signature help; a trailing "..." repeats


STATEMENT_KEYWORDS = ("if", "else", "for", "foreach", "while", "return", "delete", "next", "break", "continue",
                      "try", "catch", "in", "limit")
TOP_LEVEL_KEYWORDS = ("probe", "function", "global", "private")

STATEMENT_SNIPPETS = (
    Builtin("if", "if (…) {…}", "conditional statement", "if (${1:cond}) {\n\t$0\n}"),
    Builtin("ifelse", "if (…) {…} else {…}", "conditional statement with else",
            "if (${1:cond}) {\n\t$2\n} else {\n\t$0\n}"),
    Builtin("foreach", "foreach (k in a) {…}", "loop over an array's keys",
            "foreach (${1:key} in ${2:array}) {\n\t$0\n}"),
    Builtin("foreachsorted", "foreach ([k] in a- limit n) {…}", "loop over an array by decreasing value",
            "foreach (${1:key} in ${2:array}- limit ${3:10}) {\n\t$0\n}"),
    Builtin("for", "for (…; …; …) {…}", "counting loop", "for (${1:i} = 0; $1 < ${2:n}; $1++) {\n\t$0\n}"),
    Builtin("while", "while (…) {…}", "loop while a condition holds", "while (${1:cond}) {\n\t$0\n}"),
    Builtin("try", "try {…} catch (msg) {…}", "catch run-time errors",
            "try {\n\t$1\n} catch (${2:msg}) {\n\t$0\n}"),
)
TOP_LEVEL_SNIPPETS = (
    Builtin("probe", "probe POINT {…}", "a probe: a handler run at an event", "probe ${1:begin} {\n\t$0\n}"),
    Builtin("probealias", "probe NAME = POINT {…}", "a probe alias (prologue)",
            "probe ${1:name} = ${2:point} {\n\t$0\n}"),
    Builtin("function", "function NAME(…) {…}", "a script function",
            "function ${1:name}(${2}) {\n\t$0\n}"),
    Builtin("global", "global NAME", "a global variable or array", "global ${1:name}"),
    Builtin("@define", "@define NAME %( … %)", "a preprocessor macro", "@define ${1:name} %(\n\t$0\n%)"),
    Builtin("%(", "%( COND %? … %: … %)", "preprocessor conditional", "%( ${1:kernel_v} >= \"${2:5.0}\" %?\n\t$0\n%)"),
    Builtin("%{", "%{ … %}", "embedded C (guru mode in scripts)", "%{\n\t$0\n%}"),
)

PRINT_FUNCTIONS = (
    Builtin("printf", "printf(fmt:string, ...)", "print formatted values", 'printf("${1:%s}\\n", $2)',
            ("fmt:string", "...")),
    Builtin("sprintf", "sprintf:string (fmt:string, ...)", "format values into a string", 'sprintf("${1:%s}", $2)',
            ("fmt:string", "...")),
    Builtin("print", "print(...)", "print values, no separator", "print($1)", ("...",)),
    Builtin("sprint", "sprint:string (...)", "values as a string, no separator", "sprint($1)", ("...",)),
    Builtin("println", "println(...)", "print values and a newline", "println($1)", ("...",)),
    Builtin("sprintln", "sprintln:string (...)", "values and a newline as a string", "sprintln($1)", ("...",)),
    Builtin("printd", "printd(delim:string, ...)", "print values separated by delim", 'printd("${1:,}", $2)',
            ("delim:string", "...")),
    Builtin("sprintd", "sprintd:string (delim:string, ...)", "values separated by delim, as a string",
            'sprintd("${1:,}", $2)', ("delim:string", "...")),
    Builtin("printdln", "printdln(delim:string, ...)", "print values separated by delim, and a newline",
            'printdln("${1:,}", $2)', ("delim:string", "...")),
    Builtin("sprintdln", "sprintdln:string (delim:string, ...)", "values separated by delim and a newline",
            'sprintdln("${1:,}", $2)', ("delim:string", "...")),
    Builtin("print_char", "print_char(c:long)", "print one character", "print_char($1)", ("c:long",)),
)

AT_OPERATORS = (
    Builtin("@cast", '@cast(addr, "type", "module")', "view addr as a pointer to a C type",
            '@cast(${1:addr}, "${2:type}"${3:, "${4:kernel}"})', ("addr:long", "type:string", "module:string")),
    Builtin("@var", '@var("name@file", "module")', "a global or static C variable",
            '@var("${1:name}")', ("name:string", "module:string")),
    Builtin("@defined", "@defined(expr)", "1 when a target expression resolves, else 0", "@defined(${1:\\$var})",
            ("expr",)),
    Builtin("@entry", "@entry(expr)", "expr's value at function entry (in a .return probe)", "@entry(${1:\\$var})",
            ("expr",)),
    Builtin("@probewrite", "@probewrite(var)", "1 when the probe handler writes var", "@probewrite(${1:var})",
            ("var",)),
    Builtin("@const", '@const("C_EXPR")', "a C constant (guru mode or tapsets)", '@const("${1:NAME}")',
            ("expr:string",)),
    Builtin("@perf", '@perf("counter")', "a perf counter's value", '@perf("${1:counter}")', ("counter:string",)),
    Builtin("@kregister", "@kregister(n)", "a kernel register's value", "@kregister(${1:0})", ("n:long",)),
    Builtin("@uregister", "@uregister(n)", "a user register's value", "@uregister(${1:0})", ("n:long",)),
    Builtin("@kderef", "@kderef(size, addr)", "read size bytes of kernel memory", "@kderef(${1:8}, ${2:addr})",
            ("size:long", "addr:long")),
    Builtin("@uderef", "@uderef(size, addr)", "read size bytes of user memory", "@uderef(${1:8}, ${2:addr})",
            ("size:long", "addr:long")),
    Builtin("@count", "@count(stat)", "how many values were added", "@count(${1:stat})", ("stat",)),
    Builtin("@sum", "@sum(stat)", "the sum of the values", "@sum(${1:stat})", ("stat",)),
    Builtin("@min", "@min(stat)", "the smallest value", "@min(${1:stat})", ("stat",)),
    Builtin("@max", "@max(stat)", "the largest value", "@max(${1:stat})", ("stat",)),
    Builtin("@avg", "@avg(stat)", "the average", "@avg(${1:stat})", ("stat",)),
    Builtin("@variance", "@variance(stat[, bucket])", "the variance", "@variance(${1:stat})", ("stat", "bucket")),
    Builtin("@hist_linear", "@hist_linear(stat, low, high, step)", "a linear histogram",
            "@hist_linear(${1:stat}, ${2:0}, ${3:100}, ${4:10})", ("stat", "low", "high", "step")),
    Builtin("@hist_log", "@hist_log(stat)", "a base-2 logarithmic histogram", "@hist_log(${1:stat})", ("stat",)),
)

TARGET_SYMBOLS = (
    Builtin("$$vars", "$$vars", "every parameter and local of the probed function, printed"),
    Builtin("$$parms", "$$parms", "the probed function's parameters, printed"),
    Builtin("$$locals", "$$locals", "the probed function's locals, printed"),
    Builtin("$$return", "$$return", "the return value, printed (in a .return probe)"),
)

CONDITION_NAMES = (
    Builtin("kernel_v", "kernel_v", "the kernel version without its suffix (\"6.1.0\")"),
    Builtin("kernel_vr", "kernel_vr", "the kernel release (\"6.1.0-56-amd64\")"),
    Builtin("arch", "arch", "the target architecture (\"x86_64\")"),
    Builtin("runtime", "runtime", "the runtime (\"kernel\", \"dyninst\", \"bpf\")"),
    Builtin("systemtap_v", "systemtap_v", "the SystemTap version the script asks for"),
    Builtin("systemtap_privilege", "systemtap_privilege", "\"stapusr\", \"stapsys\" or \"stapdev\""),
    Builtin("guru_mode", "guru_mode", "1 under stap -g"),
)

# First components of the built-in families, described for the completion list.
FAMILY_DOCS = {
    "begin": "at the start of the session", "end": "at the end of the session",
    "error": "when the session ends with an error", "never": "never (for checking)",
    "kernel": "the kernel: functions, statements, tracepoints, data", "module": "a kernel module",
    "process": "a user-space process: functions, statements, markers, syscalls", "timer": "periodic timers",
    "perf": "perf events", "procfs": "reads and writes of a /proc file", "netfilter": "netfilter hooks",
    "kprobe": "raw kprobes (no debuginfo)",
}


@dataclass(frozen=True, slots=True)
class ProbeComponent:
    name: str
    arg: str | None  # "string", "number" or None


@cache
def probe_families() -> tuple[tuple[ProbeComponent, ...], ...]:
    """stap 4.8's built-in probe point patterns, one tuple of components each."""
    data = json.loads(resources.files("tapkit.ide").joinpath("probe_families.json").read_text())
    out = []
    for pattern in data["patterns"]:
        comps = []
        for part in _split_dots(pattern):
            name, _, arg = part.partition("(")
            comps.append(ProbeComponent(name, arg.rstrip(")") or None))
        out.append(tuple(comps))
    return tuple(out)


def _split_dots(pattern: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for c in pattern:
        if c == "." and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += c == "("
        depth -= c == ")"
        cur += c
    parts.append(cur)
    return parts
