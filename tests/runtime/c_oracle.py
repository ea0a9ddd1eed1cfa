"""stap 4.8's own C as a test oracle: its runtime sources plus the printfs `stap -p3` emits.

`COracle(cases)` writes a stap script with one printf/sprintf per case, runs
`stap -p3` on it, lifts the compiled printf functions out of the generated C, compiles
them with the installed runtime's vsprintf.c, stp_string.c, stat.c and linux/arith.c
(oracle/harness.c, oracle/kshim.h) and keeps the program running to answer queries.
The build is cached by the content of everything that goes into it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.tooling import fixture_cache, missing, stap_release

HERE = Path(__file__).resolve().parent / "oracle"
RUNTIME = Path("/usr/share/systemtap/runtime")


@dataclass(frozen=True, slots=True)
class PrintfCase:
    fmt: str  # the runtime format string (newlines are real newlines)
    stream: bool
    types: tuple[str, ...]  # "long" / "string" per argument, '*' values included


def _stap_literal(text: str) -> str:
    assert '"' not in text and "\\" not in text
    return '"' + text.replace("\n", "\\n") + '"'


def _script(cases: Sequence[PrintfCase]) -> str:
    nlong = max([sum(t == "long" for t in c.types) for c in cases] + [1])
    nstr = max([sum(t == "string" for t in c.types) for c in cases] + [1])
    longs = [f"gl{i}" for i in range(nlong)]
    strs = [f"gs{i}" for i in range(nstr)]
    lines = ["global " + ", ".join(longs + strs + ["gout"]),
             "probe begin(1) { " + "; ".join(f"{v} = {i}" for i, v in enumerate(longs)) + "; "
             + "; ".join(f'{v} = "s{i}"' for i, v in enumerate(strs)) + '; gout = "" }',
             "probe begin(2) {"]
    for case in cases:
        li = si = 0
        args: list[str] = []
        for t in case.types:
            if t == "long":
                args.append(longs[li])
                li += 1
            else:
                args.append(strs[si])
                si += 1
        call = f"printf({_stap_literal(case.fmt)}{''.join(', ' + a for a in args)})"
        lines.append(f"  {call}" if case.stream else f"  gout = s{call}")
    # Read every global, or stap adds an end probe printing the unread ones.
    reads = " || ".join([f"{v} == 0" for v in longs] + [f'{v} == ""' for v in [*strs, "gout"]])
    lines.append(f"  if ({reads}) next")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _lift(generated: str, count: int) -> str:
    """printfs.inc: struct context with the printf locals, the functions, and dispatchers."""
    start = generated.index("  #ifndef STP_LEGACY_PRINT\n  union {")
    end = generated.index("} printf_locals;", start) + len("} printf_locals;")
    locals_text = generated[start + len("  #ifndef STP_LEGACY_PRINT\n"):end]
    fstart = generated.index("#ifndef STP_LEGACY_PRINT\n\nstatic void stp_")
    fend = generated.index("#endif // STP_LEGACY_PRINT", fstart)
    functions = generated[fstart + len("#ifndef STP_LEGACY_PRINT\n"):fend]
    probe_at = generated.index("static void probe_", fend)
    calls = re.findall(r"\b(stp_s?printf_\d+) \(c\);", generated[probe_at:])
    if len(calls) != count:
        raise RuntimeError(f"expected {count} compiled printf calls, found {len(calls)}")
    fields = {name: re.findall(r"(int64_t|const char\*) (arg\d+);", body)
              for name, body in re.findall(r"struct (stp_s?printf_\d+)_locals \{(.*?)\}", locals_text, re.S)}
    setters, callers, streams = [], [], []
    for index, name in enumerate(calls):
        cases = []
        for i, (ctype, field) in enumerate(fields[name]):
            value = "v" if ctype == "int64_t" else "s"
            cases.append(f"case {i}: c->printf_locals.{name}.{field} = {value}; break;")
        setters.append(f"case {index}: switch (i) {{ {' '.join(cases)} }} break;")
        ret = "" if name.startswith("stp_printf") else f"c->printf_locals.{name}.__retvalue = ret; "
        callers.append(f"case {index}: {ret}{name}(c); break;")
        streams.append(f"case {index}: return {int(name.startswith('stp_printf'))};")
    return "\n".join([
        "struct context {", locals_text, "};", functions,
        "static void oracle_set_arg(struct context *c, int index, int i, int64_t v, const char *s) {",
        "  (void)v; (void)s; switch (index) {", *setters, "  } }",
        "static void oracle_call(struct context *c, int index, char *ret) {",
        "  (void)ret; switch (index) {", *callers, "  } }",
        "static int oracle_is_stream(int index) { switch (index) {", *streams, "  } return 0; }", ""])


class COracle:
    def __init__(self, cases: Sequence[PrintfCase] = ()) -> None:
        stap, gcc = shutil.which("stap"), shutil.which("gcc")
        if stap is None or gcc is None or not (RUNTIME / "vsprintf.c").exists():
            missing("stap and gcc (the C oracle builds stap's runtime sources)")
        assert stap is not None and gcc is not None
        self.cases = list(cases) or [PrintfCase("%d\n", True, ("long",))]
        script = _script(self.cases)
        sources = [HERE / "harness.c", HERE / "kshim.h"] + [RUNTIME / p for p in (
            "vsprintf.c", "vsprintf.h", "stp_string.c", "stp_string.h", "linux/arith.c", "stat.c", "stat-common.c",
            "stat.h")]
        digest = hashlib.sha256(script.encode() + b"".join(p.read_bytes() for p in sources)).hexdigest()[:20]
        exe = fixture_cache() / "c_oracle" / f"oracle-{digest}"
        if not exe.exists():
            exe.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "oracle.stp").write_text(script)
                proc = subprocess.run([stap, "-r", stap_release(), "-p3", "oracle.stp"], cwd=tmp,
                                      capture_output=True, text=True, timeout=300)
                if proc.returncode != 0:
                    raise RuntimeError(f"stap -p3 failed:\n{proc.stderr}\n{script}")
                (Path(tmp) / "printfs.inc").write_text(_lift(proc.stdout, len(self.cases)))
                out = Path(tmp) / "oracle"
                build = subprocess.run([gcc, "-O1", "-w", "-fwrapv", "-I", tmp, "-I", str(HERE), "-I", str(RUNTIME),
                                        "-o", str(out), str(HERE / "harness.c")], capture_output=True, text=True)
                if build.returncode != 0:
                    raise RuntimeError(f"building the C oracle failed:\n{build.stderr[-4000:]}")
                shutil.move(str(out), exe)
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().rstrip("\n")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)

    def arith(self, op: str, x: int, y: int = 0) -> int:
        return int(self._ask(f"A {op} {x} {y}"))

    def printf(self, index: int, args: Sequence[int | str]) -> str | None:
        """The output (latin-1 text) of case `index`, or None when %m/%M faulted."""
        parts = [f"i:{a}" if isinstance(a, int) else "s:" + (a.encode("latin-1").hex() or "") for a in args]
        answer = self._ask(" ".join(["P", str(index), *(p if p != "s:" else "s:00" for p in parts)]))
        if answer == "FAULT":
            return None
        return "" if answer == "-" else bytes.fromhex(answer).decode("latin-1")

    def store(self, offset: int, data: bytes) -> None:
        self._ask(f"M {offset} {data.hex()}")

    def stat(self, shift: int, kind: int, start: int, stop: int, interval: int,
             values: Sequence[int]) -> tuple[list[int], str]:
        """count, sum, min, max, avg, variance and the histogram text for these values."""
        answer = self._ask(f"S {shift} {kind} {start} {stop} {interval} {len(values)} "
                           + " ".join(map(str, values)))
        *numbers, hist = answer.split(" ")
        return [int(n) for n in numbers], ("" if hist == "-" else bytes.fromhex(hist).decode("latin-1"))

    def text_str(self, text: str, inlen: int, outlen: int, quoted: bool) -> str:
        answer = self._ask(f"T {inlen} {outlen} {int(quoted)} {text.encode('latin-1').hex() or '00'}")
        return "" if answer == "-" else bytes.fromhex(answer).decode("latin-1")


ORACLE_MEMORY_BASE = 0x10000  # kshim.h's oracle_mem_base
