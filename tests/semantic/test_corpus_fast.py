"""The pass-2 corpus itself is well formed: enough scripts, every category, headers and placeholders understood."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.semantic.corpus_p2 import (
    C_SOURCES,
    CATEGORIES,
    CORPUS,
    EXAMPLES,
    CorpusError,
    ScriptOptions,
    corpus_scripts,
    parse_header,
    placeholders,
    substitute,
)
from tests.semantic.oracle_p2 import StapError, parse_stap_errors
from tests.tooling import missing


def _written() -> list[Path]:
    return sorted(p for cat in CATEGORIES[1:] for p in (CORPUS / cat).glob("*.stp"))


def test_corpus_has_at_least_400_scripts_in_every_category() -> None:
    if not EXAMPLES.is_dir():
        missing("SystemTap's example scripts (apt-get install systemtap)")
    scripts = corpus_scripts()
    per = Counter(s.category for s in scripts)
    assert len(scripts) >= 400, per
    assert per["examples"] > 150
    for cat in CATEGORIES[1:]:
        assert per[cat] >= 40, per


def test_written_scripts_say_what_they_are_for() -> None:
    intents: Counter[str | None] = Counter()
    for cat in CATEGORIES[1:]:
        scripts = corpus_scripts((cat,))
        unnamed = [s.name for s in scripts if s.intent is None]
        assert not unnamed, f"name these ok-*, bad-* or warn-*: {unnamed}"
        per = Counter(s.intent for s in scripts)
        assert per["ok"] >= 10 and per["bad"] >= 10, (cat, per)
        intents.update(per)
    assert intents["warn"] >= 5


def test_every_header_and_placeholder_is_understood() -> None:
    problems = []
    for p in _written():
        text = p.read_text()
        try:
            parse_header(p, text)
            placeholders(p, text)
        except CorpusError as e:
            problems.append(str(e))
        if "tapkit-test" in text and not text.startswith("# tapkit-test:"):
            problems.append(f"{p}: tapkit-test header not at the top, where it is read")
    assert not problems, "\n".join(problems)


def test_process_scripts_name_binaries_and_the_others_do_not() -> None:
    for s in corpus_scripts(("process",)):
        assert s.binaries, f"{s.name} probes no corpus binary"
    assert {n for s in corpus_scripts(("process",)) for n in s.binaries} == {p.stem for p in C_SOURCES.glob("*.c")}
    for s in corpus_scripts(("tapset", "lang", "openafs")):
        assert not s.binaries, s.name


def test_openafs_scripts_reach_the_module() -> None:
    for s in corpus_scripts(("openafs",)):
        text = s.source.read_text()
        reaches = re.search(r'module\("openaf|"(?:kernel:)?openafs"', text)
        assert reaches or s.source.name.startswith("bad-kernel"), s.name


def test_header_options(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    script = tmp_path / "s.stp"
    text = "# tapkit-test: -g -I lib\n# tapkit-test: -- 1 'two words'\nprobe begin {}\n# tapkit-test: -g\n"
    assert parse_header(script, text) == ScriptOptions(True, ((tmp_path / "lib").resolve(),), ("1", "two words"))
    assert parse_header(script, "probe begin {}\n") == ScriptOptions()
    with pytest.raises(CorpusError, match=r"s\.stp:1: unknown tapkit-test option '--bpf'"):
        parse_header(script, "# tapkit-test: --bpf\n")
    with pytest.raises(CorpusError, match="no such directory"):
        parse_header(script, "# tapkit-test: -I nowhere\n")


def test_placeholders_keep_lines(tmp_path: Path) -> None:
    text = 'probe process("@BIN@").function("f") {}\nprobe process("@BIN:matrix@").begin {}\n'
    assert placeholders(tmp_path / "s.stp", text) == ("inventory", "matrix")
    out = substitute(text, {"inventory": Path("/b/inventory"), "matrix": Path("/b/matrix")})
    assert out == 'probe process("/b/inventory").function("f") {}\nprobe process("/b/matrix").begin {}\n'
    with pytest.raises(CorpusError, match="@BIN:nosuch@"):
        placeholders(tmp_path / "s.stp", 'probe process("@BIN:nosuch@").begin {}')


# stap 4.8's own stderr, as it printed it for corpus scripts (trimmed of the boilerplate lines)
_TYPE_MISMATCH = """\
semantic error: type mismatch (string): identifier 'x' at e5.stp:1:35
        source: probe begin { x = 1; printf("%s", x) }
                                                  ^

semantic error: type was first inferred here (long): identifier 'x' at :1:15
        source: probe begin { x = 1; printf("%s", x) }
                              ^

Pass 2: analysis failed.  [man error::pass2]
"""
_ALIAS_CONTEXT = """\
semantic error: while processing probe tp_syscall.wait4.return from: nd_syscall.wait4.return

semantic error: internal error: @entry is only valid in .return probes: operator '@entry' at /x/wait4time.stp:48:38
        source:   elapsed_time = gettimeofday_us() - @entry(gettimeofday_us())
                                                     ^
"""
_MEMBER = """\
semantic error: unable to find member 'valu' for struct node (alternatives: value, name, pos, next): \
operator '->' at p2.stp:1:65
"""
_PARSE = """\
parse error: command line argument out of range [1-0]
         at: junk '' at e7.stp:1:21
     source: probe begin { print(@1, $2) }
                                 ^

1 parse error.
"""


def test_stap_error_lines_are_read_with_their_places() -> None:
    errs = parse_stap_errors(_TYPE_MISMATCH, "e5.stp")
    assert errs == [StapError("semantic", "type mismatch (string)", "e5.stp", 1, 35),
                    StapError("semantic", "type was first inferred here (long)", "e5.stp", 1, 15)]
    errs = parse_stap_errors(_ALIAS_CONTEXT, "s.stp")
    assert errs[0] == StapError("semantic",
                                "while processing probe tp_syscall.wait4.return from: nd_syscall.wait4.return")
    assert (errs[1].file, errs[1].line, errs[1].column) == ("/x/wait4time.stp", 48, 38)
    member = "unable to find member 'valu' for struct node (alternatives: value, name, pos, next)"
    assert parse_stap_errors(_MEMBER, "p2.stp") == [StapError("semantic", member, "p2.stp", 1, 65)]
    assert parse_stap_errors(_PARSE, "e7.stp") == [
        StapError("parse", "command line argument out of range [1-0]", "e7.stp", 1, 21)]
    assert parse_stap_errors("semantic error: no probes found\n\nPass 2: analysis failed.\n", "x.stp") == [
        StapError("semantic", "no probes found")]
