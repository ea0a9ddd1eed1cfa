"""Pass 2 part by part (tapkit.semantic.incremental) says what pass 2 over the whole script says.

Any text is a fair input for that property, so besides the pass-2 corpus (Debian's examples and the written
ok/bad/warn scripts) the tests join pairs of corpus scripts: two scripts' errors, warnings, globals and
tapset uses meet in one program, in parts that are independent or not. The order of diagnostics is stap's
in the whole and part by part in the incremental result, so they are compared as multisets.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from tapkit.diagnostics import Diagnostic
from tapkit.semantic import CheckOptions
from tapkit.semantic.analysis import ScriptFile, analyze
from tapkit.semantic.check import library_for, target_for
from tapkit.semantic.incremental import PartCache, analyze_in_parts, parts_of
from tapkit.semantic.options import AnalysisOptions, debuginfo_overrides
from tapkit.syntax.parser import parse
from tests.semantic.corpus_p2 import CorpusScript, build_binaries, corpus_scripts, materialize
from tests.tooling import missing, stap_release


def both(text: str, path: str, options: CheckOptions, cache: PartCache) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """(whole, by parts) for text."""
    target = target_for(options)
    lib = library_for(target, tuple(str(d) for d in options.include_dirs))
    parsed = parse(text, path, target, lib.macros, args=options.args)
    aopts = AnalysisOptions(target, tuple(options.include_dirs), debuginfo_overrides(options.debuginfo))
    whole = analyze([ScriptFile(path, text, parsed)], lib, aopts).diagnostics
    parts = analyze_in_parts(ScriptFile(path, text, parsed), lib, aopts, cache, ("test", options))
    return whole, parts


def assert_same(whole: list[Diagnostic], parts: list[Diagnostic], what: str) -> None:
    if Counter(whole) != Counter(parts):
        only_whole = [f"  {d.span.line}:{d.span.column} {d.code} {d.message}" for d in whole if d not in parts]
        only_parts = [f"  {d.span.line}:{d.span.column} {d.code} {d.message}" for d in parts if d not in whole]
        pytest.fail(f"{what}: the whole and the parts disagree\nonly in the whole:\n" + "\n".join(only_whole)
                    + "\nonly by parts:\n" + "\n".join(only_parts))


def options_of(script: CorpusScript, ko: Path | None) -> CheckOptions:
    o = script.options
    return CheckOptions(include_dirs=tuple(str(d) for d in o.include_dirs), release=stap_release(), guru=o.guru,
                        debuginfo=(str(ko),) if ko else (), args=o.args)


LANG = """\
global count, names
global lonely
probe begin { count = 1; println(undefined_thing) }
probe end { printf("%d\\n", count) }
probe timer.s(1) { names[execname()] = pid(); x = $nope }
probe timer.ms(5) { y = 1 }
function unused(a) { return a + 1 }
probe kernel.function("no_such_function_here") { }
probe never { z = "a"; z = 1 }
"""


def test_parts_are_independent_items_joined_by_names() -> None:
    tree = parse(LANG, "t.stp").file
    parts = [[type(tree.items[i]).__name__ for i in p] for p in parts_of(tree.items)]
    # `global count, names` joins begin, end and timer.s; lonely, the function and the other probes are alone
    assert parts == [["GlobalDecl", "ProbeDecl", "ProbeDecl", "ProbeDecl"], ["GlobalDecl"], ["ProbeDecl"],
                     ["FunctionDecl"], ["ProbeDecl"], ["ProbeDecl"]]


@pytest.mark.parametrize("text", [
    LANG,
    LANG.replace("println(undefined_thing)", "println(1)").replace("x = $nope", "x = 2"),  # symbols pass ok
    "global g\nprobe begin { g = 1 }\nprobe end { g = \"s\" }\nprobe timer.s(1) { q = 1; q = \"s\" }\n",
    "function f(x) { return x }\nglobal a\n",  # no probes
    "",
    "probe begin { a = 1 }\nprobe end { b = 1 }\n",  # elided probes, then no probes found
    "probe begin { printf(\"%d\", execname()) }\nprobe end { printf(\"%s\", pid()) }\n",  # two of one kind
    'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n',
    # thread_indent's tapset code has a local `ts`: the script's global of that name captures it
    'global ts[100]\nprobe begin { ts[1] = 1 }\nprobe end { println(thread_indent(1)) }\n',
])
def test_small_scripts(text: str) -> None:
    whole, parts = both(text, "/tmp/t.stp", CheckOptions(release=stap_release()), PartCache())
    assert_same(whole, parts, repr(text[:60]))


def test_moved_parts_are_reused_with_their_spans_moved() -> None:
    cache = PartCache()
    options = CheckOptions(release=stap_release())
    both(LANG, "/tmp/t.stp", options, cache)
    runs = cache.runs
    moved = "\n\n# a comment\n" + LANG.replace("probe end {", "\n\nprobe end {")
    whole, parts = both(moved, "/tmp/t.stp", options, cache)
    assert_same(whole, parts, "moved")
    assert any(d.span.line > 5 for d in parts)
    assert cache.runs == runs, "a part that only moved was analyzed again"
    edited = moved.replace("y = 1", "y = 1; y = 2")
    both(edited, "/tmp/t.stp", options, cache)
    assert cache.runs > runs


MACROS = """\
@define twice(x) %( (@x * 2) %)
@define unused %( 1 %)
probe begin { println(@twice(3)) }
probe end { println(4) }
"""


def test_a_macro_edit_reanalyzes_the_parts_expanding_it() -> None:
    cache = PartCache()
    options = CheckOptions(release=stap_release())
    both(MACROS, "/tmp/t.stp", options, cache)
    for edited, runs in ((MACROS.replace("%( 1 %)", "%( 2 %)"), 0),  # nothing expands it
                         (MACROS.replace("(@x * 2)", "(@x * 3)"), 1),  # begin's part, not end's
                         (MACROS.replace("(@x * 2)", "(@x * \"s\")"), 2)):  # begin's, then (it fails) the whole
        before = cache.runs
        whole, parts = both(edited, "/tmp/t.stp", options, cache)
        assert_same(whole, parts, edited)
        assert cache.runs - before == runs, edited


ALIASED = """\
probe tick = timer.s(1) { n = 1 }
global a
probe tick { a++ }
probe end { exit() }
global b
probe timer.ms(10) { b++ }
probe end { exit() }
probe begin { println(1) }
"""


def test_an_edit_reanalyzes_one_part_whatever_every_part_shares() -> None:
    cache = PartCache()
    options = CheckOptions(release=stap_release())
    for n in range(3):  # the groups of the last analysis join parts up front: an alias, in every part, and an
        before = cache.runs  # item whose text repeats must not join them all
        edited = ALIASED.replace("println(1)", f"println({n})")
        whole, parts = both(edited, "/tmp/t.stp", options, cache)
        assert_same(whole, parts, edited)
        assert n == 0 or cache.runs - before == 1
        assert len(cache.joined["/tmp/t.stp"][0]) == 5  # tick+a+alias, end, timer+b, end, begin


def test_parts_kept_on_disk_serve_another_cache(tmp_path: Path) -> None:
    options = CheckOptions(release=stap_release())
    first = PartCache(directory=tmp_path)
    whole, parts = both(LANG, "/tmp/t.stp", options, first)
    assert first.runs > 0 and list(tmp_path.glob("*.pickle"))
    again = PartCache(directory=tmp_path)
    _, parts_again = both(LANG, "/tmp/t.stp", options, again)
    assert again.runs == 0 and Counter(parts_again) == Counter(parts) == Counter(whole)
    for f in tmp_path.glob("*.pickle"):
        f.write_bytes(b"cut short")
    count = len(list(tmp_path.glob("*.pickle")))
    assert count > 2
    PartCache(directory=tmp_path, keep=count - 1)  # too many: the oldest go, half of keep stay
    assert len(list(tmp_path.glob("*.pickle"))) == (count - 1) // 2
    third = PartCache(directory=tmp_path)
    _, parts_third = both(LANG, "/tmp/t.stp", options, third)
    assert third.runs == first.runs and Counter(parts_third) == Counter(whole)  # all analyzed again


def _scripts() -> list[CorpusScript]:
    if not Path("/usr/share/systemtap/examples").is_dir():
        missing("SystemTap's example scripts (apt-get install systemtap)")
    return corpus_scripts()


@pytest.mark.slow
def test_every_corpus_script(openafs_ko: Path) -> None:
    binaries = build_binaries()
    cache = PartCache()
    for script in _scripts():
        path = materialize(script, binaries)
        whole, parts = both(path.read_text(errors="replace"), str(path), options_of(script, openafs_ko), cache)
        assert_same(whole, parts, script.name)


@pytest.mark.slow
def test_pairs_of_corpus_scripts(openafs_ko: Path, tmp_path: Path) -> None:
    binaries = build_binaries()
    scripts = [s for s in _scripts() if not s.options.include_dirs and not s.options.guru]
    rng = random.Random(6)
    cache = PartCache()
    for n in range(150):
        a, b = rng.sample(scripts, 2)
        text = materialize(a, binaries).read_text(errors="replace") + "\n" + \
            materialize(b, binaries).read_text(errors="replace")
        whole, parts = both(text, str(tmp_path / f"pair{n}.stp"), options_of(a, openafs_ko), cache)
        assert_same(whole, parts, f"{a.name} + {b.name}")
