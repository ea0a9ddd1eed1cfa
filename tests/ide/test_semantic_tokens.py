"""Semantic tokens: each raw token classified, inactive branches marked, nothing overlapping."""

from __future__ import annotations

import itertools

from tapkit.ide import SemanticToken, TokenModifier, TokenType, semantic_tokens
from tests.ide.conftest import Docs

M = TokenModifier
TEXT = """\
/** counts */
global hits
@define twice(x) %( (@x * 2) %)
probe kernel.function("vfs_read") {
  n = demo_read($count, 0) + @twice(1)
  p = @cast($file, "struct file", "kernel")->f_pos
  hits <<< n  # done
}
function demo_local:long (arg) { return arg }
%( arch == "nosuch" %?
probe never { dead = 1 }
%)
"""


def tokens(docs: Docs) -> tuple[str, list[SemanticToken]]:
    snap, uri = docs.open(TEXT)
    return TEXT, semantic_tokens(snap, uri)


def kind_of(text: str, toks: list[SemanticToken], line: int, word: str, nth: int = 0) -> tuple[TokenType, set[M]]:
    src = text.split("\n")[line - 1]
    col = -1
    for _ in range(nth + 1):
        col = src.index(word, col + 1)
    hit = [t for t in toks if t.line == line and t.column == col + 1]
    assert hit, f"no token at {line}:{col + 1} ({word})"
    assert hit[0].end_column == col + 1 + len(word), hit[0]
    return hit[0].type, set(hit[0].modifiers)


def test_names_from_the_tree(docs: Docs) -> None:
    text, toks = tokens(docs)
    assert kind_of(text, toks, 2, "hits") == (TokenType.VARIABLE, {M.DECLARATION, M.STATIC})
    assert kind_of(text, toks, 7, "hits") == (TokenType.VARIABLE, {M.STATIC})
    assert kind_of(text, toks, 5, "n") == (TokenType.VARIABLE, set())
    assert kind_of(text, toks, 5, "demo_read") == (TokenType.FUNCTION, {M.DEFAULT_LIBRARY})
    assert kind_of(text, toks, 5, "$count") == (TokenType.VARIABLE, set())
    assert kind_of(text, toks, 6, "f_pos") == (TokenType.PROPERTY, set())
    assert kind_of(text, toks, 9, "demo_local") == (TokenType.FUNCTION, {M.DECLARATION})
    assert kind_of(text, toks, 9, "arg", 0) == (TokenType.PARAMETER, {M.DECLARATION})
    assert kind_of(text, toks, 9, "arg", 1) == (TokenType.PARAMETER, set())
    assert kind_of(text, toks, 4, "kernel") == (TokenType.EVENT, set())
    assert kind_of(text, toks, 4, "function") == (TokenType.EVENT, set())


def test_tokens_from_the_lexer(docs: Docs) -> None:
    text, toks = tokens(docs)
    assert kind_of(text, toks, 1, "/** counts */") == (TokenType.COMMENT, {M.DOCUMENTATION})
    assert kind_of(text, toks, 7, "# done") == (TokenType.COMMENT, set())
    assert kind_of(text, toks, 2, "global") == (TokenType.KEYWORD, set())
    assert kind_of(text, toks, 4, '"vfs_read"') == (TokenType.STRING, set())
    assert kind_of(text, toks, 5, "0") == (TokenType.NUMBER, set())
    assert kind_of(text, toks, 7, "<<<") == (TokenType.OPERATOR, set())
    assert kind_of(text, toks, 6, '"struct file"') == (TokenType.TYPE, set())
    assert kind_of(text, toks, 6, '"kernel"') == (TokenType.NAMESPACE, set())
    assert kind_of(text, toks, 6, "@cast") == (TokenType.KEYWORD, set())
    assert kind_of(text, toks, 3, "twice") == (TokenType.MACRO, {M.DECLARATION})
    assert kind_of(text, toks, 3, "@x") == (TokenType.PARAMETER, set())
    assert kind_of(text, toks, 5, "@twice") == (TokenType.MACRO, set())
    assert kind_of(text, toks, 10, "arch") == (TokenType.MACRO, {M.READONLY})


def test_inactive_branch_is_one_run_per_line_and_nothing_else(docs: Docs) -> None:
    _text, toks = tokens(docs)
    inactive = [t for t in toks if t.type is TokenType.INACTIVE]
    assert [t.line for t in inactive] == [11]  # line 10 ends right after %?: nothing to mark there
    assert inactive[0].column == 1 and inactive[0].end_column == len("probe never { dead = 1 }") + 1
    assert not [t for t in toks if t.line == 11 and t.type is not TokenType.INACTIVE]


def test_sorted_and_never_overlapping(docs: Docs) -> None:
    _, toks = tokens(docs)
    for a, b in itertools.pairwise(toks):
        assert (a.line, a.end_column) <= (b.line, b.column) or a.line < b.line


def test_embedded_c_is_left_to_the_editor(docs: Docs) -> None:
    snap, uri = docs.open("function f() %{ int x; /* c */ %}\n")
    toks = semantic_tokens(snap, uri)
    assert all(t.column < 14 for t in toks)
