"""Mutation test: token-level edits of real tapsets and examples; tapkit must judge them as stap does.

Every mutant is judged as a tapset file by both (see oracle.py for why that is stap's own
verdict): .stp mutants many to a stap run, each .stpm mutant in its own run in place of
its original. The bar is 99 % agreement; every disagreement is printed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tapkit.syntax.library import read_source
from tapkit.syntax.parser import parse, parse_library_macros
from tapkit.syntax.preprocessor import MacroDecl
from tests.syntax.corpus import (
    TAPSET,
    Mutant,
    examples,
    library_macros,
    mutants,
    require_corpus,
    stap_target,
    x86_library,
)
from tests.syntax.oracle import SCRIPT_ARGS, Verdict, library_verdicts

pytestmark = pytest.mark.slow

SCRIPT_MUTANTS = 2200
MACRO_MUTANTS = 100
BATCH = 550


def _tapkit_accepts_script(m: Mutant) -> tuple[bool, str]:
    r = parse(m.text, m.name, stap_target(), library_macros(), library=True, args=SCRIPT_ARGS)
    return r.ok, (r.diagnostics[0].message if r.diagnostics else "")


def _tapkit_accepts_macros(m: Mutant, order: list[str]) -> tuple[bool, str]:
    # the .stpm files stap reads before this one (their macros are what a duplicate would clash with)
    known: dict[str, MacroDecl] = {}
    for p in order:
        if p == str(m.source):
            break
        defs, _ = parse_library_macros(read_source(p), p, stap_target(), known)
        known.update(defs)
    defs, diags = parse_library_macros(m.text, m.name, stap_target(), known)
    return not diags, (diags[0].message if diags else "")


def test_mutants_agree_with_stap() -> None:
    require_corpus()
    macro_files, script_files = x86_library()
    sources = script_files + [e.path for e in examples()]
    script_mutants = list(mutants(sources, SCRIPT_MUTANTS, seed=20260))
    macro_mutants = list(mutants(macro_files, MACRO_MUTANTS, seed=4080))
    base_macros = [(str(p.relative_to(TAPSET)), read_source(p)) for p in macro_files]

    rel = {id(m): f"linux/mutant{i:05d}.stp" for i, m in enumerate(script_mutants)}
    batches = [script_mutants[i:i + BATCH] for i in range(0, len(script_mutants), BATCH)]

    def judge_scripts(batch: list[Mutant]) -> dict[str, Verdict]:
        verdicts = library_verdicts([(rel[id(m)], m.text) for m in batch], base_macros)
        return {rel[id(m)]: verdicts[rel[id(m)]] for m in batch}

    def judge_macros(m: Mutant) -> Verdict:
        own = str(m.source.relative_to(TAPSET))
        company = [(r, t) for r, t in base_macros if r != own]
        return library_verdicts([], [*company, (own, m.text)])[own]

    with ThreadPoolExecutor(max_workers=2) as pool:
        stap_scripts: dict[str, Verdict] = {}
        for part in pool.map(judge_scripts, batches):
            stap_scripts.update(part)
        stap_macros = list(pool.map(judge_macros, macro_mutants))

    order = [str(p) for p in macro_files]
    disagreements = []
    crashed = []
    total = agree = stap_rejects = 0
    judged = [(m, stap_scripts[rel[id(m)]], _tapkit_accepts_script(m)) for m in script_mutants]
    judged += [(m, v, _tapkit_accepts_macros(m, order)) for m, v in zip(macro_mutants, stap_macros, strict=True)]
    for m, verdict, (ours, why) in judged:
        if verdict.crashed:
            crashed.append(f"{m.name}: stap crashed; tapkit {'accepts' if ours else 'rejects (' + why + ')'}")
            continue
        theirs = verdict.accepted
        total += 1
        stap_rejects += not theirs
        if ours == theirs:
            agree += 1
        else:
            disagreements.append(f"{m.name}: stap {'accepts' if theirs else 'rejects'}, tapkit "
                                 f"{'accepts' if ours else 'rejects (' + why + ')'}")
    rate = agree / total
    print(f"\n{total} mutants judged, stap rejects {stap_rejects}; tapkit agrees on {agree} ({rate:.2%}); "
          f"stap crashed on {len(crashed)} more")
    for d in disagreements:
        print("  disagreement:", d)
    for c in crashed:
        print("  no verdict:", c)
    assert total >= 2000
    assert 0.2 * total < stap_rejects < 0.95 * total  # the mutants really exercise both verdicts
    assert rate >= 0.99, "\n".join(disagreements)
