"""Pass 1 on small inputs: tree shapes, precedence, stap's messages and positions, recovery."""

from __future__ import annotations

import pytest

from tapkit.syntax import ast as A
from tapkit.syntax.parser import ParseFailed, parse
from tapkit.target import Target

T = Target(release="6.1.0-56-amd64", arch="x86_64")


def one_expr(src: str) -> A.Node:
    r = parse(f"probe begin {{ {src} }}", "t.stp", T)
    assert r.ok, r.diagnostics
    probe = r.file.items[0]
    assert isinstance(probe, A.ProbeDecl)
    stmt = probe.body.statements[0]
    assert isinstance(stmt, A.ExprStatement)
    return stmt.expr


def errors(src: str, **kw: object) -> list[tuple[int, int, str]]:
    r = parse(src, "t.stp", T, **kw)  # type: ignore[arg-type]
    return [(d.span.line, d.span.column, d.message) for d in r.diagnostics if d.is_error]


def test_precedence_follows_stap() -> None:
    e = one_expr("x = a || b && c | d ^ e & f == g << h . i + j * -k")
    assert isinstance(e, A.Assignment)
    v = e.value
    assert isinstance(v, A.Binary) and v.op == "||"
    assert isinstance(v.right, A.Binary) and v.right.op == "&&"
    inner = v.right.right
    assert isinstance(inner, A.Binary) and inner.op == "|"
    assert isinstance(inner.right, A.Binary) and inner.right.op == "^"
    band = inner.right.right
    assert isinstance(band, A.Binary) and band.op == "&"
    cmp_ = band.right
    assert isinstance(cmp_, A.Binary) and cmp_.op == "=="
    shift = cmp_.right
    assert isinstance(shift, A.Binary) and shift.op == "<<"
    concat = shift.right
    assert isinstance(concat, A.Binary) and concat.op == "."
    add = concat.right
    assert isinstance(add, A.Binary) and add.op == "+"
    mul = add.right
    assert isinstance(mul, A.Binary) and mul.op == "*" and isinstance(mul.right, A.Unary)


def test_ternary_is_right_associative_and_assignment_binds_loosest() -> None:
    e = one_expr("q = 1 ? 2 : 3 ? 4 : 5")
    assert isinstance(e, A.Assignment) and isinstance(e.value, A.Ternary)
    assert isinstance(e.value.else_, A.Ternary)


def test_unary_binds_tighter_than_in() -> None:
    e = one_expr("s = !a in b")
    assert isinstance(e, A.Assignment) and isinstance(e.value, A.InArray)
    assert isinstance(e.value.keys[0], A.Unary)


def test_bracketed_keys_membership_and_single_bracket_is_grouping() -> None:
    e = one_expr("x = [a, *] in arr")
    assert isinstance(e, A.Assignment) and isinstance(e.value, A.InArray)
    assert e.value.bracketed and isinstance(e.value.keys[1], A.Wildcard)
    g = one_expr("x = [a]")
    assert isinstance(g, A.Assignment) and isinstance(g.value, A.Var)
    assert errors("probe begin { x = [a, b] }")[0][2] == "unexpected comma-separated expression list"


def test_target_symbols_components_and_pretty_printing() -> None:
    e = one_expr("y = &$x->a[3]")
    assert isinstance(e, A.Assignment)
    t = e.value
    assert isinstance(t, A.TargetVar) and t.addressof and t.name == "$x"
    assert [type(c).__name__ for c in t.components] == ["TargetMember", "TargetIndex"]
    p = one_expr("z = $x$$")
    assert isinstance(p, A.Assignment) and isinstance(p.value, A.TargetVar)
    assert p.value.name == "$x" and isinstance(p.value.components[0], A.TargetPretty)
    auto = one_expr("w = a[1][2]->foo $")
    assert isinstance(auto, A.Assignment) and isinstance(auto.value, A.Autocast)
    assert isinstance(auto.value.operand, A.ArrayIndex)
    cast = one_expr('c = &@cast(p, "task_struct", "kernel<linux/sched.h>")->pid')
    assert isinstance(cast, A.Assignment) and isinstance(cast.value, A.CastOp)
    assert cast.value.module == "kernel<linux/sched.h>" and cast.value.addressof
    assert "pretty-printing" in errors("probe begin { x = $x$->y }")[0][2]


