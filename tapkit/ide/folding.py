"""Foldable regions: blocks, embedded C, comments, `%( %)` conditionals, macro definitions; and
selection ranges (the chain of enclosing syntax around a position, for expand-selection)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tapkit.diagnostics import Span
from tapkit.ide.line_index import Position
from tapkit.ide.workspace import Snapshot
from tapkit.syntax import ast as A
from tapkit.syntax.walk import path_at, walk


class FoldKind(Enum):
    REGION = "region"
    COMMENT = "comment"


@dataclass(frozen=True, slots=True)
class FoldingRange:
    start_line: int  # 1-based; the fold shows this line and hides the ones after it up to end_line
    end_line: int
    kind: FoldKind = FoldKind.REGION


def folding_ranges(snap: Snapshot, uri: str) -> list[FoldingRange]:
    file = snap.parse(uri).file
    name = file.span.file
    out: set[FoldingRange] = set()

    def add(start: int, end: int, kind: FoldKind = FoldKind.REGION) -> None:
        if end > start:
            out.add(FoldingRange(start, end, kind))

    for node in walk(file):
        if isinstance(node, A.Block | A.EmbeddedCode) and node.span.file == name:
            add(node.span.line, node.span.end_line - 1)  # keep the closing `}` / `%}` line visible
    for cond in file.conditionals:
        add(cond.span.line, cond.span.end_line - 1)
    for m in file.macros:
        if m.span.file == name:
            add(m.span.line, m.span.end_line - 1)
    run: list[A.Comment] = []
    for c in file.comments:
        if c.kind in ("block", "doc"):
            add(c.span.line, c.span.end_line, FoldKind.COMMENT)
            continue
        if run and c.span.line == run[-1].span.line + 1 and c.span.column == run[-1].span.column:
            run.append(c)
            continue
        if len(run) > 1:
            add(run[0].span.line, run[-1].span.line, FoldKind.COMMENT)
        run = [c]
    if len(run) > 1:
        add(run[0].span.line, run[-1].span.line, FoldKind.COMMENT)
    return sorted(out, key=lambda f: (f.start_line, -f.end_line))


def selection_ranges(snap: Snapshot, uri: str, positions: list[Position]) -> list[list[Span]]:
    """For each position, the spans around it from the innermost outwards (each strictly larger)."""
    file = snap.parse(uri).file
    name = file.span.file
    result = []
    for pos in positions:
        chain: list[Span] = []
        comment = next((c for c in file.comments if c.span.contains(pos.line, pos.column)), None)
        if comment is not None:
            chain.append(comment.span)
        else:
            for node in reversed(path_at(file, pos.line, pos.column)):
                name_span = getattr(node, "name_span", None)
                if isinstance(name_span, Span) and name_span.contains(pos.line, pos.column):
                    chain.append(name_span)
                if node.span.file == name:
                    chain.append(node.span)
        chain.append(file.span)
        nested: list[Span] = []
        for s in chain:
            if not nested or _encloses(s, nested[-1]):
                nested.append(s)
        result.append(nested)
    return result


def _encloses(outer: Span, inner: Span) -> bool:
    return ((outer.line, outer.column) <= (inner.line, inner.column)
            and (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column) and outer != inner)
