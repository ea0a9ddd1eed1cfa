"""Type inference to a fixed point over the whole program, and stap's type errors (wording, position).

Every expectation was read off `stap -r 6.1.0-56-amd64 -p2` on the same text.
"""

from __future__ import annotations

import pytest

from tapkit.semantic import CheckOptions, check_text
from tests.tooling import stap_release


@pytest.fixture(scope="module")
def options() -> CheckOptions:
    return CheckOptions(release=stap_release())


# (text, stap's first error or "" when it accepts, line, column)
CASES = [
    ('global a; probe begin { a["x", 1] = "s"; print(a["y", 2]) }',
     '', None, None),
    ('function f(x) { return g(x) } function g(y) { return y . "!" } probe begin { print(f("a")) }',
     '', None, None),
    ('function fact(n) { return n <= 1 ? 1 : n * fact(n - 1) } probe begin { print(fact(5)) }',
     '', None, None),
    ('global s; probe begin { s <<< 1; print(s + 1) }',
     'type mismatch (long)', 1, 40),
    ('global s; probe begin { s <<< "x" }',
     'type mismatch: expected long but found string', 1, 31),
    ('probe begin { x = "a"; x += 1 }',
     'type mismatch (long)', 1, 24),
    ('global a; probe begin { a[1] = 1; foreach ([k, v] in a) print(k) }',
     'inconsistent arity (1 vs 2)', 1, 54),
    ('global a; probe begin { a[1] = 1; foreach (k in a limit "x") print(k) }',
     'type mismatch: expected long but found string', 1, 57),
    ('probe begin { print(1 . "a") }',
     'type mismatch: expected string but found long', 1, 21),
    ('probe begin { x = 1; delete x; print(x) }',
     '', None, None),
    ('function f:string() { return 1 } probe begin { print(f()) }',
     'type mismatch: expected long but found string', 1, 30),
    ('function f:long(x:string) { return strlen(x) } probe begin { print(f(1)) }',
     'type mismatch: expected long but found string', 1, 70),
    ('probe begin { return 1 }',
     "found 'return' not in function context", None, None),
    ('probe begin { next; }',
     '', None, None),
    ('function f() { next } probe begin { f() }',
     'no probes found', None, None),
    ('probe begin { break }',
     '', None, None),
    ('global a; probe begin { a[1] = 1; print(a) }',
     'inconsistent arity (1 vs 0)', 1, 41),
    ('global s; probe begin { s <<< 1; print(@avg(s)); print(@variance(s, 2)) }',
     '', None, None),
    ('global s; probe begin { s <<< 1; print(@hist_linear(s, 0, 10)) }',
     "expected ','", None, None),
    ('global s; probe begin { s <<< 1; print(@hist_linear(s, 0, 10, 1)[3]) }',
     '', None, None),
    ('probe begin { x = @1 }',
     'command line argument out of range [1-0]', None, None),
    ('probe begin { printf("%d %s %s\\n", 1, "a") }',
     'Wrong number of args to formatted print operator', 1, 15),
    ('probe begin { printf("%d\\n", "a") }',
     'type mismatch: expected long but found string', 1, 30),
    ('probe begin { print(sprintf("%s", 1)) }',
     'type mismatch: expected string but found long', 1, 35),
    ('probe begin { x[1] = 2; print(x[1]) }',
     'unresolved arity-1 global array x, missing global declaration?', 1, 15),
    ('global a; probe begin { a = 1; a[1] = 2 }',
     'inconsistent arity (0 vs 1)', 1, 32),
    ('probe begin { print(strlen(1)) }',
     'type mismatch: expected long but found string', 1, 28),
    ('probe begin { print(substr("abc", "1", 1)) }',
     'type mismatch: expected string but found long', 1, 35),
    ('probe begin { try { error("x") } catch (e) { print(e + 1) } }',
     'type mismatch (long)', 1, 52),
    ('global g; probe begin { g = 1 } probe end { g = "s" }',
     'type mismatch (string)', 1, 45),
]


@pytest.mark.parametrize(("text", "message", "line", "column"), CASES)
def test_first_error_like_stap(text: str, message: str, line: int | None, column: int | None,
                               options: CheckOptions) -> None:
    result = check_text(text, "t.stp", options)
    errors = [d for d in result.diagnostics if d.is_error]
    if not message:
        assert result.ok, errors
        return
    assert errors and errors[0].message == message
    if line is not None:
        assert (errors[0].span.line, errors[0].span.column) == (line, column)


def test_array_key_and_value_types(options: CheckOptions) -> None:
    result = check_text('global a, s; probe begin { a["x", 1] = "v"; s[1] <<< 2; print(a["y", 2], @sum(s[1])) }',
                        "t.stp", options)
    assert result.ok and result.analysis is not None
    types = {g.name: (g.type, tuple(g.index_types)) for g in result.analysis.globals}
    assert types == {"a": ("string", ("string", "long")), "s": ("stats", ("long",))}


def test_types_flow_through_calls_to_a_fixed_point(options: CheckOptions) -> None:
    text = ('function f(x) { return g(x) } function g(y) { return y . "!" } '
            'function fact(n) { return n <= 1 ? 1 : n * fact(n - 1) } probe begin { print(f("a"), fact(3)) }')
    result = check_text(text, "t.stp", options)
    assert result.ok and result.analysis is not None
    sigs = {fd.name: (fd.type, [p.type for p in fd.params]) for fd in result.analysis.functions.values()}
    assert sigs["f"] == ("string", ["string"])
    assert sigs["g"] == ("string", ["string"])
    assert sigs["fact"] == ("long", ["long"])
