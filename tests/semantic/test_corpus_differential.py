"""tapkit check and stap -p2 agree on the pass-2 corpus: accept/reject, and where both reject, the first error's line.

The corpus (tests/semantic/corpus_p2.py) is Debian's examples plus scripts of our own over the
tapset library, the language, process("…") probes on gcc -g binaries and the real openafs.ko.
stap's verdicts come from tests/semantic/oracle_p2.py (cached by content; a clean cache runs
every script through stap, two at a time).
"""

from __future__ import annotations

import os
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.semantic.corpus_p2 import (
    CATEGORIES,
    EXAMPLES,
    CorpusScript,
    build_binaries,
    corpus_scripts,
    materialize,
)
from tests.semantic.oracle_p2 import OracleJob, StapVerdict, stap_verdicts
from tests.tooling import missing, require_tool, stap_release

pytestmark = pytest.mark.slow

AGREEMENT = 0.98  # the bound, for accept/reject and for the first error's line
MESSAGE_AGREEMENT = 0.94  # the first error's wording (96.0% when set; the rest are mostly parse messages): a floor


@dataclass(frozen=True, slots=True)
class Judged:
    script: CorpusScript
    path: Path  # the file stap read, and tapkit must read
    verdict: StapVerdict


@pytest.fixture(scope="module")
def judged(openafs_ko: Path) -> list[Judged]:
    require_tool("stap")
    require_tool("gcc")
    if not EXAMPLES.is_dir():
        missing("SystemTap's example scripts (apt-get install systemtap)")
    scripts = corpus_scripts()
    binaries = build_binaries()
    paths = [materialize(s, binaries) for s in scripts]
    jobs = [OracleJob(p, s.options, tuple(binaries[b] for b in s.binaries))
            for s, p in zip(scripts, paths, strict=True)]
    start = time.monotonic()
    verdicts = stap_verdicts(jobs, openafs_ko)
    print(f"\nstap -p2 verdicts for {len(jobs)} scripts in {time.monotonic() - start:.1f}s")
    out = [Judged(s, p, v) for s, p, v in zip(scripts, paths, verdicts, strict=True)]
    _print_split(out)
    return out


def _print_split(judged: list[Judged]) -> None:
    total: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for j in judged:
        total[j.script.category] += 1
        accepted[j.script.category] += j.verdict.accepted
    for cat in CATEGORIES:
        rejected = total[cat] - accepted[cat]
        print(f"  {cat:10} {total[cat]:4} scripts: stap accepts {accepted[cat]:4}, rejects {rejected:4}")


def test_stap_agrees_with_what_each_written_script_is_for(judged: list[Judged]) -> None:
    """ok-/warn- scripts are accepted (warn- with a warning), bad- scripts rejected: the corpus tests what it claims."""
    wrong = []
    for j in judged:
        intent, v = j.script.intent, j.verdict
        if intent is None:
            continue
        if intent == "bad" and v.accepted:
            wrong.append(f"{j.script.name}: written to be rejected, stap accepts")
        elif intent in ("ok", "warn") and not v.accepted:
            wrong.append(f"{j.script.name}: written to be accepted, stap {v.describe()}")
        elif intent == "warn" and not v.warnings:
            wrong.append(f"{j.script.name}: written to draw a warning, stap prints none")
    assert not wrong, "\n".join(wrong)


def test_every_category_has_both_verdicts(judged: list[Judged]) -> None:
    for cat in CATEGORIES:
        mine = [j.verdict.accepted for j in judged if j.script.category == cat]
        assert sum(mine) >= 10 and len(mine) - sum(mine) >= 10, f"{cat}: {sum(mine)} accepted of {len(mine)}"


def _same_place(stap: StapVerdict, file: str, line: int) -> bool:
    where = stap.first_located
    if where is None:  # e.g. "no probes found": stap names no place, so there is no line to compare
        return True
    return os.path.realpath(where.file) == os.path.realpath(file) and where.line == line


def _same_message(stap: StapVerdict, ours: str) -> bool:
    """stap's first located error reads as ours (which may carry stap's context line in front)."""
    where = stap.first_located
    if where is None:
        return True
    theirs = where.message.strip().rstrip(":").strip()
    return theirs in ours or ours.startswith(theirs[:40]) or theirs.startswith(ours[:40])


def test_tapkit_check_agrees_with_stap(judged: list[Judged], openafs_ko: Path) -> None:
    try:
        from tapkit.semantic import CheckOptions, check_script
    except ImportError as e:
        pytest.fail(f"tapkit.semantic has no check_script/CheckOptions yet ({e}); "
                    f"this test needs `check_script(path, CheckOptions(...)) -> CheckResult`")
    release = stap_release()
    verdict_mismatch: list[str] = []
    line_mismatch: list[str] = []
    message_mismatch: list[str] = []
    wrong_per_category: Counter[str] = Counter()
    both_reject = 0
    start = time.monotonic()
    for j in judged:
        opts = j.script.options
        options = CheckOptions(include_dirs=tuple(str(d) for d in opts.include_dirs), release=release,
                               guru=opts.guru, debuginfo=(str(openafs_ko),), args=opts.args)
        try:
            result = check_script(str(j.path), options)
        except Exception as e:  # a crash is a disagreement like any other, and must not hide the others
            wrong_per_category[j.script.category] += 1
            verdict_mismatch.append(f"{j.script.name}: stap {j.verdict.describe()}; tapkit raised "
                                    f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=-3)}")
            continue
        first = next((d for d in result.diagnostics if d.is_error), None)
        ours = "accepts" if result.ok else (
            f"rejects: {first.message} at {first.span.file}:{first.span.line}:{first.span.column}" if first
            else "rejects with no error diagnostic")
        if result.ok != j.verdict.accepted:
            wrong_per_category[j.script.category] += 1
            verdict_mismatch.append(f"{j.script.name}: stap {j.verdict.describe()}; tapkit {ours}")
        elif not result.ok:
            both_reject += 1
            if first is None or not _same_place(j.verdict, first.span.file, first.span.line):
                line_mismatch.append(f"{j.script.name}: stap {j.verdict.describe()}; tapkit {ours}")
            if first is not None and not _same_message(j.verdict, first.message):
                message_mismatch.append(f"{j.script.name}: stap {j.verdict.describe()}; tapkit {ours}")
    total = len(judged)
    agree = (total - len(verdict_mismatch)) / total
    line_agree = (both_reject - len(line_mismatch)) / both_reject if both_reject else 1.0
    message_agree = (both_reject - len(message_mismatch)) / both_reject if both_reject else 1.0
    report = [f"tapkit check over {total} scripts in {time.monotonic() - start:.1f}s",
              f"accept/reject agreement: {agree:.1%} ({len(verdict_mismatch)} disagreements: "
              + ", ".join(f"{c} {wrong_per_category[c]}" for c in CATEGORIES) + ")",
              *(f"  {m}" for m in verdict_mismatch),
              f"first error on stap's line: {line_agree:.1%} of {both_reject} both-reject "
              f"({len(line_mismatch)} elsewhere)",
              *(f"  {m}" for m in line_mismatch),
              f"first error in stap's words: {message_agree:.1%} of {both_reject} both-reject "
              f"({len(message_mismatch)} otherwise)",
              *(f"  {m}" for m in message_mismatch)]
    print("\n" + "\n".join(report))
    assert agree >= AGREEMENT and line_agree >= AGREEMENT, "\n".join(report)
    assert message_agree >= MESSAGE_AGREEMENT, "\n".join(report)
