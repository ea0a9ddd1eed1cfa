"""Every conformance script under tests/run/conformance runs with tapkit's builtin engine and prints exactly
what stap's documentation says it prints (see conformance_cases.py for the layout)."""

from __future__ import annotations

import io
import os

import pytest

from tapkit.runtime.runner import RunRequest, run_script
from tests.run.conformance_cases import Case, all_cases

CASES = all_cases()


def run_case(case: Case) -> tuple[bytes, str, int]:
    defines: dict[str, str] = {}
    globals_: dict[str, str] = {}
    target: int | None = None
    for opt in case.options:
        flag, _, value = opt.partition(" ")
        name, _, val = value.partition("=")
        if flag == "-D":
            defines[name] = val
        elif flag == "-G":
            globals_[name] = val
        elif flag == "-x":
            target = int(value)
        else:
            raise AssertionError(f"{case.id}: unknown option {opt!r}")
    out, err = io.BytesIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(case.path.parent)
    try:
        rc = run_script(RunRequest(path=case.path.name, args=case.args, defines=defines, globals=globals_,
                                   target_pid=target, out=out, err=err, handle_signals=False))
    finally:
        os.chdir(cwd)
    return out.getvalue(), err.getvalue(), rc


def test_suite_is_big_enough() -> None:
    assert len(CASES) >= 300


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_conformance(case: Case) -> None:
    out, err, rc = run_case(case)
    assert out.decode("latin-1") == case.out.decode("latin-1")
    assert err == case.err
    assert rc == case.rc
