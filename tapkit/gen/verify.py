"""Generated code goes back through the front door: tapkit's parser, `tapkit check`, and optionally stap -p2.

The checks run on a temporary tapset directory (the -I dirs' files, with the new outputs in place of
same-named ones) and a script that uses every generated function and alias, so nothing goes unchecked
because nothing called it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tapkit.diagnostics import Diagnostic, Severity, Span
from tapkit.gen.target import GenTarget
from tapkit.gen.types import GenError, TypeSet

if TYPE_CHECKING:
    from tapkit.gen.generate import GenRequest, Output


@dataclass(frozen=True, slots=True)
class Verdict:
    diagnostics: tuple[Diagnostic, ...]
    ran: tuple[str, ...] = ()  # which checks ran: "parse", "check", "stap -p2"
    stap_output: str = ""

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def tapset_files(dirs: Sequence[str]) -> list[Path]:
    """The .stp files of tapset dirs, as stap finds them (recursively), in a stable order."""
    return sorted(p for d in dirs for p in Path(d).rglob("*.stp") if p.is_file())


def defined_functions(dirs: Sequence[str]) -> frozenset[str]:
    """Names of the functions the tapset dirs define (a lock formatter is used only when defined there)."""
    from tapkit.syntax import ast, parse

    names: set[str] = set()
    for path in tapset_files(dirs):
        result = parse(path.read_text(errors="replace"), str(path), library=True)
        names.update(item.name for item in result.file.items if isinstance(item, ast.FunctionDecl))
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class LibraryNames:
    """The functions and globals stap's own tapset library defines (generated names must not reuse them)."""

    functions: frozenset[str]
    globals: frozenset[str]


@functools.lru_cache(maxsize=4)
def library_names(release: str | None) -> LibraryNames:
    from tapkit.syntax import ast
    from tapkit.syntax.library import parse_library
    from tapkit.target import Target

    lib = parse_library(Target(release=release) if release else Target())
    items = [item for _, r in lib.files for item in r.file.items]
    return LibraryNames(frozenset(i.name for i in items if isinstance(i, ast.FunctionDecl)),
                        frozenset(g.name for i in items if isinstance(i, ast.GlobalDecl) for g in i.vars))


def check_collisions(model: TypeSet, names: LibraryNames) -> None:
    """Raise when a generated function is one the SystemTap tapset library already defines."""
    clash = sorted(set(model.function_names()) & names.functions)
    if clash:
        raise GenError(f"generated function{'s' if len(clash) > 1 else ''} {', '.join(clash)} would collide with "
                       f"the SystemTap tapset library; choose a --prefix")


def verify(outputs: Sequence[Output], exercise: str, request: GenRequest, debuginfo_path: str, target: GenTarget,
           extra: Sequence[Diagnostic] = ()) -> Verdict:
    diagnostics = list(extra)
    ran = []
    if request.check:
        ran.append("parse")
        diagnostics += _parse_all(outputs, exercise)
    with tapset_dir_with(outputs, request.include_dirs, exercise) as tmp:
        lib, script = os.path.join(tmp, "tapset"), os.path.join(tmp, "exercise.stp")
        if request.check and not diagnostics:
            ran.append("check")
            diagnostics += _semantic(script, lib, request, debuginfo_path, target)
        stap_output = ""
        if request.check_with_stap and not diagnostics:
            ran.append("stap -p2")
            stap_output, found = _stap(request.check_with_stap, script, lib, request, debuginfo_path, target)
            diagnostics += found
    return Verdict(tuple(diagnostics), tuple(ran), stap_output)


def tapset_dir_with(outputs: Sequence[Output], include_dirs: Sequence[str], exercise: str
                    ) -> tempfile.TemporaryDirectory[str]:
    """A temporary tapset dir: the -I dirs' files, with the outputs in place of same-named files, and
    exercise.stp beside (not inside) it. Checks run against this, so an old copy never shadows new text."""
    tmp = tempfile.TemporaryDirectory(prefix="tapkit-gen-")
    lib = Path(tmp.name) / "tapset"
    lib.mkdir()
    for d in include_dirs:
        shutil.copytree(d, lib, dirs_exist_ok=True)
    for i, o in enumerate(outputs):
        name = os.path.basename(o.path) if o.path else f"generated{i}.stp"
        (lib / name).write_text(o.text)
    (Path(tmp.name) / "exercise.stp").write_text(exercise)
    return tmp


def _parse_all(outputs: Sequence[Output], exercise: str) -> list[Diagnostic]:
    from tapkit.syntax import parse

    found: list[Diagnostic] = []
    for i, o in enumerate(outputs):
        found += parse(o.text, o.path or f"<generated {i}>", library=True).diagnostics
    found += parse(exercise, "<exercise>").diagnostics
    return found


def _semantic(script: str, lib: str, request: GenRequest, debuginfo_path: str, target: GenTarget
              ) -> list[Diagnostic]:
    """`tapkit check` on the exercise script."""
    from tapkit.semantic import CheckOptions, check_script

    name = target.name if target.kind == "module" else "kernel" if target.kind == "kernel" else None
    debuginfo = (f"{name}={debuginfo_path}",) if name else (debuginfo_path,)
    options = CheckOptions(include_dirs=(lib,), release=request.release, debuginfo=debuginfo)
    result = check_script(script, options)
    return list(result.diagnostics)


def _stap(command: Sequence[str], script: str, lib: str, request: GenRequest, debuginfo_path: str,
          target: GenTarget) -> tuple[str, list[Diagnostic]]:
    """stap -p2 on the exercise script; scripts/stap-offline also gets --module for a kernel module."""
    cmd = list(command)
    if os.path.basename(cmd[0]) == "stap-offline" and target.kind == "module":
        cmd += ["--module", debuginfo_path]
    elif request.release:
        cmd += ["-r", request.release]
    cmd += ["-p2", "-I", lib, script]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except FileNotFoundError:
        raise GenError(f"cannot run {cmd[0]!r} for --check-with-stap") from None
    if proc.returncode == 0:
        return proc.stderr, []
    message = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("WARNING: Kernel function"))
    return proc.stderr, [Diagnostic(Severity.ERROR, "gen.stap-rejected", f"stap -p2 rejected the generated code:\n"
                                    f"{message}", Span(script, 1, 1, 1, 2), kind="semantic")]
