from __future__ import annotations

from pathlib import Path

import pytest

from tests.tooling import build_openafs_ko


@pytest.fixture(scope="session")
def openafs_ko() -> Path:
    """The real openafs.ko with DWARF 5; tests using it must be marked slow."""
    return build_openafs_ko()
