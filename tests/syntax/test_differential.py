"""tapkit parse and stap -p1 agree on every tapset file and every example script (accept/reject)."""

from __future__ import annotations

import pytest

from tapkit.syntax.library import library_files, read_source
from tapkit.syntax.parser import parse, parse_library_macros
from tests.syntax.corpus import (
    TAPSET,
    examples,
    library_macros,
    other_tapset_files,
    require_corpus,
    stap_target,
    x86_library,
)
from tests.syntax.oracle import SCRIPT_ARGS, ScriptCase, library_verdicts, script_verdicts, stap_library_file_list

pytestmark = pytest.mark.slow


def test_library_file_list_is_the_one_stap_processes() -> None:
    require_corpus()
    ours = [str(p) for p in library_files(stap_target(), tapset_dir=TAPSET).all]
    theirs = stap_library_file_list()
    assert len(theirs) > 400
    assert ours == theirs


def test_every_tapset_file_gets_stap_verdict() -> None:
    """The x86_64 library in its own tree, plus every other arch's/runtime's .stp file beside it."""
    require_corpus()
    macro_files, script_files = x86_library()
    macro_pairs = [(str(p.relative_to(TAPSET)), read_source(p)) for p in macro_files]
    pairs = [(str(p.relative_to(TAPSET)), read_source(p)) for p in script_files]
    # files for other arches and runtimes: judged under x86_64 too, from linux/ where stap will read them
    pairs += [("linux/other__" + str(p.relative_to(TAPSET)).replace("/", "__"), read_source(p))
              for p in other_tapset_files()]
    stap = library_verdicts(pairs, macro_pairs)
    macros = library_macros()
    target = stap_target()
    disagree = []
    for rel, text in pairs:
        ours = parse(text, str(TAPSET / rel), target, macros, library=True, args=SCRIPT_ARGS)
        if ours.ok != stap[rel].accepted:
            disagree.append(f"{rel}: stap {'accepts' if stap[rel].accepted else 'rejects'}, tapkit "
                            f"{'accepts' if ours.ok else 'rejects: ' + ours.diagnostics[0].message}")
    # each .stpm is judged with the .stpm files stap reads before it
    known: dict[str, object] = {}
    for p in macro_files:
        defs, diags = parse_library_macros(read_source(p), str(p), target, known)  # type: ignore[arg-type]
        if diags:
            disagree.append(f"{p}: stap accepts (it is in the library stap reads), tapkit: {diags[0].message}")
        known.update(defs)
    assert len(pairs) > 550
    assert not disagree, "\n".join(disagree)


def test_every_example_gets_stap_verdict() -> None:
    require_corpus()
    cases = examples()
    assert len(cases) > 150
    verdicts = script_verdicts([ScriptCase(e.path, e.guru) for e in cases])
    macros = library_macros()
    disagree = []
    rejected = 0
    for ex, v in zip(cases, verdicts, strict=True):
        ours = parse(read_source(ex.path), str(ex.path), stap_target(ex.guru), macros, args=SCRIPT_ARGS)
        rejected += not v.accepted
        if ours.ok != v.accepted:
            first = v.first
            where = f" at {first.line}:{first.column} {first.message}" if first else ""
            disagree.append(f"{ex.path} (guru={ex.guru}): stap {'accepts' if v.accepted else 'rejects'}{where}, "
                            f"tapkit {'accepts' if ours.ok else 'rejects: ' + ours.diagnostics[0].message}")
        elif not v.accepted and v.first is not None and v.first.line and ours.diagnostics[0].span.file == str(ex.path):
            # both reject: the first error should be where stap puts it
            d = ours.diagnostics[0]
            if (d.span.line, d.span.column) != (v.first.line, v.first.column):
                disagree.append(f"{ex.path}: first error at {d.span.line}:{d.span.column} ({d.message}), "
                                f"stap at {v.first.line}:{v.first.column} ({v.first.message})")
    print(f"{len(cases)} examples, {rejected} rejected by stap")
    assert not disagree, "\n".join(disagree)
