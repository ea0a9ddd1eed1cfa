"""tapkit.runtime: the library compiled SystemTap scripts call, with stap 4.8's kernel-runtime semantics.

The compiler emits Python source: one function per probe handler `def probe_N(ctx)` and
per script function, script locals as Python locals, globals as module-level objects.
Everything below is plain functions and small classes; nothing walks a tree.

Values
------
long     a Python int kept in [INT64_MIN, INT64_MAX]. `+ - * << unary-` can leave the range:
         emit `wrap(a + b)` (or add/sub/mul/shl/neg). `& | ^ ~ >>` of in-range values stay in
         range: emit Python's operators. `a >>> b` -> ushr(a, b). `a / b` -> div(a, b, W),
         `a % b` -> mod(a, b, W): C truncation, "division by 0" errors, INT64_MIN / -1 ==
         INT64_MIN, x % ±1 == 0. Comparisons: Python's, yielding 1/0 via `truth()` or
         `1 if ... else 0`; && || ! likewise (C's 0/1 results).
string   a Python str with one code point per byte (latin-1), at most 511 bytes (MAXSTRINGLEN
         512 with the NUL). Assignments, function arguments and returns go through `cstr(s)`;
         `a . b` -> concat(a, b); comparisons are Python's (equal to strcmp on bytes).
         Literals: decode_script_string(source_text_between_quotes) once at compile time.
         from_text() converts command-line text ($1, -G); output is encoded latin-1.
stats    Stat(spec, variance_shift) with spec NO_HIST, LOG_HIST or HistSpec.linear(start, stop,
         interval) (HistogramError carries the runtime's refusal text); variance_shift is the
         @variance bit-shift when the script uses @variance, else None (faster add()).

`W` above is the `where` text of the token stap would name in `ERROR: ... near W`, made with
token_where(kind, text, file, line, column), e.g. "operator '/' at <input>:1:23". Emit it as a
module-level constant. Every runtime function that can fail takes it as its last argument.

Arrays (arrays.py)
------------------
LongArray(maxsize=None, wrap=False), StringArray(...), StatArray(spec, variance_shift, maxsize, wrap)
  keys: the index value for one index, a tuple for several (keys are longs and strings).
  a[k]           -> a.get(k)               (0 / "" / None for a missing statistics element)
  a[k] = v       -> a.set(k, v, W)         ("Array overflow, check MAXMAPENTRIES" or
                                             "... check size limit (N)"; %[N] arrays evict the oldest)
  a[k] += v, ++  -> a.add(k, v, W)         (returns the new value; wraps)
  a[k] .= s      -> a.set(k, concat(a.get(k), s), W)
  a[k] <<< v     -> stats.add(k, v, W)
  k in a         -> k in a      [k1, *] in a -> a.contains_slice((k1, None))
  delete a[k] / delete a / delete a[*, k2] -> a.delete(k) / a.clear() / a.delete_slice((None, k2))
  foreach        -> for k in a.foreach_keys(column, descending, limit, pattern, aggregate):
                    column None = unsorted (insertion order), 0 = by value (statistics: by
                    aggregate "count"|"sum"|"min"|"max"|"avg"), i = by the i-th index. Sorting
                    reorders the map as stap's in-place sort does; limit counts elements a
                    slice pattern then skips. The body reads values with a.get(k) / a.d[k].

Statistics (stats.py)
---------------------
  @count/@sum(s) -> stat_count(s)/stat_sum(s)   (0 for an empty or missing aggregate)
  @min/@max/@avg/@variance(s) -> stat_min(s, W) ... ("empty aggregate" when empty or missing)
  print(@hist_linear(s, ...)) / @hist_log -> session.write(hist_text(s, W)); sprint(...) ->
  cstr(hist_text(s, W)). @hist_*(s)[i] and `i in @hist_*(s)` -> hist_bucket(s, i, W).
  foreach (b in @hist_*(s)) -> for b, count in enumerate(hist_buckets(s)).
  delete s -> s.clear().

printf family (printf.py, formatter.py)
---------------------------------------
  f = compile_format(parse_format(literal_source, decode_script_string), stream=True|False,
  memory=..., where=W) once per format, at module level (stap parses the format before C
  interprets its escapes, so parse the source text and decode the literal pieces);
  printf(fmt, ...) -> session.write(f(*args)); sprintf(...) -> f(*args) (already <= 511 bytes).
  '*' width/precision values come first, as in the script. print/println/printd/printdln and
  the sprint* forms use compile_format(print_format_for(types, delimiter, newline), ...).
  printf/print of a single string or of a literal with no arguments is stap's _stp_print, which
  does not cut at 8192 bytes: emit session.write(s) for those. parse_format(text, decode) gives
  Components and FormatError("invalid or missing conversion specifier" / "trailing incomplete
  print format conversion") for the parser; it takes one flag, one 'l', and stap's widths.

Errors and control (errors.py, session.py)
------------------------------------------
  StapError(message, where): a handler error. Raise it for error(msg) with where=None.
  try/catch:  try: ... except StapError as e: if uncatchable(e): raise; msg = e.message
  MAXACTION:  ctx.actionremaining -= n; if ctx.actionremaining <= 0: raise ActionLimitError(W)
              (stap counts per basic block: translate.cxx record_actions; probes start with
              MAXACTION_INTERRUPTIBLE = 10000). A probe or function whose statement count N is
              finite first checks `if ctx.actionremaining < N: raise ActionLimitError(W0)`, W0
              None in a probe and the function's declaration token in a function.
  MAXNESTING: StapError(MAXNESTING_EXCEEDED, <function declaration token>) when a call would
              exceed it (stap: deepest static nesting + 1, + 10 if recursive).
  Overloads:  `next` in a function sets the next-overload flag; after the last overload,
              StapError(ALL_FUNCTIONS_EXHAUSTED, <call token>).
  next in a probe: return. exit() -> session.exit() (handler continues). abort() -> session.abort().
  Session(out, err, maxerrors=0, maxskipped=100, maxaction=10000): write(), begin(handlers),
  run_probe(handler, pp, required_state), skip(), shutdown(end_handlers, error_handlers),
  failed, exit_requested, state. It prints "ERROR: <msg> near <W>" lines, enforces MAXERRORS
  (state ERROR: end probes skipped, error probes run) and the closing
  "WARNING: Number of errors: N, skipped probes: M"; PASS5_FAILED is stap's last line then.

Context, intrinsics, memory (context.py, strings.py, memory.py)
----------------------------------------------------------------
  Context(task, cpu, memory, target): ctx.task (Task: pid tid ppid uid euid gid egid execname
  pexecname), ctx.cpu, ctx.memory, ctx.target, ctx.probe_point, ctx.tokenize state.
  pid tid ppid uid euid execname pexecname cpu target pp pn ppfunc probefunc (ctx) ->
  context.<same name>(ctx); gettimeofday_s/ms/us/ns(), get_cycles(), jiffies(), HZ().
  strlen substr stringat isinstr strpos str_replace strtol isdigit text_str text_strn
  string_quoted -> strings.<same name>; tokenize(s, d) -> strings.tokenize(ctx.tokenize, s, d).
  kernel_long/int/short/char/pointer/string/string_n/string_quoted(ctx.memory, addr, W) and
  user_string/user_string_n, user_value(mem, kind, addr), user_value_error(...) -> memory.*;
  target-variable and @cast reads -> deref(mem, addr, size, signed, user, W). A Memory raises
  MemoryFault; these report stap's texts ("kernel string copy fault at 0x0 [man error::fault]",
  "read fault [man error::fault] at 0x10", "user string copy fault -14 at 0x... ...").
  For embedded-C tapset functions W is the function's declaration token, as in stap.

Hot paths (tests/runtime/throughput.py has the three bench shapes written this way)
-------------------------------------------------------------------------------------
  counter:     bind `add = counts.add` at module level; `add(key, 1, W)`.
  aggregate:   bind `record = stat.add`; Stat without variance uses a specialised add().
  formatting:  compile_format at module level; bind `write = session.write`.
  Session output is buffered across handlers and reaches the OS at least every 50 ms, in order
  (and always before an ERROR/WARNING line). Per hit, session protocol included, on this
  machine (medians of 5 runs, shared CPU): counter ~2.9 M hits/s, aggregate + log histogram
  ~2.1 M, formatting ~1.1 M. Re-measure: python -m tests.runtime.throughput.

Where this runtime cannot be stap's kernel runtime
--------------------------------------------------
  One CPU: per-CPU aggregates and @variance's cross-CPU combination are those of a single CPU.
  Statistics arrays iterate unsorted in insertion order (stap: a hash order seeded randomly per
  session). get_cycles() is a nanosecond counter, not the TSC. jiffies() is derived from
  CLOCK_MONOTONIC and CONFIG_HZ.
"""

