"""Do two texts mean the same program? The formatter's safety net, and its tests' oracle.

Same meaning: the same tokens in the same order (inactive `%( %)` branches and macro bodies
included, which the tree does not hold), the same comments up to the indentation of their
lines, and the same pass-1 tree and diagnostics once spans are set aside.
"""

from __future__ import annotations

from typing import Any

from tapkit.diagnostics import Span
from tapkit.syntax import ast as A
from tapkit.syntax.parser import LibraryMacros, ParseResult, parse
from tapkit.syntax.tokens import lex
from tapkit.target import Target
from tapkit.values import fields


def meaning_changed(before: str, after: str, filename: str, target: Target, macros: LibraryMacros | None = None,
                    library: bool = False, parsed_before: ParseResult | None = None) -> str | None:
    """None when after means what before means; else what differs first, in words.
    parsed_before: before's parse with the same settings, when already at hand."""
    ta, tb = lex(before, filename), lex(after, filename)
    toks_a = [(t.type, t.text) for t in ta.tokens if not (t.type == "JUNK" and t.text.isspace())]
    toks_b = [(t.type, t.text) for t in tb.tokens if not (t.type == "JUNK" and t.text.isspace())]
    if toks_a != toks_b:
        k = next((i for i, (x, y) in enumerate(zip(toks_a, toks_b, strict=False)) if x != y),
                 min(len(toks_a), len(toks_b)))
        return f"token {k} differs: {toks_a[k:k + 1]} became {toks_b[k:k + 1]}"
    ca = [comment_text(c.text) for c in ta.comments]
    cb = [comment_text(c.text) for c in tb.comments]
    if ca != cb:
        return "comments differ"
    ra = parsed_before or parse(before, filename, target, macros, library=library)
    rb = parse(after, filename, target, macros, library=library)
    da = [(d.code, d.message) for d in ra.diagnostics]
    db = [(d.code, d.message) for d in rb.diagnostics]
    if da != db:
        return f"diagnostics differ: {da[:2]} became {db[:2]}"
    if shape(ra.file) != shape(rb.file):
        return "the syntax tree differs"
    return None


def comment_text(text: str) -> str:
    """A comment as the formatter must keep it: each line without its indentation or trailing blanks."""
    return "\n".join(line.strip() for line in text.split("\n"))


def shape(value: Any) -> Any:
    """A tree value without positions: nodes become (type, fields...), comments their text."""
    if isinstance(value, A.Comment):
        return ("Comment", value.kind, comment_text(value.text))
    if isinstance(value, A.Node):
        return (type(value).__name__, *(shape(getattr(value, f)) for f in fields(value)
                                        if f != "span" and not f.endswith("_span") and f != "definition"))
    if isinstance(value, tuple):
        return tuple(shape(v) for v in value)
    if isinstance(value, Span):
        return None
    return value
