from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.tooling import compile_c, fixture_cache, require_tool

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def shapes() -> Path:
    """gcc -g -O0 build of fixtures/shapes.c (a user-space program: @cast reads through its path)."""
    return compile_c(FIXTURES / "shapes.c", fixture_cache() / "gen" / "shapes", "-O0")


@pytest.fixture(scope="session")
def copies() -> Path:
    """Two compile units with different static `scale` functions (-O2), for @defined guards."""
    gcc = require_tool("gcc")
    out = fixture_cache() / "gen" / "copies"
    sources = [FIXTURES / "copies_a.c", FIXTURES / "copies_b.c"]
    if not out.exists() or out.stat().st_mtime < max(s.stat().st_mtime for s in sources):
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([gcc, "-g", "-O2", "-o", str(out), *map(str, sources)], check=True)
    return out