from __future__ import annotations

from tapkit.runtime.arith import (
    INT64_MAX,
    INT64_MIN,
    add,
    div,
    mod,
    mul,
    neg,
    shl,
    shr,
    sub,
    truth,
    ushr,
    wrap,
)
from tapkit.runtime.arrays import MAXMAPENTRIES, LongArray, StatArray, StringArray
from tapkit.runtime.context import MAXACTION, MAXACTION_INTERRUPTIBLE, Context, Task
from tapkit.runtime.errors import (
    ALL_FUNCTIONS_EXHAUSTED,
    DIVISION_BY_ZERO,
    EMPTY_AGGREGATE,
    MAXNESTING_EXCEEDED,
    ActionLimitError,
    ProbeAbort,
    StapError,
    token_where,
    uncatchable,
)
from tapkit.runtime.formatter import compile_format
from tapkit.runtime.memory import MappedMemory, Memory, MemoryFault, NoMemory
from tapkit.runtime.printf import FormatError, parse_format, print_format_for
from tapkit.runtime.session import MAXERRORS, MAXSKIPPED, PASS5_FAILED, Session, SessionState
from tapkit.runtime.stats import (
    LOG_HIST,
    NO_HIST,
    HistogramError,
    HistSpec,
    Stat,
    hist_bucket,
    hist_buckets,
    hist_text,
    stat_avg,
    stat_count,
    stat_max,
    stat_min,
    stat_sum,
    stat_variance,
)
from tapkit.runtime.strings import MAXSTRINGLEN, concat, cstr, decode_script_string, from_text