def test_statistics_and_print_forms() -> None:
    e = one_expr("x = @hist_linear(s, 0, 100, 10)[3]")
    assert isinstance(e, A.Assignment) and isinstance(e.value, A.ArrayIndex)
    assert isinstance(e.value.base, A.HistOp) and e.value.base.params == (0, 100, 10)
    p = one_expr("print(@hist_log(s))")
    assert isinstance(p, A.PrintCall) and p.hist is not None and p.hist.kind == "log"
    v = one_expr("x = @variance(s, 3)")
    assert isinstance(v, A.Assignment) and isinstance(v.value, A.StatOp) and v.value.params == (3,)
    assert errors("probe begin { print() }")[0][2] == "expected literal string or number"
    assert errors("probe begin { printf(fmt, 1) }")[0][2] == "expected literal string"
    assert errors("probe begin { x = @count(s, 3) }")[0][2] == "not more than 1 parameter allowed"
    # stap skips anything between a statistic's operand and its ')'
    assert parse("probe begin { x = @count(s junk more) }", "t.stp", T).ok


def test_foreach_with_value_keys_sort_slice_limit() -> None:
    r = parse("probe begin { foreach (v = [a, b+] in arr[*, 1] @sum- limit 5) next }", "t.stp", T)
    assert not r.ok  # stap: sorting on the key and the aggregate at once is "multiple sort directives"
    r = parse("probe begin { foreach (v- = [a, b] in arr[*, 1] limit 5) next }", "t.stp", T)
    assert r.ok
    probe = r.file.items[0]
    assert isinstance(probe, A.ProbeDecl)
    loop = probe.body.statements[0]
    assert isinstance(loop, A.ForeachLoop)
    assert loop.value is not None and loop.value.name == "v"
    assert [k.name for k in loop.keys] == ["a", "b"] and loop.keys_bracketed
    assert (loop.sort_direction, loop.sort_column) == (-1, 0)
    assert loop.slice is not None and isinstance(loop.slice[0], A.Wildcard)
    assert isinstance(loop.limit, A.NumberLiteral)


def test_probe_points_aliases_and_flags() -> None:
    src = """probe kernel.function("a").return ?, sys*call**.x(-1) ! if (x > 1), {a, b}.c {}
probe my.alias = kernel.function("f") { x = 1 }, { y = 2 }
probe my.other += begin {}
"""
    r = parse(src, "t.stp", T)
    assert r.ok, r.diagnostics
    probe, alias, epi = r.file.items
    assert isinstance(probe, A.ProbeDecl) and isinstance(alias, A.AliasDecl) and isinstance(epi, A.AliasDecl)
    first, second, third = probe.points
    assert [c.name for c in first.components if isinstance(c, A.Component)] == ["kernel", "function", "return"]
    assert first.optional and not first.sufficient
    assert isinstance(second.components[0], A.Component) and second.components[0].name == "sys*call**"
    assert second.sufficient and second.condition is not None
    assert isinstance(third.components[0], A.ComponentGroup)
    assert alias.body2 is not None and not alias.epilogue and epi.epilogue
    # pieces of a component name must touch: `sys *call` is two things
    assert errors("probe sys *call {}")


def test_functions_globals_privates_and_embedded_code() -> None:
    src = """global a[100], w%[50], x = 5, s = "a" "b"
private p
private global q
function f:long(a:long, b:string) { return a }
private function g() %{ /* pure */ /* unprivileged */ STAP_RETURN(1); %}
%{ #include <linux/sched.h> %}
"""
    r = parse(src, "lib.stp", T, library=True)
    assert r.ok, r.diagnostics
    g1, p, q, f, g, top = r.file.items
    assert isinstance(g1, A.GlobalDecl)
    assert [(v.name, v.size, v.wrap) for v in g1.vars] == [("a", 100, False), ("w", 50, True), ("x", None, False),
                                                            ("s", None, False)]
    assert isinstance(g1.vars[3].init, A.StringLiteral) and g1.vars[3].init.value == "ab"
    assert isinstance(p, A.GlobalDecl) and p.private and isinstance(q, A.GlobalDecl) and q.private
    assert isinstance(f, A.FunctionDecl) and f.return_type == "long"
    assert [(x.name, x.type) for x in f.params] == [("a", "long"), ("b", "string")]
    assert (f.params[0].name_span.column, f.params[0].name_span.end_column, f.params[0].span.end_column) == (17, 18, 23)
    assert (f.name_span.line, f.name_span.column) == (4, 10)
    assert isinstance(g, A.FunctionDecl) and g.private and isinstance(g.body, A.EmbeddedCode)
    assert g.body.pragmas == ("pure", "unprivileged")
    assert isinstance(top, A.EmbeddedCode)
    # the same text as a user script: embedded C needs -g
    msgs = [m for _, _, m in errors(src)]
    assert "embedded code in unprivileged script; need stap -g" in msgs


