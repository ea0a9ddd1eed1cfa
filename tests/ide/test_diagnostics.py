"""Diagnostics as the editor shows them: inside the document, macro-body errors at their call site."""

from __future__ import annotations

import pytest

from tapkit.ide import document_diagnostics
from tests.ide.conftest import FIXTURE_TAPSET, Docs


def test_parse_error_in_a_script(docs: Docs) -> None:
    snap, uri = docs.open("probe begin {\n  x = \n}\n")
    [d] = document_diagnostics(snap, uri)
    assert d.code == "parse.expected-value" and (d.span.line, d.span.column) == (3, 1)
    assert d.span.file == snap.document(uri).filename


def test_error_in_a_library_macro_is_placed_at_its_call(docs: Docs) -> None:
    snap, uri = docs.open("probe begin {\n  x = @demo_broken\n}\n")
    [d] = document_diagnostics(snap, uri)
    assert (d.span.line, d.span.column) == (2, 7)  # the `@demo_broken` call
    assert d.related[0].span.file == str(FIXTURE_TAPSET / "demo.stpm")
    assert d.related[0].span.line == 9


def test_macro_file_is_checked_as_stap_checks_library_macros(docs: Docs) -> None:
    snap, uri = docs.open("@define ok %( 1 %)\nprobe begin {}\n", name="m.stpm")
    [d] = document_diagnostics(snap, uri)
    assert "library macro file" in d.message and d.span.line == 2
    snap, uri = docs.open("@define ok2(a) %( @a %)\n", name="n.stpm")
    assert document_diagnostics(snap, uri) == []


def test_a_failing_semantic_pass_leaves_parse_diagnostics_and_completion(
        docs: Docs, monkeypatch: pytest.MonkeyPatch) -> None:
    from tapkit.ide import complete, program
    from tapkit.semantic import incremental
    from tests.ide.conftest import cursor

    def broken(*args: object, **kwargs: object) -> None:
        raise NameError("a bug in the semantic pass")
    monkeypatch.setattr(program, "analyze", broken)
    monkeypatch.setattr(incremental, "analyze", broken)
    snap, uri = docs.open("probe begin {\n  x = \n}\n")  # pass 2 does not run after a parse error
    assert [d.code for d in document_diagnostics(snap, uri)] == ["parse.expected-value"]
    snap, uri = docs.open("probe begin {\n  x = 1\n}\n")
    assert [d.code for d in document_diagnostics(snap, uri)] == ["internal.semantic-failed"]
    text, pos = cursor("probe begin { x = demo_r| }")
    snap, uri = docs.open(text)
    assert "demo_read" in [c.label for c in complete(snap, uri, pos).items]  # names alone still complete
