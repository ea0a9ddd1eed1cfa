"""stap's "(similar: …)" lists: its weighted edit distance and tie order, checked against lists stap 4.8 printed."""

from __future__ import annotations

import pytest

from tapkit.semantic.suggest import distance, levenshtein_suggest

TIMER = ["hz", "jiffies", "ms", "msec", "ns", "nsec", "profile", "s", "sec", "us", "usec"]


@pytest.mark.parametrize(("target", "expected"), [
    ("mss", "ms, s, ns, us, msec"),
    ("hx", "hz, s, ms, ns, us"),
    ("S", "s, ms, ns, us, hz"),
])
def test_timer_suggestions_as_stap_prints_them(target: str, expected: str) -> None:
    assert levenshtein_suggest(target, TIMER, 5) == expected


def test_distance_weights() -> None:
    assert distance("abc", "abc") == 0
    assert distance("bc", "abc") == 1  # a missing first character: the matrix edge costs 1
    assert distance("ab", "abc") == 2  # elsewhere an insertion costs 2
    assert distance("abc", "aXc") == 2  # a substitution costs 2
    assert distance("abc", "aBc") == 1  # a change of case only 1
    assert distance("axc", "ac") == 2  # a deletion inside costs 2


def test_threshold_and_limit() -> None:
    assert levenshtein_suggest("abc", ["abd", "xyz", "abc"], 5, threshold=2) == "abc, abd"
    assert levenshtein_suggest("a", [f"a{i}" for i in range(10)], 3) == "a0, a1, a2"
    assert levenshtein_suggest("", ["x"], 5) == "x"


@pytest.mark.parametrize(("text", "first"), [
    # the script's own print_total is suggested by stap only once something has called it
    ('function print_total (n:long) { printf("%d\\n", n) }\nprobe begin { print_totl(3) }\n'
     "probe end { print_total(1) }\n", "print_regs"),
    ('function print_total (n:long) { printf("%d\\n", n) }\nprobe begin { print_total(1); print_totl(3) }\n',
     "print_total"),
])
def test_unresolved_functions_suggest_what_stap_suggests(text: str, first: str) -> None:
    from tapkit.semantic import CheckOptions, check_text
    from tests.tooling import stap_release

    result = check_text(text, "f.stp", CheckOptions(release=stap_release()))
    error = next(d for d in result.diagnostics if d.is_error)
    assert error.message.startswith(f"unresolved function print_totl (similar: {first}, ")
    assert error.fixes[0].title == "Change to 'print_total'"  # the editor offers the script's function either way
