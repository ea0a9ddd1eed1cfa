"""MAXACTION accounting checked against SystemTap's own translator: for each probe handler and function,
the sequence of action charges (`c->actionremaining -= N` with the last_stmt token) and static checks
(`if (c->actionremaining < N)`) in `stap -p3`'s C must equal the ones in tapkit's compiled Python."""

from __future__ import annotations

import ast
import re
import subprocess

import pytest

from tapkit.runtime.compiler import compile_program
from tapkit.semantic.check import check_text
from tests.tooling import require_tool, stap_release

pytestmark = pytest.mark.slow

SCRIPTS = {
    "while_loop": "global n\nprobe begin {\n  while (n < 100) n++\n  println(n)\n  exit()\n}\n",
    "for_with_break_continue": (
        "probe begin {\n  for (i = 0; i < 10; i++) {\n    if (i == 2) continue\n    if (i == 7) break\n"
        "    printf(\"%d\", i)\n  }\n  println()\n  exit()\n}\n"),
    "foreach_sorted_with_limit": (
        "global a, b\nprobe begin {\n  for (i = 0; i < 5; i++) { a[i] = i; b[i] = i }\n"
        "  foreach (k- in a limit 3) {\n    println(k)\n    delete b[k]\n  }\n  exit()\n}\n"),
    "nested_if_chains_in_loop": (
        "probe begin {\n  x = 0\n  for (i = 0; i < 20; i++) {\n    if (i % 3 == 0) x += 1\n"
        "    else if (i % 3 == 1) { x += 2; x *= 1 }\n    else x -= 1\n  }\n  println(x)\n  exit()\n}\n"),
    "try_catch_in_loop": (
        "probe begin {\n  for (i = 0; i < 3; i++) {\n    try { x = 10 / (i - 1) } catch (e) { println(e) }\n  }\n"
        "  exit()\n}\n"),
    "functions_finite_and_looping": (
        "function f(a) { if (a) return a + 1; return 0 }\nfunction g(n) { s = 0; for (i = 0; i < n; i++) s += f(i);"
        " return s }\nprobe begin { println(g(4)); println(f(1)); exit() }\n"),
    "many_statements_charge_every_ten": (
        "global a\nprobe begin {\n  while (a < 2) {\n" + "".join(f"    a += {i}\n" for i in range(23))
        + "  }\n  exit()\n}\n"),
    "histogram_foreach": (
        "global s\nprobe begin {\n  s <<< 1; s <<< 5\n  foreach (b in @hist_linear(s, 0, 10, 2)) printf(\"%d \", b)\n"
        "  println()\n  exit()\n}\n"),
}

_C_CHARGE = re.compile(r'c->actionremaining -= (\d+);\s*if \(unlikely \(c->actionremaining <= 0\)\) \{\s*'
                       r'c->last_error = "MAXACTION exceeded";\s*(?:c->last_stmt = "((?:[^"\\]|\\.)*)";)?')
_C_CHECK = re.compile(r"if \(c->actionremaining < (\d+)\)")
_PY_CHARGE = re.compile(r"ctx\.actionremaining -= (\d+)\n\s*if ctx\.actionremaining <= 0: raise _ActionLimit\((\w+)\)")
_PY_CHECK = re.compile(r"if ctx\.actionremaining < (\d+): raise _ActionLimit")


def _events(text: str, charge: re.Pattern[str], check: re.Pattern[str], token: object) -> list[tuple[str, ...]]:
    found: list[tuple[int, tuple[str, ...]]] = []
    for m in charge.finditer(text):
        found.append((m.start(), ("charge", m.group(1), token(m.group(2)))))  # type: ignore[operator]
    for m in check.finditer(text):
        found.append((m.start(), ("check", m.group(1))))
    for start, n, name in _charged_calls(text):  # tapkit charges after a call inside the expression
        found.append((start, ("charge", n, token(name))))  # type: ignore[operator]
    return [e for _, e in sorted(found)]


def _charged_calls(text: str) -> list[tuple[int, str, str]]:
    """`_charged(ctx, CALL, N, W)` in compiled Python: (position of its end, N, W); nested ones inner first."""
    out = []
    for m in re.finditer(r"_charged\(", text):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        args = re.search(r", (\d+), (\w+)\)$", text[m.start():i])
        assert args is not None
        out.append((i, args.group(1), args.group(2)))
    return out


def stap_units(script: str) -> dict[str, list[tuple[str, ...]]]:
    stap = require_tool("stap")
    proc = subprocess.run([stap, "-r", stap_release(), "-p3", "-e", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    units: dict[str, list[tuple[str, ...]]] = {}
    probes = 0
    for m in re.finditer(r"^static void (probe_\d+|function___global_(\w+?)__overload_\d+) \(struct context[^{]*\{"
                         r"(.*?)^\}", proc.stdout, re.S | re.M):
        if m.group(1).startswith("probe_"):
            name = f"probe_{probes}"
            probes += 1
        else:
            name = f"f_{m.group(2)}"
        units[name] = _events(m.group(3), _C_CHARGE, _C_CHECK, lambda t: (t or "").replace("\\'", "'"))
    return units


def tapkit_units(script: str) -> dict[str, list[tuple[str, ...]]]:
    result = check_text(script)
    assert result.ok and result.analysis is not None, result.diagnostics
    program = compile_program(result.analysis)
    consts = dict(re.findall(r"^(W\w*) = (['\"].*['\"])$", program.source, re.M))
    units: dict[str, list[tuple[str, ...]]] = {}
    for m in re.finditer(r"^    def (probe_\d+|f_\w+)\(ctx[^)]*\):\n(.*?)(?=^    def |^    return \()",
                         program.source, re.S | re.M):
        units[m.group(1)] = _events(m.group(2), _PY_CHARGE, _PY_CHECK,
                                    lambda name: ast.literal_eval(consts[name]) if name in consts else "")
    return units


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_action_accounting_matches_the_translator(name: str) -> None:
    script = SCRIPTS[name]
    theirs = stap_units(script)
    ours = tapkit_units(script)
    for unit, events in theirs.items():
        if unit.startswith("f_") and unit not in ours:
            continue  # tapset functions tapkit runs as intrinsics (exit, ...)
        assert ours.get(unit) == events, unit
