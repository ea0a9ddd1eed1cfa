from tapkit.diagnostics import Diagnostic, Severity, Span, format_diagnostic


def test_parse_error_prints_like_stap() -> None:
    diag = Diagnostic(Severity.ERROR, "P001", "expected literal string or number",
                      Span("e.stp", 3, 1, 3, 2), saw="operator '}'")
    text = format_diagnostic(diag, ["probe begin {", "  x = 1 +", "}"])
    assert text == (
        "parse error: expected literal string or number\n"
        "        saw: operator '}' at e.stp:3:1\n"
        "     source: }\n"
        "             ^\n"
    )


def test_semantic_error_prints_like_stap() -> None:
    src = ["probe begin { x = nosuch(1) }"]
    diag = Diagnostic(Severity.ERROR, "S001", "unresolved function nosuch", Span("e2.stp", 1, 19, 1, 25),
                      kind="semantic", saw="identifier 'nosuch'")
    lines = format_diagnostic(diag, src).splitlines()
    assert lines[0] == "semantic error: unresolved function nosuch: identifier 'nosuch' at e2.stp:1:19"
    assert lines[2].index("^") == len("        source: ") + 18
