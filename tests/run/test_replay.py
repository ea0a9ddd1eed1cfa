"""Replay fixtures: recorded probe hits over objects laid out with real debuginfo layouts.

The seed's lock-leak check fires on a fixture with a leaked lock and stays silent on a clean one,
PrintDcache prints the fixture's values, and the fault injection rewrites $return -- all against
the real openafs.ko (slow). A small gcc -g program covers process probes, bitfields, char arrays,
strings and inline objects quickly; bad fixtures get errors that say where.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tapkit.runtime.runner import RunRequest, run_script
from tests.tooling import compile_c, fixture_cache

HERE = Path(__file__).resolve().parent / "replay"
ROOT = Path(__file__).resolve().parents[2]
OPENAFS_TAPSETS = str(ROOT / "tapsets" / "openafs")


def replay(script: str, fixture: Path | str, *, debuginfo: tuple[str, ...] = (), args: tuple[str, ...] = (),
           guru: bool = False, include: tuple[str, ...] = ()) -> tuple[str, str, int]:
    out, err = io.BytesIO(), io.StringIO()
    path = str(HERE / script) if "/" not in script else script
    rc = run_script(RunRequest(path=path, replay=str(fixture), debuginfo=debuginfo, args=args,
                               guru=guru, include_dirs=include, out=out, err=err, handle_signals=False))
    return out.getvalue().decode("latin-1"), err.getvalue(), rc


@pytest.fixture(scope="module")
def shapes() -> Path:
    return compile_c(HERE / "shapes.c", fixture_cache() / "run" / "shapes", "-O0")


def test_process_probe_replay_reads_members_bitfields_and_strings(shapes: Path) -> None:
    out, err, rc = replay("shapes.stp", HERE / "shapes.yaml", args=(str(shapes),))
    assert (out, err, rc) == ((HERE / "shapes.out").read_text(), "", 0)


def test_memory_dumps_and_guru_writes_through_the_fixture(shapes: Path, tmp_path: Path) -> None:
    script = tmp_path / "m.stp"
    script.write_text('probe process(@1).function("area") {\n'
                      '  printf("[%.3m][%6.2M][%s]\\n", $s->name, $s->name, user_string($s->label))\n'
                      '  $s->depth = 7\n'
                      '  $scale = 5\n'
                      '  printf("%d %d\\n", $s->depth, $scale)\n}\n')
    fixture = _fixture(tmp_path, 'objects:\n  sq: {type: shape, fields: {name: "ABCD", label: "x"}}\n'
                                 'hits:\n  - probe: process("*").function("area")\n    vars: {s: "&sq", scale: 2}\n')
    out, err, rc = replay(str(script), fixture, args=(str(shapes),), guru=True)
    assert (out, err, rc) == ("[ABC][  4142][x]\n7 5\n", "", 0)


def _fixture(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    return path


def test_unknown_member_is_named_with_suggestions(shapes: Path, tmp_path: Path) -> None:
    f = _fixture(tmp_path, "objects:\n  sq: {type: shape, fields: {corner: {x: 1}, vissible: 1}}\nhits: []\n")
    out, err, rc = replay("shapes.stp", f, args=(str(shapes),))
    assert rc == 1 and out == ""
    assert "objects.sq.vissible:" in err and "no member of struct shape named 'vissible'" in err
    assert "did you mean 'visible'" in err


def test_unknown_probe_lists_the_scripts_probes(shapes: Path, tmp_path: Path) -> None:
    f = _fixture(tmp_path, 'hits:\n  - probe: process("*").function("nope")\n')
    _out, err, rc = replay("shapes.stp", f, args=(str(shapes),))
    assert rc == 1
    assert "hits[0]: the script has no probe 'process(\"*\").function(\"nope\")'" in err
    assert 'function("area' in err


def test_dangling_reference_is_reported(shapes: Path, tmp_path: Path) -> None:
    f = _fixture(tmp_path, 'objects:\n  sq: {type: shape, fields: {next_corner: "&missing"}}\nhits: []\n')
    _out, err, rc = replay("shapes.stp", f, args=(str(shapes),))
    assert rc == 1 and "no object named 'missing'" in err


def test_missing_variable_value_is_a_probe_error(shapes: Path, tmp_path: Path) -> None:
    f = _fixture(tmp_path, 'hits:\n  - probe: process("*").function("area")\n    vars: {scale: 1}\n')
    _out, err, rc = replay("shapes.stp", f, args=(str(shapes),))
    assert rc == 1
    assert "the hit gives no value for $s" in err


def test_overlapping_addresses_are_refused(shapes: Path, tmp_path: Path) -> None:
    f = _fixture(tmp_path, "objects:\n  a: {type: point, address: 0x1000}\n  b: {type: point, address: 0x1004}\n"
                           "hits: []\n")
    _out, err, rc = replay("shapes.stp", f, args=(str(shapes),))
    assert rc == 1 and "overlaps another object" in err


# ---- the seed's scripts over the real openafs.ko ----

def _openafs(ko: Path) -> tuple[str, ...]:
    return (f"openafs={ko}",)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["read_lock_leaked", "write_tlock_leaked", "clean"])
def test_seed_lock_leak_check(openafs_ko: Path, fixture: str) -> None:
    out, err, rc = replay("seed_lockleak.stp", HERE / f"{fixture}.yaml", debuginfo=_openafs(openafs_ko),
                          include=(OPENAFS_TAPSETS,))
    assert (out, err, rc) == ((HERE / f"{fixture}.out").read_text(), "", 0)
    assert ("ALERT::Lock Leak Detected" in out) == (fixture != "clean")


@pytest.mark.slow
def test_seed_printdcache_prints_the_fixture(openafs_ko: Path) -> None:
    out, err, rc = replay("seed_printdcache.stp", HERE / "printdcache.yaml", debuginfo=_openafs(openafs_ko),
                          include=(OPENAFS_TAPSETS,))
    assert (out, err, rc) == ((HERE / "printdcache.out").read_text(), "", 0)


@pytest.mark.slow
def test_seed_fault_injection_needs_guru_mode(openafs_ko: Path) -> None:
    out, err, rc = replay("seed_fault_injection.stp", HERE / "fault_injection.yaml", debuginfo=_openafs(openafs_ko),
                          guru=True)
    assert (out, err, rc) == ((HERE / "fault_injection.out").read_text(), "", 0)
    out, err, rc = replay("seed_fault_injection.stp", HERE / "fault_injection.yaml", debuginfo=_openafs(openafs_ko))
    assert rc == 1 and out == ""
    assert "write to target variable not permitted; need stap -g" in err