__all__ = [
    "ALL_FUNCTIONS_EXHAUSTED",
    "DIVISION_BY_ZERO",
    "EMPTY_AGGREGATE",
    "INT64_MAX",
    "INT64_MIN",
    "LOG_HIST",
    "MAXACTION",
    "MAXACTION_INTERRUPTIBLE",
    "MAXERRORS",
    "MAXMAPENTRIES",
    "MAXNESTING_EXCEEDED",
    "MAXSKIPPED",
    "MAXSTRINGLEN",
    "NO_HIST",
    "PASS5_FAILED",
    "ActionLimitError",
    "Context",
    "FormatError",
    "HistSpec",
    "HistogramError",
    "LongArray",
    "MappedMemory",
    "Memory",
    "MemoryFault",
    "NoMemory",
    "ProbeAbort",
    "Session",
    "SessionState",
    "StapError",
    "Stat",
    "StatArray",
    "StringArray",
    "Task",
    "add",
    "compile_format",
    "concat",
    "cstr",
    "decode_script_string",
    "div",
    "from_text",
    "hist_bucket",
    "hist_buckets",
    "hist_text",
    "mod",
    "mul",
    "neg",
    "parse_format",
    "print_format_for",
    "shl",
    "shr",
    "stat_avg",
    "stat_count",
    "stat_max",
    "stat_min",
    "stat_sum",
    "stat_variance",
    "sub",
    "token_where",
    "truth",
    "uncatchable",
    "ushr",
    "wrap",
]
