from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtime.c_oracle import COracle


@pytest.fixture(scope="session")
def c_oracle() -> Iterator[COracle]:
    """stap's runtime C (arith, stat, text_str) without any printf cases."""
    oracle = COracle()
    yield oracle
    oracle.close()
