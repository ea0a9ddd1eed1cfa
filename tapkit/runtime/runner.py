"""run_script: `tapkit run` without the command line -- passes 1-5 for the builtin engine.

    from tapkit.runtime.runner import RunRequest, run_script
    code = run_script(RunRequest(path="x.stp", args=("5",), out=sys.stdout.buffer, err=sys.stderr))

Pass 1-2 are tapkit's (the same as `tapkit check`), pass 3 compiles to Python (-p3 prints it),
pass 4 is the compile itself, pass 5 runs it. Diagnostics print the way stap prints them; the exit
status is stap's: 0, or 1 when a pass failed or the run reported errors.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from tapkit.diagnostics import Severity
from tapkit.runtime.compiler import CompiledProgram, CompileError, Limits, compile_program
from tapkit.runtime.context import Context
from tapkit.runtime.engine import BuiltinEngine, EventSource, ProbeUnservable, RunOptions
from tapkit.runtime.session import PASS5_FAILED, Session

PASS1_FAILED = "Pass 1: parse failed.  [man error::pass1]"
PASS2_FAILED = "Pass 2: analysis failed.  [man error::pass2]"
PASS3_FAILED = "Pass 3: translation failed.  [man error::pass3]"


@dataclass
class RunRequest:
    path: str | None = None  # the script file, or None with text (-e)
    text: str | None = None
    args: Sequence[str] = ()
    include_dirs: Sequence[str] = ()
    release: str | None = None
    guru: bool = False
    defines: Mapping[str, str] = field(default_factory=dict)
    globals: Mapping[str, str] = field(default_factory=dict)  # -G NAME=VALUE
    command: Sequence[str] | None = None
    target_pid: int | None = None
    last_pass: int = 5
    debuginfo: Sequence[str] = ()
    replay: str | None = None
    warnings: bool = True
    out: BinaryIO | None = None
    err: TextIO | None = None
    handle_signals: bool = True


@dataclass
class Prepared:
    program: CompiledProgram | None
    status: int


def _err(request: RunRequest) -> TextIO:
    return request.err if request.err is not None else sys.stderr


def prepare(request: RunRequest) -> Prepared:
    """Passes 1-4: the compiled program, or the exit status after printing why there is none."""
    from tapkit.semantic.analysis import ScriptFile, analyze
    from tapkit.semantic.check import CheckOptions, library_for, source_lines, target_for
    from tapkit.semantic.options import AnalysisOptions, debuginfo_overrides
    from tapkit.semantic.report import format_semantic
    from tapkit.syntax.library import read_source
    from tapkit.syntax.parser import parse

    err = _err(request)
    check = CheckOptions(tuple(request.include_dirs), request.release, request.guru, tuple(request.debuginfo),
                         tuple(request.args))
    target = target_for(check)
    library = library_for(target, tuple(str(d) for d in request.include_dirs))
    path = request.path or "<input>"
    text = request.text if request.text is not None else read_source(path)
    parsed = parse(text, path, target, library.macros, args=list(request.args))
    # tapkit's live engine serves process probes, and places .return ones whatever the kernel offers
    options = AnalysisOptions(target, tuple(request.include_dirs), debuginfo_overrides(tuple(request.debuginfo)),
                              user_probes="live")
    analysis = analyze([ScriptFile(path, text, parsed)], library, options)
    lines: dict[str, list[str] | None] = {path: text.split("\n")}
    for d in analysis.diagnostics:
        if d.severity is Severity.WARNING and not request.warnings:
            continue
        if d.span.file not in lines:
            lines[d.span.file] = source_lines(d.span.file)
        err.write(format_semantic(d, lines[d.span.file]))
    if not analysis.ok:
        if analysis.stage == "parse":
            n = sum(1 for d in analysis.diagnostics if d.is_error)
            err.write(f"{n} parse error{'s' if n != 1 else ''}.\n{PASS1_FAILED}\n")
        else:
            err.write(PASS2_FAILED + "\n")
        return Prepared(None, 1)
    if request.last_pass <= 2:
        return Prepared(None, 0)
    try:
        program = compile_program(analysis, Limits.from_defines(request.defines))
    except CompileError as exc:
        err.write(f"error: {exc.message}")
        if exc.span is not None:
            err.write(f" at {exc.span.file}:{exc.span.line}:{exc.span.column}\n")
            src = lines.get(exc.span.file) or source_lines(exc.span.file)
            if src is not None and 0 < exc.span.line <= len(src):
                err.write(f"        source: {src[exc.span.line - 1]}\n")
                err.write(" " * (16 + exc.span.column - 1) + "^\n")
        else:
            err.write("\n")
        err.write(PASS3_FAILED + "\n")
        return Prepared(None, 1)
    return Prepared(program, 0)


def global_overrides(program: CompiledProgram, values: Mapping[str, str]) -> dict[str, int | str]:
    """-G NAME=VALUE as typed values; ValueError naming what is wrong."""
    from tapkit.runtime.arith import wrap
    from tapkit.runtime.strings import from_text

    out: dict[str, int | str] = {}
    for name, value in values.items():
        info = program.globals.get(name)
        if info is None or info.arity > 0:
            raise ValueError(f"-G {name}: no scalar global named '{name}' in the script")
        if info.type == "string":
            out[name] = from_text(value)[:program.limits.maxstringlen - 1]
        else:
            try:
                out[name] = wrap(int(value, 0))
            except ValueError:
                raise ValueError(f"-G {name}={value}: '{name}' is a long, and '{value}' is not a number") from None
    return out


def run_program(program: CompiledProgram, request: RunRequest, sources: Sequence[EventSource] = (),
                binder: object = None, context: Context | None = None) -> int:
    """Pass 5 with the builtin engine."""
    from tapkit.runtime.livebind import LiveBindError
    from tapkit.runtime.livesource import LiveSetupError

    err = _err(request)
    try:
        overrides = global_overrides(program, request.globals)
    except ValueError as exc:
        err.write(f"tapkit run: {exc}\n")
        return 1
    limits = program.limits
    session = Session(request.out, err, maxerrors=limits.maxerrors, maxskipped=limits.maxskipped,
                      maxaction=limits.probe_actions, context=context)
    options = RunOptions(command=request.command, target_pid=request.target_pid, overrides=overrides,
                         binder=binder, sources=sources, handle_signals=request.handle_signals)  # type: ignore[arg-type]
    engine = BuiltinEngine(program, session, options)
    try:
        status = engine.run()
    except ProbeUnservable as exc:
        err.write(f"tapkit run: {exc}\n")
        return 1
    except FileNotFoundError as exc:
        err.write(f"tapkit run: -c: {exc.strerror}: {exc.filename}\n")
        return 1
    except LiveBindError as exc:
        err.write(f"semantic error: {exc}\n{PASS2_FAILED}\n")
        return 1
    except LiveSetupError as exc:
        err.write(f"tapkit run: {exc}\n")
        return 1
    if status:
        err.write(PASS5_FAILED + "\n")
    return status


def run_script(request: RunRequest) -> int:
    if request.replay is not None:
        from tapkit.runtime.replay import ReplayError, fixture_debuginfo

        try:  # pass 2 resolves the fixture's module probes with the debuginfo it names
            request.debuginfo = [*fixture_debuginfo(Path(request.replay)), *request.debuginfo]
        except ReplayError as exc:
            _err(request).write(f"tapkit run: {exc}\n")
            return 1
    prepared = prepare(request)
    program = prepared.program
    if program is None:
        return prepared.status
    if request.last_pass == 3:
        out = request.out if request.out is not None else sys.stdout.buffer
        out.write(program.source.encode())
        out.flush()
        return 0
    if request.last_pass == 4:
        return 0
    sources: list[EventSource] = []
    binder: object = None
    if request.replay is not None:
        from tapkit.runtime.replay import ReplayError, load_replay

        try:
            replay = load_replay(Path(request.replay), program, request.debuginfo, request.release)
        except ReplayError as exc:
            _err(request).write(f"tapkit run: {exc}\n")
            return 1
        sources.append(replay)
        binder = replay.binder
    context: Context | None = None
    if request.replay is None:
        from tapkit.runtime.livesource import LiveSetupError, LiveSource

        try:
            live = LiveSource.for_program(program, request.command is not None or request.target_pid is not None)
        except LiveSetupError as exc:
            _err(request).write(f"tapkit run: {exc}\n")
            return 1
        if live is not None:
            sources.append(live)
            binder, context = live.binder, live.context
    return run_program(program, request, sources, binder, context)
