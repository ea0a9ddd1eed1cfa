"""printf/sprintf: the format parser, every conversion, buffer limits, and stap's own C as oracle."""

from __future__ import annotations

import random
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapkit.runtime.errors import StapError
from tapkit.runtime.formatter import compile_format
from tapkit.runtime.memory import MappedMemory
from tapkit.runtime.printf import (
    CHAR,
    DYNAMIC,
    LARGE,
    LEFT,
    LITERAL,
    NUMBER,
    POINTER,
    SIGN,
    SPECIAL,
    STATIC,
    STRING,
    ZEROPAD,
    Component,
    FormatError,
    parse_format,
    print_format_for,
    render,
)
from tests.runtime.c_oracle import ORACLE_MEMORY_BASE, COracle, PrintfCase
from tests.tooling import require_tool, stap_release

# ---- the parser (staptree.cxx string_to_components) ----


def test_parse_components() -> None:
    comps = parse_format("a%%b%-5d|%08.3x%*.*s%lu%p%#X\n")
    assert comps[0] == Component(LITERAL, text="a%b")
    assert comps[1] == Component(NUMBER, flags=LEFT | SIGN, width_kind=STATIC, width=5)
    assert comps[2] == Component(LITERAL, text="|")
    assert comps[3] == Component(NUMBER, flags=ZEROPAD, base=16, width_kind=STATIC, width=8,
                                 precision_kind=STATIC, precision=3)
    assert comps[4] == Component(STRING, width_kind=DYNAMIC, precision_kind=DYNAMIC)
    assert comps[5] == Component(NUMBER)  # one 'l' is allowed and ignored
    assert comps[6] == Component(POINTER, flags=SPECIAL, base=16)
    assert comps[7] == Component(NUMBER, flags=SPECIAL | LARGE, base=16)
    assert comps[8] == Component(LITERAL, text="\n")
    assert comps[4].arg_count() == 3


@pytest.mark.parametrize(("fmt", "message"), [
    ("%q", "invalid or missing conversion specifier"),
    ("abc %", "invalid or missing conversion specifier"),
    ("%lld", "invalid or missing conversion specifier"),  # only one 'l'
    ("%0-5d", "invalid or missing conversion specifier"),  # only one flag
    ("%#%", "invalid or missing conversion specifier"),
    ("%5", "trailing incomplete print format conversion"),
    ("a%-", "trailing incomplete print format conversion"),
    ("a%.5", "trailing incomplete print format conversion"),
    ("%-l", "trailing incomplete print format conversion"),
])
def test_parse_errors(fmt: str, message: str) -> None:
    with pytest.raises(FormatError, match=f"^{message}$"):
        parse_format(fmt)


def test_unfinished_conversion_with_nothing_recorded_vanishes() -> None:
    assert parse_format("a%.") == [Component(LITERAL, text="a")]
    assert parse_format("a%l") == [Component(LITERAL, text="a")]


def test_parse_errors_match_stap_parser() -> None:
    """stap -p1 reports the same parse errors for the same format strings."""
    stap = require_tool("stap")
    for fmt in ("%q", "abc %", "%lld", "%0-5d", "%5", "a%-", "a%.5", "%-l", "a%.", "%-05d"):
        proc = subprocess.run([stap, "-r", stap_release(), "-p1", "-e", f'probe begin {{ printf("{fmt}") }}'],
                              capture_output=True, text=True, timeout=60)
        try:
            parse_format(fmt)
            ours = None
        except FormatError as err:
            ours = str(err)
        if ours is None:
            assert proc.returncode == 0, (fmt, proc.stderr)
        else:
            assert f"parse error: {ours}" in proc.stderr, (fmt, proc.stderr)


def test_decode_hook_applies_to_literals_only() -> None:
    comps = parse_format("x\\n%d", decode=lambda s: s.replace("\\n", "\n"))
    assert comps == [Component(LITERAL, text="x\n"), Component(NUMBER, flags=SIGN)]


