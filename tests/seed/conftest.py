"""The seed's case studies: examples/seed/afsim built with gcc -g -O0 where the scripts expect it (./afsim)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.tooling import REPO, fixture_cache, require_tool

SEED = REPO / "examples" / "seed"
TAPKIT = [sys.executable, "-m", "tapkit.cli"]


@pytest.fixture(scope="session")
def afsim_dir() -> Path:
    """A directory holding ./afsim (rebuilt when afsim.c changes): the cwd the seed scripts run in."""
    gcc = require_tool("gcc")
    out = fixture_cache() / "seed" / "afsim"
    src = SEED / "afsim.c"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([gcc, "-g", "-O0", "-o", str(out), str(src)], check=True)
    return out.parent


def tapkit(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TAPKIT, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          stdin=subprocess.DEVNULL)
