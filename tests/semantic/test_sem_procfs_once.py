"""One read probe per procfs file: tapkit's verdict on each variant is stap -p2's, error for error.

stap 4.8 checks the rule when the probes left after optimization join their groups (the end of
its first optimization pass), so an elided empty probe does not count, type errors found while
constant folding come first, and the error, which has no position, ends pass 2. Write probes may
repeat; in the bpf runtime a file cannot have both kinds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.semantic.analysis import ScriptFile, analyze
from tapkit.semantic.check import library_for
from tapkit.semantic.options import AnalysisOptions
from tapkit.semantic.report import UNLOCATED
from tapkit.syntax.parser import parse
from tapkit.target import Target
from tests.semantic.oracle_p2 import StapError, parse_stap_errors
from tests.tooling import stap_offline, stap_release

READ_TWICE = 'only one read procfs probe can exist for procfs path "{}"'

# (name, script, the procfs path whose second read probe stap rejects, or None when it accepts)
CASES = [
    ("read-twice", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n', "x"),
    ("read-thrice", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n'
                    'probe procfs("x").read { $value = "c" }\n', "x"),
    ("one-probe-two-points", 'probe procfs("x").read, procfs("x").read { $value = "a" }\n', "x"),
    ("wildcard-second", 'probe procfs("x").read, procfs("x").re* { $value = "a" }\n', "x"),
    ("optional-second", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read ? { $value = "b" }\n', "x"),
    ("write-twice", 'probe procfs("x").write { println($value) }\nprobe procfs("x").write { println($value) }\n',
     None),
    ("read-and-write", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").write { println($value) }\n',
     None),
    ("other-paths", 'probe procfs("x").read { $value = "a" }\nprobe procfs("y").read { $value = "b" }\n'
                    'probe procfs.read { $value = "c" }\n', None),
    ("default-path", 'probe procfs.read { $value = "a" }\nprobe procfs("command").read { $value = "b" }\n',
     "command"),
    ("umask", 'probe procfs("x").umask(0040).read { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n', "x"),
    ("maxsize", 'probe procfs("x").read.maxsize(100) { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n',
     "x"),
    ("user-alias", 'probe myread = procfs("x").read { }\nprobe myread { $value = "a" }\n'
                   'probe myread { $value = "b" }\n', "x"),
    ("json-data-once", 'probe json_data { $value = "a" }\n', None),
    ("json-data-twice", 'probe json_data { $value = "a" }\nprobe json_data { $value = "b" }\n', "data.json"),
    ("json-data-and-read", 'probe json_data { $value = "a" }\nprobe procfs("data.json").read { $value = "b" }\n',
     "data.json"),
    # json.stp's own metadata.json reader comes after the user's probes
    ("json-metadata", 'probe procfs("metadata.json").read { $value = "b" }\nprobe json_data { $value = "a" }\n',
     "metadata.json"),
    ("prometheus-once", 'probe prometheus { $value = "a" }\n', None),
    ("prometheus-twice", 'probe prometheus { $value = "a" }\nprobe prometheus { $value = "b" }\n', "__prometheus"),
    ("prometheus-and-read", 'probe procfs("__prometheus").read { $value = "b" }\nprobe prometheus { $value = "a" }\n',
     "__prometheus"),
    # elided empty probes never join a group
    ("empty-first", 'probe procfs("x").read { }\nprobe procfs("x").read { $value = "a" }\n', None),
    ("dead-second", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read { x = 1 }\n', None),
    ("json-data-empty", 'probe json_data { }\nprobe json_data { $value = "b" }\n', None),
    # symbol errors end pass 2 before the groups are joined
    ("symbol-error-first", 'probe begin { nosuch1() }\nprobe procfs("x").read { $value = "a" }\n'
                           'probe procfs("x").read { $value = "b" }\n', None),
    ("symbol-error-in-second", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read { nosuch2() }\n',
     None),
    # type errors from constant folding come first, then the join still runs
    ("fold-type-error", 'global x\nprobe procfs("x").read { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n'
                        'probe end { x = 1; x = "s"; println(x) }\n', "x"),
    ("printf-type-error", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n'
                          'probe end { printf("%d\\n", "s") }\n', "x"),
    # ... and later checks never run
    ("foreach-check-after", 'global a\nprobe procfs("x").read { $value = "a" }\n'
                            'probe procfs("x").read { $value = "b" }\n'
                            'probe end { foreach (k in a) { a[k+1] = 1 } }\n', "x"),
]


def stap_errors(script: Path, runtime: str) -> list[StapError]:
    proc = stap_offline("-p2", f"--runtime={runtime}", str(script))
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    errors = parse_stap_errors(proc.stderr, str(script))
    assert (proc.returncode == 0) == (not errors), proc.stderr[-2000:]
    return errors


def tapkit_errors(script: Path, runtime: str) -> list[StapError]:
    """tapkit's errors as stap prints them: each chained part on its own, unlocated ones without a place."""
    target = Target(release=stap_release(), runtime=runtime)
    library = library_for(target, ())
    text = script.read_text()
    parsed = parse(text, str(script), target, library.macros)
    analysis = analyze([ScriptFile(str(script), text, parsed)], library, AnalysisOptions(target))
    out = []
    for d in analysis.errors:
        if d.code in UNLOCATED:
            out.append(StapError("semantic", d.message))
            continue
        out.append(StapError("semantic", d.message, d.span.file, d.span.line, d.span.column))
        out += [StapError("semantic", r.message, r.span.file, r.span.line, r.span.column) for r in d.related]
    return out


