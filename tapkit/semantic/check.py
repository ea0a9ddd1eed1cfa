"""check_script: passes 1 and 2 over one script file, as `stap -p2 FILE` would judge it.

    from tapkit.semantic import check_script, CheckOptions
    result = check_script("x.stp", CheckOptions(release="6.1.0-56-amd64"))
    result.ok, result.diagnostics

The tapset library is loaded once per process and per (target, include dirs) and reused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

from tapkit.diagnostics import Diagnostic
from tapkit.semantic.analysis import Analysis, ScriptFile, analyze
from tapkit.semantic.library import TapsetLibrary
from tapkit.semantic.options import AnalysisOptions, debuginfo_overrides
from tapkit.syntax.library import read_source
from tapkit.syntax.parser import parse
from tapkit.target import Target, host_release, newest_installed_release


@dataclass(frozen=True)
class CheckOptions:
    include_dirs: tuple[str, ...] = ()
    release: str | None = None
    guru: bool = False
    debuginfo: tuple[str, ...] = ()
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    diagnostics: list[Diagnostic]
    analysis: Analysis | None = field(default=None, compare=False, repr=False)


_libraries: dict[tuple[Target, tuple[str, ...]], TapsetLibrary] = {}
_lock = Lock()


def default_release() -> str:
    """The host's release when its kernel headers are installed, else the newest installed one
    (what scripts/stap-offline uses on a machine whose own kernel has none)."""
    host = host_release()
    if os.path.isdir(f"/lib/modules/{host}/build"):
        return host
    return newest_installed_release() or host


def target_for(options: CheckOptions) -> Target:
    return Target(release=options.release or default_release(), guru_mode=options.guru)


def library_for(target: Target, include_dirs: tuple[str, ...]) -> TapsetLibrary:
    key = (target, include_dirs)
    with _lock:
        lib = _libraries.get(key)
        if lib is None:
            lib = _libraries[key] = TapsetLibrary.load(target, include_dirs)
        return lib


def check_script(path: str, options: CheckOptions | None = None) -> CheckResult:
    """Judge one script file as `stap -p2` would: ok, with every diagnostic (errors and warnings)."""
    return check_text(read_source(path), path, options)


def check_text(text: str, path: str = "<input>", options: CheckOptions | None = None) -> CheckResult:
    """check_script for text that is not (or not yet) in a file."""
    analysis = analyze_text(text, path, options)
    return CheckResult(analysis.ok, analysis.diagnostics, analysis)


def analyze_text(text: str, path: str = "<input>", options: CheckOptions | None = None,
                 editor: bool = False) -> Analysis:
    """Passes 1 and 2 over one script's text with the shared library; editor=True builds the editor
    model (Analysis.model) that tapkit.semantic.queries reads."""
    options = options or CheckOptions()
    target = target_for(options)
    library = library_for(target, tuple(str(d) for d in options.include_dirs))
    parsed = parse(text, path, target, library.macros, args=options.args)
    analysis_options = AnalysisOptions(target, tuple(options.include_dirs), debuginfo_overrides(options.debuginfo))
    return analyze([ScriptFile(path, text, parsed)], library, analysis_options, editor=editor)


def source_lines(path: str) -> list[str] | None:
    try:
        return Path(path).read_bytes().decode("utf-8", "surrogateescape").splitlines()
    except OSError:
        return None
