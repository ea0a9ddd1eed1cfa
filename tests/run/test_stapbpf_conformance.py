"""The conformance suite under Debian's `stap --runtime=bpf` too, where stapbpf can run the script here.

A case stapbpf cannot compile (no try/catch, no histograms, strings cut at 64 bytes, … see man
stapbpf) is not compared. A case it runs must match the expected output byte for byte (or have the
same lines in another order: unsorted foreach order is unspecified, and BPF's hash order varies from
run to run), or be listed
in stapbpf_differences.py with the judgement why; a listed bug that starts to match fails too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.run.conformance_cases import Case, all_cases
from tests.run.stapbpf_differences import BUG, DIFFERENCES
from tests.runtime.stapbpf import compile_bpf, shim_path, stapbpf_status
from tests.tooling import missing

pytestmark = pytest.mark.slow

CASES = [c for c in all_cases() if not c.options and not c.args]
TIMEOUT = 5.0


@pytest.fixture(scope="module", autouse=True)
def _stapbpf_runs() -> None:
    reason = stapbpf_status()
    if reason is not None:
        missing(f"stapbpf on this machine ({reason})")


def run_bpf(case: Case) -> tuple[bytes, int] | None:
    """stdout and exit status under stapbpf; None if stap cannot compile it for BPF; (b"<hang>", -1) on a hang."""
    try:
        obj = compile_bpf(case.path.read_text())
    except RuntimeError:
        return None
    stapbpf = shutil.which("stapbpf")
    assert stapbpf is not None
    env = dict(os.environ, LD_PRELOAD=str(shim_path()))
    try:
        proc = subprocess.run([stapbpf, str(obj)], capture_output=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return b"<hang>", -1
    out = re.sub(rb"Error loading \S+: No such file or directory\n?$", b"", proc.stdout)
    return out, proc.returncode


def test_differences_name_real_cases() -> None:
    ids = {c.id for c in CASES}
    assert set(DIFFERENCES) <= ids


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_stapbpf_agrees_or_the_difference_is_listed(case: Case) -> None:
    result = run_bpf(case)
    if result is None:
        assert case.id not in DIFFERENCES, "stapbpf no longer compiles a listed case"
        pytest.skip("stapbpf cannot compile this script (see man stapbpf)")
    out, rc = result
    agrees = out == case.out and (rc == 0) == (case.rc == 0)
    if not agrees and sorted(out.splitlines()) == sorted(case.out.splitlines()) and (rc == 0) == (case.rc == 0):
        return  # the same lines in another order: an unsorted foreach walks BPF hash order (unspecified)
    if case.id in DIFFERENCES:
        kind, _why = DIFFERENCES[case.id]
        if kind == BUG:  # an unspecified order may happen to match on some runs
            assert not agrees, f"stapbpf now agrees: drop {case.id} from stapbpf_differences.py"
    else:
        assert agrees, f"stapbpf printed {out!r} (exit {rc}); expected {case.out!r} (exit {case.rc})"