@pytest.mark.parametrize(("name", "text", "path"), CASES, ids=[c[0] for c in CASES])
def test_procfs_read_once_like_stap(name: str, text: str, path: str | None, tmp_path: Path) -> None:
    script = tmp_path / f"{name}.stp"
    script.write_text(text)
    theirs = stap_errors(script, "kernel")
    assert (StapError("semantic", READ_TWICE.format(path)) in theirs) == (path is not None)
    assert tapkit_errors(script, "kernel") == theirs


BPF_CASES = [
    ("read-and-write", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").write { println($value) }\n',
     'both read and write procfs probes cannot exist for the same procfs path "x" in the bpf runtime.'),
    ("write-then-read", 'probe procfs("x").write { println($value) }\nprobe procfs("x").read { $value = "a" }\n',
     'both read and write procfs probes cannot exist for the same procfs path "x" in the bpf runtime.'),
    ("read-twice", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n',
     READ_TWICE.format("x")),
    ("write-twice", 'probe procfs("x").write { println($value) }\nprobe procfs("x").write { println($value) }\n',
     None),
]


@pytest.mark.parametrize(("name", "text", "message"), BPF_CASES, ids=[c[0] for c in BPF_CASES])
def test_procfs_groups_in_the_bpf_runtime_like_stap(name: str, text: str, message: str | None,
                                                     tmp_path: Path) -> None:
    script = tmp_path / f"{name}.stp"
    script.write_text(text)
    theirs = stap_errors(script, "bpf")
    assert theirs == ([StapError("semantic", message)] if message else [])
    assert tapkit_errors(script, "bpf") == theirs


ELIDED = [
    ("conflict-then-empty", 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n'
                            'probe begin { }\n'),
    ("empty-then-conflict", 'probe begin { }\nprobe procfs("x").read { $value = "a" }\n'
                            'probe procfs("x").read { $value = "b" }\n'),
]


@pytest.mark.parametrize(("name", "text"), ELIDED, ids=[c[0] for c in ELIDED])
def test_joining_stops_at_the_conflict_like_stap(name: str, text: str, tmp_path: Path) -> None:
    """stap warns about elided probes as it joins the others, so a probe after the conflict goes unmentioned."""
    from tapkit.semantic import CheckOptions, check_script

    script = tmp_path / f"{name}.stp"
    script.write_text(text)
    proc = stap_offline("-p2", str(script))
    theirs = [line.split(": keyword at ")[0] for line in proc.stderr.splitlines() if "has been elided" in line]
    result = check_script(str(script), CheckOptions(release=stap_release()))
    ours = [f"WARNING: {d.message}" for d in result.diagnostics if "has been elided" in d.message]
    assert ours == theirs
    assert [d.message for d in result.diagnostics if d.is_error] == [READ_TWICE.format("x")]


def test_the_error_prints_without_a_place() -> None:
    from tapkit.semantic import CheckOptions, check_text
    from tapkit.semantic.report import format_semantic

    text = 'probe procfs("x").read { $value = "a" }\nprobe procfs("x").read { $value = "b" }\n'
    result = check_text(text, "p.stp", CheckOptions(release=stap_release()))
    errors = [d for d in result.diagnostics if d.is_error]
    assert [format_semantic(d, text.splitlines()) for d in errors] == [f"semantic error: {READ_TWICE.format('x')}\n\n"]
