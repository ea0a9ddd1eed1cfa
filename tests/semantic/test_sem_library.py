"""The tapset library for pass 2: a persisted declarations index, trees loaded only when used."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tapkit.semantic import AnalysisOptions, CheckOptions, ScriptFile, TapsetLibrary, analyze, check_text
from tapkit.syntax import parse
from tapkit.target import Target
from tests.tooling import stap_release


@pytest.fixture(scope="module")
def target() -> Target:
    return Target(release=stap_release())


def fresh(target: Target) -> TapsetLibrary:
    """A new instance from the persisted index (what a new `tapkit check` process starts with)."""
    TapsetLibrary.load(target)  # builds the index if this machine has none yet
    return TapsetLibrary.load(target)


def test_index_knows_every_file_and_the_library_is_clean(target: Target) -> None:
    lib = fresh(target)
    assert lib.diagnostics == ()
    names = {Path(f.path).name for f in lib.index.files}
    assert {"context.stp", "conversions.stp", "aux_syscalls.stp", "sysc_open.stp"} <= names
    assert {"pid", "execname", "kernel_string", "user_string"} <= lib.function_names()
    pid = next(f for f in lib.index.functions if f.name == "pid")
    assert pid.signature() == "pid:long()" and pid.arity == 0
    assert "Returns the ID of a target process" in lib.function_doc(lib.index.functions.index(pid))


def test_trees_are_loaded_only_for_what_the_script_reaches(target: Target) -> None:
    lib = fresh(target)
    assert lib.loaded_trees == frozenset()
    text = 'probe begin { printf("%d %s\\n", pid(), execname()) }'
    parsed = parse(text, "l.stp", target, lib.macros)
    analysis = analyze([ScriptFile("l.stp", text, parsed)], lib, AnalysisOptions(target))
    assert analysis.ok
    loaded = {Path(lib.path(i)).name for i in lib.loaded_trees}
    assert "context.stp" in loaded
    assert len(loaded) <= 5, loaded
    assert len(lib.index.files) > 100


def test_warm_load_is_fast(target: Target) -> None:
    fresh(target)
    start = time.perf_counter()
    TapsetLibrary.load(target)
    assert time.perf_counter() - start < 0.5  # the index unpickles in milliseconds; generous for loaded CI


def test_private_library_functions_are_not_visible(target: Target) -> None:
    lib = fresh(target)
    private = [f for f in lib.index.functions if f.private]
    assert private
    name = next(f.name for f in private if f.name not in lib.function_names())
    result = check_text(f"probe begin {{ {name}() }}", "p.stp", CheckOptions(release=target.release))
    assert not result.ok
    assert result.diagnostics[0].message.startswith(f"unresolved function {name}")


def every_public_function(lib: TapsetLibrary) -> str:
    calls = sorted({(f.name, f.arity) for f in lib.index.functions if not f.private})
    body = "\n".join(f"  if (0) {name}({', '.join(['0'] * arity)})" for name, arity in calls)
    return f"probe begin {{\n{body}\n  print(1)\n}}\n"


@pytest.mark.slow
def test_every_library_function_resolves_as_with_stap(target: Target) -> None:
    """Each public function called once (in dead code: symbols are resolved, nothing is typed).
    stap -p2 on the same script: the guru-only functions are refused, 31 errors in all; with -g
    the two genuine library problems that stap reports too remain."""
    text = every_public_function(fresh(target))
    result = check_text(text, "all.stp", CheckOptions(release=target.release))
    errors = [d for d in result.diagnostics if d.is_error]
    assert errors[0].message == "function may not be used unless -g is specified"
    assert result.analysis is not None and result.analysis.session is not None
    assert len(errors) + result.analysis.session.errors.suppressed == 31
    guru = check_text(text, "all.stp", CheckOptions(release=target.release, guru=True))
    assert [(Path(d.span.file).name, d.span.line, d.message) for d in guru.diagnostics if d.is_error] == [
        ("dev.stp", 73, "unknown type in dereference"),
        ("registers.stp", 452, "type mismatch: expected unknown but found long"),
    ]