def test_print_family_formats() -> None:
    assert print_format_for(["long", "string"]) == "%d%s"
    assert print_format_for(["long", "string"], newline=True) == "%d%s\n"
    assert print_format_for(["long", "long", "string"], delimiter="%,") == "%d%%,%d%%,%s"


# ---- every conversion, expectations from vsprintf.c and the compiled printf ----


def sprintf(fmt: str, *args: int | str) -> str:
    return compile_format(fmt, stream=False)(*args)


def printf(fmt: str, *args: int | str) -> str:
    return compile_format(fmt, stream=True)(*args)


@pytest.mark.parametrize(("fmt", "args", "expected"), [
    ("%d", (-5,), "-5"),
    ("%i", (42,), "42"),
    ("%d", (-(1 << 63),), "-9223372036854775808"),
    ("%u", (-1,), "18446744073709551615"),
    ("%x", (-1,), "ffffffffffffffff"),
    ("%X", (255,), "FF"),
    ("%o", (8,), "10"),
    ("%#o", (8,), "010"),
    ("%#o", (0,), "00"),  # the kernel's number() prefixes 0 even to 0
    ("%#x", (0,), "0x0"),
    ("%#x", (255,), "0xff"),
    ("%#X", (255,), "0XFF"),
    ("%#06x", (5,), "   0x5"),  # stap takes one flag: the 0 here starts the width
    ("%06x", (5,), "000005"),
    ("%p", (255,), "0xff"),
    ("%p", (-1,), "0xffffffffffffffff"),
    ("%5d", (42,), "   42"),
    ("%-5d|", (42,), "42   |"),
    ("%05d", (-42,), "-0042"),
    ("%+d", (5,), "+5"),
    ("% d", (5,), " 5"),
    ("%+u", (5,), "5"),  # + and space only matter for signed conversions
    ("%.3d", (5,), "005"),
    ("%08.3d", (5,), "00000005"),  # zero padding applies despite a precision
    ("%.0d", (0,), "0"),
    ("%*d", (4, 7), "   7"),
    ("%*d", (-4, 7), "7"),  # a negative '*' width is clamped to 0, not made left-justified
    ("%-*d|", (4, 7), "7   |"),
    ("%.*d", (3, 7), "007"),
    ("%c", (65,), "A"),
    ("%c", (321,), "A"),  # low byte
    ("%3c|%-3c|", (66, 67), "  B|C  |"),
    ("%#c", (10,), "\\n"),
    ("%#c", (39,), "\\'"),
    ("%#c", (1,), "\\001"),
    ("%#c", (255,), "\\377"),
    ("%#c", (34,), '"'),  # %c quotes ' but not "
    ("%s", ("abc",), "abc"),
    ("%5s|%-5s|", ("ab", "ab"), "   ab|ab   |"),
    ("%.2s", ("abc",), "ab"),
    ("%.0s", ("abc",), ""),
    ("%.*s", (-1, "abc"), ""),  # a negative '*' precision becomes 0
    ("%5.0s|", ("abc",), "     |"),
    ("%%|%d%%", (3,), "%|3%"),
])
def test_conversions(fmt: str, args: tuple[int | str, ...], expected: str) -> None:
    assert sprintf(fmt, *args) == expected
    assert printf(fmt, *args) == expected


def test_zeropad_string_appends_nul() -> None:
    assert printf("%05s|", "ab") == "   ab\0|"
    assert sprintf("%05s|", "ab") == "   ab"  # the NUL ends the string


def test_char_nul_ends_sprintf_but_not_printf() -> None:
    assert sprintf("a%cb", 0) == "a"
    assert printf("a%cb", 0) == "a\0b"


def test_binary() -> None:
    assert printf("%b", 0x4142) == "BA" + "\0" * 6
    assert printf("%1b%2b%4b", 0x41, 0x4243, -1) == "ACB\xff\xff\xff\xff"
    assert printf("%.2b", 0x4142) == "BA"  # precision alone sets the width
    assert printf("%4.2b", 0x4142) == "\0\0BA"
    assert printf("%-4.2b|", 0x4142) == "BA\0\0|"
    assert printf("%3b", 0x41) == "A" + "\0" * 7 + "\0" * 0  # width 3 is no size: 8 bytes, width < 8
    assert sprintf("%b", 0x41) == "A"


