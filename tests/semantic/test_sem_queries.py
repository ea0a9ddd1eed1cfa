"""The editor's questions (tapkit.semantic.queries) over analyze_text(..., editor=True)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.diagnostics import Span
from tapkit.semantic import Analysis, CheckOptions, analyze_text
from tapkit.semantic import queries as Q
from tests.tooling import compile_c, stap_release

SCRIPT = """\
global counts
function bump(n) { counts[n] <<< 1; return n + 1 }
probe timer.ms(10) {
  x = bump(pid())
  printf("%d\\n", x)
}
probe end { foreach (k in counts) print(@count(counts[k])) }
"""


@pytest.fixture(scope="module")
def options() -> CheckOptions:
    return CheckOptions(release=stap_release())


@pytest.fixture(scope="module")
def analysis(options: CheckOptions) -> Analysis:
    a = analyze_text(SCRIPT, "q.stp", options, editor=True)
    assert a.model is not None
    return a


def spans(refs: list[Span]) -> list[tuple[int, int]]:
    return [(r.line, r.column) for r in refs]


def test_local_definition_and_references(analysis: Analysis) -> None:
    sym = Q.symbol_at(analysis, "q.stp", 5, 18)
    assert sym is not None and (sym.kind, sym.name, sym.type) == ("local", "x", "long")
    assert sym.definition is not None and (sym.definition.line, sym.definition.column) == (4, 3)
    assert spans(Q.references(analysis, sym)) == [(4, 3), (5, 18)]
    assert spans(Q.references(analysis, sym, include_definition=False)) == [(5, 18)]


def test_global_array_of_statistics(analysis: Analysis) -> None:
    sym = Q.symbol_at(analysis, "q.stp", 7, 27)
    assert sym is not None and sym.kind == "global" and sym.name == "counts"
    assert (sym.type, sym.index_types) == ("stats", ("long",))
    assert spans(Q.references(analysis, sym)) == [(1, 8), (2, 20), (7, 27), (7, 48)]


def test_parameters_and_functions(analysis: Analysis) -> None:
    param = Q.symbol_at(analysis, "q.stp", 2, 44)
    assert param is not None and (param.kind, param.name, param.type) == ("param", "n", "long")
    assert spans(Q.references(analysis, param)) == [(2, 15), (2, 27), (2, 44)]
    fn = Q.symbol_at(analysis, "q.stp", 4, 7)
    assert fn is not None and fn.kind == "function" and fn.detail == "bump:long(n:long)"
    assert spans(Q.references(analysis, fn)) == [(2, 10), (4, 7)]


def test_library_function_has_its_documentation(analysis: Analysis) -> None:
    fn = Q.symbol_at(analysis, "q.stp", 4, 12)
    assert fn is not None and fn.name == "pid" and fn.library
    assert fn.definition is not None and fn.definition.file.endswith("/context.stp")
    assert "Returns the ID of a target process" in fn.doc


def test_types_of_expressions(analysis: Analysis) -> None:
    t = Q.type_at(analysis, "q.stp", 4, 7)
    assert t is not None and t.type == "long"


def test_visible_names(analysis: Analysis) -> None:
    names = Q.visible_names(analysis, "q.stp", 5, 3)
    kinds = {(s.kind, s.name) for s in names}
    assert {("local", "x"), ("global", "counts"), ("function", "bump"), ("function", "pid"),
            ("function", "execname")} <= kinds
    assert ("param", "n") not in kinds  # bump's parameter is not visible in the probe
    assert any(k == "macro" for k, _ in kinds)  # the library's @defines
    in_function = {(s.kind, s.name) for s in Q.visible_names(analysis, "q.stp", 2, 40)}
    assert ("param", "n") in in_function and ("local", "x") not in in_function


def test_probe_context_and_scope(analysis: Analysis) -> None:
    scope = Q.scope_at(analysis, "q.stp", 4, 3)
    assert scope is not None and scope.kind == "probe" and scope.name == "timer.ms(10)"
    ctx = Q.probe_context_at(analysis, "q.stp", 4, 3)
    assert ctx is not None and ctx.family == "timer" and ctx.function is None


def test_unresolvable_probe_bodies_are_still_understood(options: CheckOptions) -> None:
    text = 'probe kernel.function("vfs_read") {\n  y = 1\n  print(y)\n}\n'
    a = analyze_text(text, "u.stp", options, editor=True)
    sym = Q.symbol_at(a, "u.stp", 3, 9)
    assert sym is not None and sym.name == "y" and sym.type == "long"


NESTED = """\
struct inner { long a; long b; };
struct outer { int tag; struct inner in; struct outer *next; };
long look(struct outer *o) { return o->in.a + o->tag; }
int main(void) { struct outer o = {1, {2, 3}, 0}; return (int)look(&o); }
"""


@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("nested")
    (d / "nested.c").write_text(NESTED)
    return compile_c(d / "nested.c", d / "nested", "-O0")


def test_target_types_along_a_member_chain(nested: Path, options: CheckOptions) -> None:
    line = '  print($o->next->in->a)'
    text = f'probe process("{nested}").function("look") {{\n{line}\n  v = $o\n  print(v->tag)\n}}\n'
    a = analyze_text(text, "t.stp", options, editor=True)
    col = line.index

    def at(column: int, row: int = 2) -> tuple[str, list[str]]:
        t = Q.target_type_at(a, "t.stp", row, column)
        assert t is not None
        return t.spelled(), t.members()

    assert at(col("$o") + 1) == ("struct outer *", ["tag", "in", "next"])
    assert at(col("->next") + 3) == ("struct outer *", ["tag", "in", "next"])  # what has `next`
    assert at(col("->in") + 3) == ("struct outer *", ["tag", "in", "next"])
    assert at(col("->a") + 3) == ("struct inner", ["a", "b"])
    assert at(3, row=3) == ("struct outer *", ["tag", "in", "next"])  # the typed local v
    assert at(9, row=4) == ("struct outer *", ["tag", "in", "next"])  # v->tag


HALF_TYPED = """\
global a[10], s
function f:long(p:long) { return @cast(p, "task_struct", "kernel")->pid }
probe timer.ms(10), kernel.function("vfs_read") ? {
  a = 1
  s <<< f(pid())
  printf("%d %s\\n", @count(s), $file->f_path)
}
"""


@pytest.mark.parametrize("cut", range(0, len(HALF_TYPED) + 1, 9))
def test_half_typed_text_never_breaks_the_editor(cut: int, options: CheckOptions) -> None:
    for junk in ("", "->", "$", "@cast(", "{", "x["):
        text = HALF_TYPED[:cut] + junk + HALF_TYPED[cut:]
        a = analyze_text(text, "h.stp", options, editor=True)
        lines = text.splitlines() or [""]
        for line in range(1, len(lines) + 1):
            column = min(len(lines[line - 1]) + 1, 1 + cut % 17)
            Q.symbol_at(a, "h.stp", line, column)
            Q.type_at(a, "h.stp", line, column)
            Q.target_type_at(a, "h.stp", line, column)
            Q.probe_context_at(a, "h.stp", line, column)
        Q.visible_names(a, "h.stp", 1, 1)
        analyze_text(text, "h.stp", options)  # and the checker
