"""Property: whatever the input, the parser returns a tree and diagnostics, never an exception."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.syntax.fuzzing import FRAGMENTS, check


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=50), st.lists(st.sampled_from(" \n\t"), max_size=50),
       st.booleans())
def test_fragment_soup_never_breaks_the_parser(words: list[str], spaces: list[str], library: bool) -> None:
    text = "".join(w + (spaces[i] if i < len(spaces) else " ") for i, w in enumerate(words))
    check(text, library=library)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_breaks_the_parser(text: str) -> None:
    check(text)


@settings(max_examples=100, deadline=None)
@given(st.randoms(use_true_random=False))
def test_generated_sources_never_break_the_parser(rng: random.Random) -> None:
    from tests.syntax.fuzzing import random_source

    check(random_source(rng), library=True)
