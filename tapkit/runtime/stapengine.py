"""The stap engine: hand the script and its tapset path to SystemTap itself, and read its errors back.

`tapkit run --engine stap` builds stap's command line from the same options (-I -r -g -c -x -m -p -D -G
-o -w, the script or -e text, then the script arguments) and runs it; stdout passes straight through,
stderr is read line by line and stap's diagnostics ("semantic error: MSG: TOKEN at FILE:L:C", "parse
error: …") come back as tapkit Diagnostics, printed the same way `tapkit check` prints them.
`-p4 -r RELEASE -m NAME` builds a module for another machine (the seed's cross-instrumentation).

`auto` picks stap only when stap can really run the script here: pass 5 needs the host kernel's build
tree and module loading; otherwise the builtin engine runs it (a -p1..-p4 request, which stap can
answer without loading anything, goes to stap when one is asked for explicitly).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from tapkit.diagnostics import Diagnostic, Severity, Span

_HEADLINE = re.compile(r"^(?P<kind>semantic error|parse error|WARNING|ERROR): (?P<msg>.*?)"
                       r"(?:: (?P<saw>(?:identifier|operator|keyword|string|number|embedded-code)[^@]*?)?"
                       r"\s*at (?P<file>[^:\s]+(?::[^:\s]+)*?):(?P<line>\d+):(?P<col>\d+))?$")


@dataclass(frozen=True)
class EngineChoice:
    use_stap: bool
    stap: str = "stap"


def find_stap(path: str | None) -> str | None:
    if path:
        return path if os.access(path, os.X_OK) else None
    return shutil.which("stap")


def stap_can_load_modules() -> bool:
    """Pass 5 of the kernel runtime needs the running kernel's build tree and module support."""
    release = platform.release()
    return os.path.isdir(f"/lib/modules/{release}/build") and os.path.exists("/proc/modules")


def choose_engine(name: str, stap_path: str | None, *, replay: bool, last_pass: int,
                  module: str | None) -> EngineChoice | str:
    """The engine to use, or a usage error."""
    stap = find_stap(stap_path)
    if name == "builtin":
        return EngineChoice(False)
    if name == "stap":
        if replay:
            return "--replay is tapkit's own event source: use --engine builtin (or auto)"
        if stap is None:
            return f"--engine stap: no stap executable ({stap_path or 'stap on PATH'}); set --stap or TAPKIT_STAP"
        return EngineChoice(True, stap)
    if stap is not None and not replay and ((module is not None and last_pass == 4) or
                                            (last_pass == 5 and stap_can_load_modules())):
        return EngineChoice(True, stap)
    return EngineChoice(False)


@dataclass
class StapRequest:
    stap: str
    script: str | None = None
    text: str | None = None
    args: Sequence[str] = ()
    include_dirs: Sequence[str] = ()
    release: str | None = None
    guru: bool = False
    command: str | None = None
    pid: int | None = None
    module: str | None = None
    last_pass: int = 5
    defines: Sequence[str] = ()
    globals: Sequence[str] = ()
    output: str | None = None
    no_warnings: bool = False
    extra: Sequence[str] = field(default_factory=tuple)


def stap_argv(req: StapRequest) -> list[str]:
    argv = [req.stap]
    for d in req.include_dirs:
        argv += ["-I", d]
    if req.release:
        argv += ["-r", req.release]
    if req.guru:
        argv.append("-g")
    if req.command is not None:
        argv += ["-c", req.command]
    if req.pid is not None:
        argv += ["-x", str(req.pid)]
    if req.module:
        argv += ["-m", req.module]
    if req.last_pass != 5:
        argv.append(f"-p{req.last_pass}")
    for d in req.defines:
        argv += ["-D", d]
    for g in req.globals:
        argv += ["-G", g]
    if req.output:
        argv += ["-o", req.output]
    if req.no_warnings:
        argv.append("-w")
    argv += list(req.extra)
    if req.text is not None:
        argv += ["-e", req.text]
    elif req.script is not None:
        argv.append(req.script)
    argv += list(req.args)
    return argv


def parse_stap_diagnostic(line: str) -> Diagnostic | None:
    """One of stap's headline lines as a Diagnostic (None for anything else)."""
    m = _HEADLINE.match(line.rstrip("\n"))
    if m is None or m.group("file") is None:
        return None
    kind = m.group("kind")
    severity = Severity.WARNING if kind == "WARNING" else Severity.ERROR
    span = Span(m.group("file"), int(m.group("line")), int(m.group("col")), int(m.group("line")),
                int(m.group("col")) + 1)
    dkind = "semantic" if kind in ("semantic error", "WARNING") else "parse" if kind == "parse error" else "runtime"
    saw = (m.group("saw") or "").strip() or None
    return Diagnostic(severity, f"stap.{dkind}", m.group("msg"), span, kind=dkind, saw=saw)


def run_stap(req: StapRequest, err: TextIO | None = None) -> int:
    """Run stap; pass its output through; return its exit status. Diagnostics stap prints are kept as
    Diagnostics in the returned order (see collect_diagnostics for the list)."""
    err = err if err is not None else sys.stderr
    env = dict(os.environ)
    try:
        proc = subprocess.Popen(stap_argv(req), stderr=subprocess.PIPE, text=True, env=env)
    except OSError as exc:
        err.write(f"tapkit run: cannot start {req.stap}: {exc.strerror}\n")
        return 1
    assert proc.stderr is not None
    from tapkit.semantic.check import source_lines
    from tapkit.semantic.report import format_semantic

    skipping = False
    texts: dict[str, list[str] | None] = {"<input>": req.text.split("\n") if req.text is not None else None}
    for line in proc.stderr:
        d = parse_stap_diagnostic(line)
        if d is not None and d.kind in ("semantic", "parse"):
            if d.span.file not in texts:
                texts[d.span.file] = source_lines(d.span.file)
            err.write(format_semantic(d, texts[d.span.file]))  # the headline with our source and caret
            skipping = True
        elif skipping and (line.startswith("        source:") or line.startswith(" source:")
                           or (line.strip() == "^" or (set(line.strip()) <= {"^"} and line.strip()))):
            continue  # stap's own source/caret lines of a diagnostic we reprinted
        else:
            skipping = False
            err.write(line)
        err.flush()
    return proc.wait()


def collect_diagnostics(stderr_text: str) -> list[Diagnostic]:
    """Every diagnostic stap printed, as tapkit Diagnostics (for --json and the tests)."""
    out = []
    for line in stderr_text.splitlines():
        d = parse_stap_diagnostic(line)
        if d is not None:
            out.append(d)
    return out
