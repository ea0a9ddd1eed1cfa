"""Cross-checks against Debian's `stap --runtime=bpf` run on this machine (see stapbpf.py).

Each case is a script for stapbpf next to the same script written by hand against the
tapkit runtime API, the way the compiler is to emit it. Where the two runtimes agree the
outputs must be equal; where stapbpf is wrong (its bugs are listed in stapbpf.py) the test
pins both the kernel-runtime answer tapkit gives and stapbpf's wrong one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest

from tapkit.runtime import arith
from tapkit.runtime.arrays import LongArray, StatArray
from tapkit.runtime.context import Context
from tapkit.runtime.errors import StapError
from tapkit.runtime.formatter import compile_format
from tapkit.runtime.printf import print_format_for
from tapkit.runtime.session import Session
from tapkit.runtime.stats import Stat, stat_avg, stat_count, stat_sum
from tapkit.runtime.strings import concat
from tests.runtime.stapbpf import run_stapbpf, stapbpf_status
from tests.tooling import missing

pytestmark = pytest.mark.slow

Program = Callable[[Session], None]


@pytest.fixture(scope="module", autouse=True)
def _stapbpf_works() -> None:
    reason = stapbpf_status()
    if reason is not None:
        missing(f"stapbpf on this machine ({reason})")


def tapkit_run(begin: Program, end: Program | None = None) -> tuple[str, str]:
    out, err = io.BytesIO(), io.StringIO()
    s = Session(out, err)
    s.begin([(lambda ctx: begin(s), "begin")])
    s.shutdown([(lambda ctx: end(s), "end")] if end else [])
    return out.getvalue().decode("latin-1"), err.getvalue()


def printf(s: Session, fmt: str, *args: int | str) -> None:
    s.write(compile_format(fmt, stream=True)(*args))


def bpf(script: str) -> str:
    run = run_stapbpf(script, timeout=30)
    assert run.returncode == 0, run.stderr
    return run.stdout


AGREE: dict[str, tuple[str, Program]] = {
    "flags": (
        r'global x; probe begin { x = 255; printf("[%5d][%-5d][%05d][%+d][% d][%#x][%#o][%.3d][%8.3d][%p]\n",'
        r' x, x, x, x, x, x, x, x, x, x); exit() }',
        lambda s: printf(s, "[%5d][%-5d][%05d][%+d][% d][%#x][%#o][%.3d][%8.3d][%p]\n", *[255] * 10)),
    "strings_and_chars": (
        r'global s, c; probe begin { s = "abc"; c = 65; printf("[%5s][%-5s][%.2s][%s][%c][%3c][%-3c]\n",'
        r' s, s, s, s, c, c, c); exit() }',
        lambda s: printf(s, "[%5s][%-5s][%.2s][%s][%c][%3c][%-3c]\n", "abc", "abc", "abc", "abc", 65, 65, 65)),
    "print_family": (
        r'global x; probe begin { x = 3; print(x); print("a"); println(x, "b"); printd(",", x, "c", x);'
        r' printdln(":", x, x); exit() }',
        lambda s: _print_program(s)),
    "sprintf_concat": (
        r'global s, t; probe begin { s = "ab"; t = sprintf("%s-%5d|", s, 42); println(t); println(s . t); exit() }',
        lambda s: _sprintf_program(s)),
    "bit_operators_and_shifts": (
        r'global x, y; probe begin { x = 3; y = 65; printf("%d %d %d %d %d %d\n", x & 6, x | 4, x ^ 1, ~x,'
        r' 1 << y, -8 >> 1); exit() }',
        lambda s: printf(s, "%d %d %d %d %d %d\n", 3 & 6, 3 | 4, 3 ^ 1, ~3, arith.shl(1, 65), arith.shr(-8, 1))),
    "foreach_sorting": (
        r'global a; probe begin { a[1, "b"] = 5; a[2, "a"] = 7; a[3, "c"] = 6;'
        r' foreach ([x, y+] in a) printf("%d %s\n", x, y); foreach ([x-, y] in a limit 2) printf("%d %s\n", x, y);'
        r' foreach ([x, y] in a-) printf("%d\n", a[x, y]); exit() }',
        lambda s: _foreach_program(s)),
    "aggregates": (
        r'global s; probe begin { s <<< 1; s <<< 2; s <<< 10; printf("%d %d %d\n", @count(s), @sum(s), @avg(s));'
        r' exit() }',
        lambda s: _aggregate_program(s)),
    "try_catch_message": (
        r'probe begin { try { error("boom") } catch (e) { println(e) }; exit() }',
        lambda s: _try_program(s)),
}


def _print_program(s: Session) -> None:
    printf(s, print_format_for(["long"]), 3)
    printf(s, "a")
    printf(s, print_format_for(["long", "string"], newline=True), 3, "b")
    printf(s, print_format_for(["long", "string", "long"], ","), 3, "c", 3)
    printf(s, print_format_for(["long", "long"], ":", newline=True), 3, 3)


def _sprintf_program(s: Session) -> None:
    t = compile_format("%s-%5d|", stream=False)("ab", 42)
    printf(s, "%s\n", t)
    printf(s, "%s\n", concat("ab", t))


def _foreach_program(s: Session) -> None:
    a = LongArray()
    for key, value in (((1, "b"), 5), ((2, "a"), 7), ((3, "c"), 6)):
        a.set(key, value)
    for x, y in a.foreach_keys(column=2):
        printf(s, "%d %s\n", x, y)
    for x, y in a.foreach_keys(column=1, descending=True, limit=2):
        printf(s, "%d %s\n", x, y)
    for key in a.foreach_keys(column=0, descending=True):
        printf(s, "%d\n", a.get(key))


def _aggregate_program(s: Session) -> None:
    st = Stat()
    for v in (1, 2, 10):
        st.add(v)
    printf(s, "%d %d %d\n", stat_count(st), stat_sum(st), stat_avg(st))


def _try_program(s: Session) -> None:
    try:
        raise StapError("boom")
    except StapError as e:
        printf(s, "%s\n", e.message)
    s.exit()


@pytest.mark.parametrize("name", list(AGREE))
def test_agrees_with_stapbpf(name: str) -> None:
    script, program = AGREE[name]
    ours, err = tapkit_run(program)
    assert err == ""
    assert ours == bpf(script)


def test_error_in_begin_skips_end_probes_in_both() -> None:
    script = r'probe begin { error("boom") } probe end { println("end") }'
    run = run_stapbpf(script, timeout=30)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr)
    ours_out, ours_err = tapkit_run(lambda s: (_ for _ in ()).throw(StapError("boom")),
                                    lambda s: printf(s, "end\n"))
    assert "end" not in plain and ours_out == ""
    assert "ERROR: boom" in plain and ours_err.startswith("ERROR: boom\n")
    # stapbpf's summary leaves out the skipped-probe count the kernel runtime prints
    assert "WARNING: Number of errors: 1\n" in plain
    assert ours_err.endswith("WARNING: Number of errors: 1, skipped probes: 0\n")
    assert run.returncode == 1


def test_stapbpf_bugs_are_still_there() -> None:
    """Each line: what the kernel runtime (and tapkit) prints, and what stapbpf prints."""
    out = bpf(r'global x, y, z; probe begin { x = -1; y = -7; z = 100000; printf("%u %x %o\n", x, x, x);'
              r' printf("%d %d\n", y / 2, y % 3); printf("%d\n", z * z); exit() }')
    ours = [compile_format("%u %x %o\n", stream=True)(-1, -1, -1),
            compile_format("%d %d\n", stream=True)(arith.div(-7, 2), arith.mod(-7, 3)),
            compile_format("%d\n", stream=True)(arith.mul(100000, 100000))]
    assert ours == ["18446744073709551615 ffffffffffffffff 1777777777777777777777\n", "-3 -1\n", "10000000000\n"]
    assert out.splitlines() == ["4294967295 ffffffff 37777777777",  # 32-bit conversions
                                "-4 0",  # not C's truncating division
                                "1410065408"]  # %d of a long above 32 bits
    big = bpf(r'global x; probe begin { x = -9223372036854775807 - 1; printf("%d\n", x / -1); exit() }')
    assert big == "0\n" and arith.div(-(1 << 63), -1) == -(1 << 63)


@pytest.mark.parametrize(("script", "refusal"), [
    (r'global s; probe begin { s <<< 1; print(@hist_log(s)); exit() }', "unhandled histogram print"),
    # stap's own pass-2 constant folder (kernel runtime too) rejects >>> on two literals
    (r'probe begin { println((1 << 63) >>> 60); exit() }', "unsupported binary operator >>>"),
    (r'global a; probe begin { a[1] <<< 1; foreach (k in a-) println(k); exit() }',
     "unsupported sorted iteration on stat aggregate"),
    (r'global s; probe begin { s <<< 1; println(@min(s)); exit() }', "failed"),
    (r'probe begin { println(strlen("x")); exit() }', "function may not be used with bpf runtime"),
])
def test_what_stapbpf_refuses(script: str, refusal: str) -> None:
    """Constructs the kernel runtime (and tapkit) support that stapbpf 4.8 does not compile."""
    with pytest.raises(RuntimeError, match=refusal):
        run_stapbpf(script)


def test_unsorted_foreach_order_differs() -> None:
    """Unsorted order is unspecified; the kernel runtime walks insertion order, stapbpf its hash."""
    out = bpf(r'global a; probe begin { a[3] = 1; a[1] = 2; a[2] = 3; foreach (k in a) printf("%d ", k); exit() }')
    a = LongArray()
    for k in (3, 1, 2):
        a.set(k, 0)
    assert a.foreach_keys() == [3, 1, 2]
    assert sorted(out.split()) == ["1", "2", "3"]


def test_stapbpf_stat_array_extractors_are_wrong() -> None:
    """@count/@sum of statistics array elements come out as key-dependent junk in stapbpf."""
    out = bpf(r'global a; probe begin { a["x"] <<< 1; a["y"] <<< 1; a["y"] <<< 5; a["z"] <<< 2;'
              r' foreach (k in a) printf("%s %d %d\n", k, @count(a[k]), @sum(a[k])); exit() }')
    arr = StatArray()
    for k, v in (("x", 1), ("y", 1), ("y", 5), ("z", 2)):
        arr.add(k, v)
    ours = "".join(compile_format("%s %d %d\n", stream=True)(k, stat_count(arr.get(k)), stat_sum(arr.get(k)))
                   for k in arr.foreach_keys())
    assert ours.splitlines() == ["x 1 1", "y 2 6", "z 1 2"]
    assert sorted(line.split()[0] for line in out.splitlines()) == ["x", "y", "z"]
    assert sorted(out.splitlines()) != sorted(ours.splitlines())


_ = Context  # handlers receive a Context; these programs use the session directly
