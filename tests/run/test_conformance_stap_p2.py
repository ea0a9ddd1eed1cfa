"""Every conformance script is a script SystemTap 4.8 itself accepts: `stap -p2` passes it without a
warning (beyond the host's missing kernel symbol table), with the same -D/-G options and arguments."""

from __future__ import annotations

import subprocess

import pytest

from tests.run.conformance_cases import Case, all_cases
from tests.tooling import require_tool, stap_release

pytestmark = pytest.mark.slow

CASES = all_cases()
HOST_NOISE = ("Kernel function symbol table missing", "README.Debian")
PARSE_FAILURES = {c.id for c in CASES if "Pass 1: parse failed" in c.err}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_stap_accepts_the_script(case: Case) -> None:
    stap = require_tool("stap")
    options = [part for opt in case.options if not opt.startswith("-x") for part in opt.split(" ", 1)]
    args = ["--", *case.args] if case.args else []
    proc = subprocess.run([stap, "-r", stap_release(), "-p2", *options, case.path.name, *args],
                          cwd=case.path.parent, capture_output=True, text=True, timeout=120)
    problems = [line for line in proc.stderr.splitlines() if line and not any(n in line for n in HOST_NOISE)]
    if case.id in PARSE_FAILURES:
        assert proc.returncode != 0
        return
    assert proc.returncode == 0 and not problems, "\n".join(problems)