def test_memory_dumps() -> None:
    mem = MappedMemory()
    mem.map(0x1000, b"Hi!\x00\xff")
    mem.map(0x2000, b"usr", user=True)
    f = compile_format("[%m][%.3m][%5.2m][%M][%.5M][%#.3m]", stream=True, memory=mem)
    assert f(0x1000, 0x1000, 0x1000, 0x1000, 0x1000, 0x2000) == "[H][Hi!][   Hi][48][48692100ff][usr]"
    with pytest.raises(StapError, match=r"^read fault \[man error::fault\] at 0x1005$"):
        compile_format("%.6m", stream=True, memory=mem)(0x1000)
    with pytest.raises(StapError) as err:
        compile_format("%.5000m", stream=True, memory=mem, where="identifier 'printf' at x.stp:1:2")(0x1000)
    assert err.value.text == "5000 is too many bytes for a memory dump near identifier 'printf' at x.stp:1:2"
    with pytest.raises(StapError, match=r"^4097 is too many bytes for a memory dump$"):
        compile_format("%.*M", stream=True, memory=mem)(4097, 0x1000)


def test_sprintf_keeps_511_bytes() -> None:
    assert sprintf("%s%s", "a" * 300, "b" * 300) == "a" * 300 + "b" * 211
    assert len(sprintf("%511d", 1)) == 511
    # The width is clamped to the room left, so the number's tail is what the NUL overwrites.
    assert sprintf("%600d", 12345) == " " * 507 + "1234"
    assert sprintf("%-600d", 12345) == "12345" + " " * 506


def test_printf_keeps_stp_buffer_size() -> None:
    assert printf("%9000d", 1) == " " * 8191 + "1"
    assert len(printf("%s" * 20, *(["x" * 500] * 20))) == 8192


# ---- the fast path equals the reference whenever it answers ----

_conv = st.sampled_from(list("csdiuoxXp"))
_flag = st.sampled_from(["", "0", "+", "-", " ", "#"])
_width = st.sampled_from(["", "*", "0", "1", "5", "12", "511", "512", "600"])
_prec = st.sampled_from(["", ".", ".*", ".0", ".3", ".20", ".600"])
_spec = st.tuples(_flag, _width, _prec, _conv).map(lambda t: "%" + "".join(t))
_lit = st.text(alphabet="ab |%\n", max_size=4).map(lambda s: s.replace("%", "%%"))
_format = st.lists(st.tuples(_lit, _spec), min_size=1, max_size=4).map(lambda ps: "".join(a + b for a, b in ps))
_long = st.one_of(st.sampled_from([0, 1, -1, 7, 255, -(1 << 63), (1 << 63) - 1, 1 << 31, -(1 << 31)]),
                  st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1))
_string = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=255), max_size=511)
_star = st.sampled_from([-5, 0, 3, 17, 511, 600, 9000, (1 << 31) + 5, -(1 << 31)])


@settings(max_examples=400, deadline=None)
@given(fmt=_format, data=st.data())
def test_fast_path_agrees_with_reference(fmt: str, data: st.DataObject) -> None:
    comps = parse_format(fmt)
    args: list[int | str] = []
    for comp in comps:
        if comp.kind == LITERAL:
            continue
        args += [data.draw(_star) for _ in range(comp.arg_count() - 1)]
        args.append(data.draw(_string) if comp.kind == STRING else data.draw(_long))
    for stream in (True, False):
        assert compile_format(fmt, stream=stream)(*args) == render(comps, args, stream=stream), (fmt, args, stream)


# ---- stap's compiled printf and vsprintf.c, compiled here, as the oracle ----


