"""check_text over small begin/end scripts: stap 4.8's verdict, first error message and position.

Every expectation here was read off `stap -r 6.1.0-56-amd64 -p2` on the same text (the differential
corpus checks the rest against the live stap).
"""

from __future__ import annotations

import pytest

from tapkit.diagnostics import Diagnostic
from tapkit.semantic import CheckOptions, check_text
from tests.tooling import stap_release


@pytest.fixture(scope="module")
def options() -> CheckOptions:
    return CheckOptions(release=stap_release())


def first_error(text: str, options: CheckOptions) -> Diagnostic | None:
    result = check_text(text, "t.stp", options)
    errors = [d for d in result.diagnostics if d.is_error]
    assert result.ok == (not errors)
    return errors[0] if errors else None


ACCEPTED = [
    "probe begin { printf(\"%d %s\\n\", pid(), execname()) }",
    "global x; probe begin { x <<< 1; print(@count(x)) }",
    "probe timer.ms(100) { exit() }",
    "probe begin { next; print(1) }",
    "probe begin { print(x) x = 1}",
    "global g = 1; probe begin { print(g) }",
    "probe begin { print(@defined($foo) ? $foo : 2) }",
    "probe begin(10) { print(1) } probe end(-5) { print(2) }",
    "probe timer.hz(100) { print(1) }",
    "probe never { print(1) }",
    "global x; probe begin { x <<< 1; print(@hist_log(x)) }",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_like_stap(text: str, options: CheckOptions) -> None:
    assert first_error(text, options) is None


# (text, message start, line, column) of stap's first error
REJECTED = [
    ("probe begin { print(undefined_fn(1)) }", "unresolved function undefined_fn (similar: ", 1, 21),
    ("probe begin { print(pid(1)) }", "arity mismatch found (function 'pid' takes 0 args)", 1, 21),
    ("probe begin { x[1] = 2; print(x[1]) }", "unresolved arity-1 global array x, missing global declaration?",
     1, 15),
    ("probe begin { print($foo) }", "unresolved target-symbol expression", 1, 21),
    ("probe foo.bar { }", "while resolving probe point: probe point mismatch (similar: ", 1, 7),
    ("probe begin { printf(\"%s\\n\", 1) }", "type mismatch: expected string but found long", 1, 30),
    ("function f(a) { return a } probe begin { print(f(1)); print(f(\"s\")) }", "index 0 type mismatch (string)",
     1, 63),
    ("probe timer.mss(100) { exit() }",
     "while resolving probe point: probe point mismatch (similar: ms, s, ns, us, msec)", 1, 7),
    ("probe begin { print(1 + \"a\") }", "type mismatch: expected long but found string", 1, 25),
    ("probe begin { a = \"x\"; a++ ; print(a)}", "type mismatch (long)", 1, 24),
    ("global a; probe begin { a[1,2] = 1; print(a[1]) }", "inconsistent arity (2 vs 1)", 1, 43),
    ("probe begin { printf(\"%d %d\\n\", 1) }", "Wrong number of args to formatted print operator", 1, 15),
    ("probe begin { x = 1 }", "no probes found", None, None),
    ("probe end { } probe begin { }", "no probes found", None, None),
    ("function f() { } probe begin { f() }", "no probes found", None, None),
    ("probe begin { if (0) { print(x) } }", "no probes found", None, None),
    ("global arr; probe begin { foreach (k in arr) print(k) }", "unresolved type", 1, 36),
    ("global arr; probe begin { arr[1]=1; foreach (k in arr) { arr[2] = 3 } }",
     "variable 'arr' modified during 'foreach' iteration", 1, 58),
    ("probe begin { print(@hist_log(x)) }", "stat locals not supported, missing global declaration?", 1, 31),
    ("global x; probe begin { x = 1; print(@hist_log(x)) }", "type mismatch (stats)", 1, 48),
    ("probe timer.ms(0) { print(1) }", "while resolving probe point: interval value out of range (1, 86400000)", 1, 7),
    ("probe timer.profile.tick { print(1) }",
     "while resolving probe point: profiling timer support (register_timer_hook) not found in kernel!", 1, 7),
    ("probe begin { print(@cast(0, \"task_struct\")->pid) }", "type definition 'task_struct' not found in ''",
     1, 21),
    ("probe begin { print(@var(\"jiffies\")) }", "unresolved @var() expression", 1, 21),
    ("probe begin { print(1 ? \"a\" : 2) }", "type mismatch: expected string but found long", 1, 31),
    ("probe begin { printf(\"%q\\n\", 1) }", "invalid or missing conversion specifier", 1, 30),
    ("probe procfs(\"x\").read { print($nosuch) }", "invalid target symbol for procfs probe, $value expected", 1, 32),
    ("probe procfs(\"x\").write { $value = \"s\" }", "procfs $value variable is read-only in a procfs write probe",
     1, 27),
    ("probe netfilter.hook(\"NF_INET_PRE_ROUTING\").pf(\"NFPROTO_IPV4\") { $verdict = 1 }",
     "write to netfilter verdict requires guru mode; need stap -g", 1, 66),
    ("probe process.syscall { print($return) }",
     'only "process(PATH_OR_PID).syscall.return" support $return.', 1, 31),
]


@pytest.mark.parametrize(("text", "message", "line", "column"), REJECTED)
def test_rejected_like_stap(text: str, message: str, line: int | None, column: int | None,
                            options: CheckOptions) -> None:
    err = first_error(text, options)
    assert err is not None, "stap rejects this"
    assert err.message.startswith(message), err.message
    if line is not None:
        assert (err.span.line, err.span.column) == (line, column), (err.span, err.message)


def test_errors_carry_codes_and_stap_token_names(options: CheckOptions) -> None:
    err = first_error("probe begin { print(undefined_fn(1)) }", options)
    assert err is not None
    assert err.code == "sem.unresolved-function"
    assert err.kind == "semantic"
    assert err.saw == "identifier 'undefined_fn'"


def test_type_mismatch_names_where_the_type_was_first_inferred(options: CheckOptions) -> None:
    err = first_error("probe begin {\n x = 1\n x = \"s\"\n print(x)\n}", options)
    assert err is not None and err.message == "type mismatch (string)"
    assert (err.span.line, err.span.column) == (3, 2)
    assert [(r.message, r.span.line, r.span.column) for r in err.related] == [
        ("type was first inferred here (long)", 2, 2)]


def test_unused_and_never_assigned_variables_are_warned(options: CheckOptions) -> None:
    result = check_text("global g\nprobe begin { print(y) ; print(g) }\nprobe end { z = 1; println(2) }", "w.stp",
                        options)
    warnings = {(d.code, d.message) for d in result.diagnostics if not d.is_error}
    assert ("sem.never-assigned", "never-assigned local variable 'y' (similar: g)") in warnings
    assert ("sem.never-assigned", "never-assigned global variable 'g' (similar: g)") in warnings
    assert ("sem.dead-assignment", "Eliding assignment to 'z'") in warnings
    # y never gets a type: stap's error after the warnings
    assert [d.message for d in result.diagnostics if d.is_error] == ["unresolved type"]


def test_only_one_error_per_kind_as_stap_prints_them(options: CheckOptions) -> None:
    result = check_text("probe begin { foo(); bar() }", "t.stp", options)
    errors = [d for d in result.diagnostics if d.is_error]
    assert [d.message.split(" (")[0] for d in errors] == ["unresolved function foo"]


def test_script_arguments_are_pasted_and_checked(options: CheckOptions) -> None:
    text = "probe begin { printf(\"%s %d\\n\", @1, $2) }"
    assert check_text(text, "a.stp", CheckOptions(release=options.release, args=("x", "3"))).ok
    missing = check_text(text, "a.stp", CheckOptions(release=options.release, args=()))
    assert not missing.ok
    assert missing.diagnostics[0].message == "command line argument out of range [1-0]"


def test_guru_mode_allows_embedded_c(options: CheckOptions) -> None:
    text = "function f:long() %{ STAP_RETURN(1); %} probe begin { print(f()) }"
    unprivileged = check_text(text, "g.stp", options)
    assert not unprivileged.ok
    assert unprivileged.diagnostics[0].message == "embedded code in unprivileged script; need stap -g"
    assert check_text(text, "g.stp", CheckOptions(release=options.release, guru=True)).ok
    # an embedded-C function without a declared type stays untyped, even in guru mode
    untyped = check_text(text.replace("f:long", "f"), "g.stp", CheckOptions(release=options.release, guru=True))
    assert [d.message for d in untyped.diagnostics if d.is_error] == ["unresolved type"]


def test_similar_names_become_fixes(options: CheckOptions) -> None:
    err = first_error("probe begin { print(pidd()) }", options)
    assert err is not None
    assert [f.new_text for f in err.fixes] == ["pid", "ppid", "gid", "sid", "tid"]
    assert {(f.span.line, f.span.column, f.span.end_column) for f in err.fixes} == {(1, 21, 25)}
    point = first_error("probe timer.mss(1) { print(1) }", options)
    assert point is not None and point.fixes[0].new_text == "ms"
    assert (point.fixes[0].span.column, point.fixes[0].span.end_column) == (13, 16)
