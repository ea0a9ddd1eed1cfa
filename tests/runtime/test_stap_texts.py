"""Our error texts and token locations are the ones stap 4.8 compiles into a module (stap -p3)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tapkit.runtime import errors as E
from tapkit.runtime import strings as S
from tapkit.runtime.printf import LEFT, SIGN, parse_format
from tapkit.runtime.session import SKIPPED_TOO_MANY
from tests.tooling import require_tool, stap_release

SCRIPT = """\
global a[3], s, m
function fact(n) { if (n > 1) return n * fact(n - 1); return 1 }
function g:long(x:long) { next }
function g:long(x:long) { next }
probe begin {
  println(fact(3) + g(1))
  x = 10; y = 0
  z = x / y
  w = x % y
  a[1] = z + w
  m[1] = 1
  s <<< 1
  println(@min(s))
  print(@hist_linear(s, 0, 10, 1))
  println(@hist_linear(s, 0, 10, 1)[2])
  println(kernel_string(0))
  printf("%-5d%.*m", x, 5000, x)
  try { error("e") } catch (msg) { println(msg) }
}
"""


def _generated() -> str:
    stap = require_tool("stap")
    proc = subprocess.run([stap, "-r", stap_release(), "-p3", "-e", SCRIPT], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_messages_and_locations_match_translator_output() -> None:
    c = _generated()
    assert f'c->last_error = "{E.DIVISION_BY_ZERO}";' in c
    assert f'c->last_stmt = "{E.token_where("operator", "/", "<input>", 8, 9)}";' in c
    assert f'c->last_stmt = "{E.token_where("operator", "%", "<input>", 9, 9)}";' in c
    assert f'c->last_error = "{E.array_overflow(3)}";' in c
    assert f'c->last_error = "{E.array_overflow()}";' in c
    assert f'c->last_stmt = "{E.token_where("identifier", "a", "<input>", 10, 3)}";' in c
    assert f'c->last_error = "{E.EMPTY_AGGREGATE}";' in c
    assert f'c->last_error = "{E.HISTOGRAM_INDEX_OUT_OF_RANGE}";' in c
    assert f'c->last_error = "{E.MAXACTION_EXCEEDED}";' in c
    assert f'c->last_error = "{E.MAXNESTING_EXCEEDED}";' in c
    assert re.search(r'c->last_stmt = "identifier \'g\' at <input>:\d+:\d+"; c->last_error = "'
                     + E.ALL_FUNCTIONS_EXHAUSTED + '";', c)
    # the tokens stap names for aggregates, histogram prints and a '*' precision argument
    assert f'c->last_stmt = "{E.token_where("operator", "@min", "<input>", 13, 11)}";' in c
    assert f'c->last_stmt = "{E.token_where("operator", "@hist_linear", "<input>", 15, 11)}";' in c
    assert f'c->last_stmt = "{E.token_where("number", "5000", "<input>", 17, 25)}";' in c
    assert '"kernel string copy fault at 0x%lx [man error::fault]"' in c
    assert E.copy_fault("kernel", "string", 0) == "kernel string copy fault at 0x0 [man error::fault]"
    assert "identifier 'kernel_string' at /usr/share/systemtap/tapset/linux/conversions.stp:" in c
    assert '"%lld is too many bytes for a memory dump"' in c
    assert E.memory_dump_too_big(5000) == "5000 is too many bytes for a memory dump"
    # loc2c's read fault, which %m and target variables report
    assert '#define STAP_MSG_LOC2C_01 "read fault [man error::fault] at 0x%lx"' in c
    assert E.read_fault(0x10) == "read fault [man error::fault] at 0x10"
    assert '_stp_softerror ("%s near %s", c->last_error, c->last_stmt);' in c
    assert SKIPPED_TOO_MANY in c
    assert '_stp_warn ("Number of errors: %d, skipped probes: %d\\n"' in c


def test_parsed_flags_are_the_ones_the_translator_passes() -> None:
    """number(..., flags) in the emitted printf carries staptree's flag bits, which are ours."""
    c = _generated()
    comps = parse_format("%-5d%.*m")
    assert comps[0].flags == LEFT | SIGN == 18
    assert re.search(r"number\(str, end, l->arg0, 10, width, precision, 18\);", c)
    assert re.search(r"_stp_vsprint_memory\(str, end, \(const char\*\)\(intptr_t\)l->arg2, width, precision, 'm', 0\)",
                     c)


LITERALS = [r"plain", r"a\nb\tc", r"\101\1012", r"\x41\x7e", r"\q\e\'\?", r"\"quoted\"", r"back\\slash",
            r"nul\0after", r"\7\77\777", "é€"]


def test_string_literals_decode_as_stap_and_gcc_do(tmp_path: Path) -> None:
    """The C literal stap -p3 emits for each script literal, compiled and printed by gcc."""
    stap, gcc = require_tool("stap"), require_tool("gcc")
    names = [f"s{i}" for i in range(len(LITERALS))]
    script = (f"global {', '.join(names)}\nprobe begin {{\n"
              + "".join(f'  {n} = "{lit}"\n' for n, lit in zip(names, LITERALS, strict=True))
              + f"  println({' . '.join(names)})\n}}\n")
    (tmp_path / "lit.stp").write_text(script, encoding="utf-8")
    proc = subprocess.run([stap, "-r", stap_release(), "-p3", "lit.stp"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, encoding="utf-8", errors="surrogateescape")
    assert proc.returncode == 0, proc.stderr
    c_literals = [re.search(rf'strlcpy \(global\(s___global_{n}\), ("(?:[^"\\]|\\.)*"), MAXSTRINGLEN\);',
                            proc.stdout).group(1) for n in names]  # type: ignore[union-attr]
    program = "#include <stdio.h>\nint main(void) {\n" + "".join(
        f'  {{ const char *p = {lit}; while (*p) printf("%02x", (unsigned char)*p++); printf("\\n"); }}\n'
        for lit in c_literals) + "  return 0;\n}\n"
    (tmp_path / "lit.c").write_text(program, encoding="utf-8", errors="surrogateescape")
    subprocess.run([gcc, "-w", "-o", str(tmp_path / "lit"), str(tmp_path / "lit.c")], check=True)
    printed = subprocess.run([str(tmp_path / "lit")], capture_output=True, text=True, check=True).stdout.split("\n")
    for literal, hexed in zip(LITERALS, printed, strict=False):
        assert S.to_bytes(S.decode_script_string(literal)).hex() == hexed, literal