def test_stap_checks_inside_the_parser() -> None:
    assert errors("global a\nglobal a\n")[0] == (2, 8, "duplicate global name")
    assert errors("global a[10] = 5\n")[0][2] == "only scalar globals can be initialized"
    assert errors("function f(a, a) {}\n")[0][2] == "duplicate parameter names"
    assert errors("probe begin { return 1 }\n")[0][2] == "found 'return' not in function context"
    assert errors("probe begin { x = 08 }\n")[0][2] == "number invalid or out of range"
    assert errors("probe begin { x = 18446744073709551616 }\n")[0][2] == "number invalid or out of range"
    assert parse("probe begin { x = 18446744073709551615 + 0x1f + 017 }", "t.stp", T).ok


def test_error_messages_and_positions_match_stap() -> None:
    # these positions and messages are what stap 4.8 prints for the same inputs
    assert errors("probe begin { x = 1 + }\n")[0] == (1, 23, "expected literal string or number")
    assert errors("probe begin { if (x) else }\n")[0] == (1, 22, "expected statement")
    assert errors("junk\nprobe begin {}\n")[0] == (1, 1, "expected 'probe', 'global', 'private', 'function', or '%{'")
    assert errors('probe begin { x = "abc }\n')[0] == (1, 19, "Could not find matching closing quote")
    r = parse("probe begin { x = 1 }\nprobe end {", "t.stp", T)
    assert r.diagnostics[0].saw == "t.stp EOF"


def test_recovery_keeps_going_and_keeps_partial_items() -> None:
    src = "probe begin { x = 1 + }\nglobal ok\nprobe foo { y = \nfunction f() { return 2 }\n"
    r = parse(src, "t.stp", T)
    assert [(d.span.line, d.message) for d in r.diagnostics] == [
        (1, "expected literal string or number"), (4, "expected literal string or number")]
    kinds = [type(i).__name__ for i in r.file.items]
    assert kinds == ["ErrorItem", "GlobalDecl", "ErrorItem", "FunctionDecl"]
    broken = r.file.items[2]
    assert isinstance(broken, A.ErrorItem) and broken.keyword == "probe"
    assert any(isinstance(f, A.ProbePoint) for f in broken.fragments)


def test_tolerant_false_raises_and_empty_script_is_an_error() -> None:
    with pytest.raises(ParseFailed):
        parse("probe {", "t.stp", T, tolerant=False)
    assert errors("# nothing\n") == [(1, 1, "Input file 't.stp' is empty.")]
    assert parse("# nothing\n", "lib.stp", T, library=True).ok


def test_script_arguments_kept_or_pasted() -> None:
    e = one_expr('x = $1 + @2 . "s"')
    assert isinstance(e, A.Assignment) and isinstance(e.value, A.Binary)
    left = e.value.left
    assert isinstance(left, A.Binary) and isinstance(left.left, A.ScriptArg) and left.left.index == 1
    r = parse("probe begin { x = $1 } probe timer.ms($2) {}", "t.stp", T, args=["y + 1", "100"])
    assert r.ok
    assert errors("probe begin { x = $3 }", args=["1"])[0][2] == "command line argument out of range [1-1]"


def test_doc_comments_attach_to_the_next_declaration() -> None:
    src = "/**\n * sfunction f - does f\n */\nfunction f() { }\n// plain\nfunction g() { }\n"
    r = parse(src, "lib.stp", T, library=True)
    f, g = r.file.items
    assert isinstance(f, A.FunctionDecl) and f.doc is not None and "sfunction f" in f.doc.text
    assert isinstance(g, A.FunctionDecl) and g.doc is None
    assert [c.kind for c in r.file.comments] == ["doc", "line"]


def test_repr_is_readable() -> None:
    e = one_expr("x = 1")
    assert repr(e) == "Assignment(op='=', target=Var(name='x')@1:15, value=NumberLiteral(value=1, text='1')@1:19)@1:15"


@pytest.mark.parametrize("tail", ["", " ", "\t ", "\n", " \n  "])
def test_blanks_at_the_end_of_a_file_are_not_junk(tail: str) -> None:
    result = parse("probe begin {}" + tail, "t.stp")
    assert result.ok, [d.message for d in result.diagnostics]