def _random_format(rng: random.Random) -> tuple[str, tuple[str, ...]]:
    pieces: list[str] = []
    types: list[str] = []
    for _ in range(rng.randint(1, 4)):
        pieces.append(rng.choice(["", "a", " ", "|", ":", "ab ", "\n", "%%"]))
        conv = rng.choice("bcsmMdiuoxXpdsx")
        flag = rng.choice(["", "", "0", "+", "-", " ", "#"])
        width = rng.choice(["", "", "*", "1", "2", "4", "5", "8", "12", "300", "511", "600", "9000"])
        prec = rng.choice(["", "", ".", ".*", ".0", ".1", ".2", ".3", ".8", ".20", ".600"])
        if conv in "mM" and prec in (".600", ".20"):
            prec = ".3"
        pieces.append("%" + flag + width + prec + rng.choice(["", "", "l"]) + conv)
        types += ["long"] * (width == "*") + ["long"] * (prec == ".*")
        types.append("string" if conv == "s" else "long")
    return "".join(pieces), tuple(types)


def _random_args(rng: random.Random, fmt: str, types: tuple[str, ...]) -> list[int | str]:
    comps = parse_format(fmt)
    args: list[int | str] = []
    for comp in comps:
        if comp.kind == LITERAL:
            continue
        stars = [-5, 0, 1, 3, 17, 300, 511, 600, 9000, (1 << 31) + 5, -(1 << 31), 2, 4, 8]
        if comp.kind in ("memory", "memory_hex"):
            stars = [-5, 0, 1, 2, 3, 17, 300]  # bigger dumps are refused before the call
        for _ in range(comp.arg_count() - 1):
            args.append(rng.choice(stars))
        if comp.kind == STRING:
            n = rng.choice([0, 1, 3, 10, 100, 511, rng.randint(0, 511)])
            args.append("".join(chr(rng.randint(1, 255)) for _ in range(n)))
        elif comp.kind in ("memory", "memory_hex"):
            args.append(ORACLE_MEMORY_BASE + rng.randint(0, 500) if rng.random() < 0.9 else rng.randint(0, 100))
        elif comp.kind == CHAR:
            args.append(rng.choice([0, 10, 39, 65, 92, 127, 200, 255, 321, -1, rng.randint(-(1 << 63), (1 << 63) - 1)]))
        else:
            big = rng.randint(-(1 << 63), (1 << 63) - 1)
            args.append(rng.choice([0, 1, -1, 42, 255, -(1 << 63), (1 << 63) - 1, big, rng.randint(-1000, 1000)]))
    assert len(args) == len(types)
    return args


def test_random_formats_match_stap_compiled_printf() -> None:
    """400 random formats, as printf and as sprintf, 3 argument sets each, against the C
    that `stap -p3` emits for them linked with the installed runtime's vsprintf.c."""
    rng = random.Random(20240601)
    cases: list[PrintfCase] = []
    seen: set[tuple[str, bool]] = set()
    while len(cases) < 400:
        fmt, types = _random_format(rng)
        stream = rng.random() < 0.5
        if (fmt, stream) in seen or (stream and (not types or fmt == "%s")):
            continue  # stap prints those with _stp_print, not a compiled printf
        seen.add((fmt, stream))
        cases.append(PrintfCase(fmt, stream, types))
    oracle = COracle(cases)
    try:
        dump = bytes(rng.randint(0, 255) for _ in range(1024))
        oracle.store(0, dump)
        mem = MappedMemory()
        mem.map(ORACLE_MEMORY_BASE, dump + bytes(65536 - len(dump)))
        mem.map(ORACLE_MEMORY_BASE, dump + bytes(65536 - len(dump)), user=True)
        for index, case in enumerate(cases):
            formatter = compile_format(case.fmt, stream=case.stream, memory=mem)
            for _ in range(3):
                args = _random_args(rng, case.fmt, case.types)
                expected = oracle.printf(index, args)
                if expected is None:
                    with pytest.raises(StapError, match="read fault"):
                        formatter(*args)
                else:
                    assert formatter(*args) == expected, (case, args)
    finally:
        oracle.close()
