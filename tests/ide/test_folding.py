"""Folding ranges and selection ranges."""

from __future__ import annotations

import itertools

from tapkit.ide import FoldingRange, FoldKind, Position, folding_ranges, selection_ranges
from tests.ide.conftest import Docs

TEXT = """\
# one
# two
/* a
   block */
probe begin {
  if (1) {
    x = 1
  }
}
%( arch == "x86_64" %?
global a
%:
global b
%)
@define m %(
  1
%)
function f() %{
  return;
%}
"""


def test_folds(docs: Docs) -> None:
    snap, uri = docs.open(TEXT)
    folds = folding_ranges(snap, uri)
    assert FoldingRange(1, 2, FoldKind.COMMENT) in folds
    assert FoldingRange(3, 4, FoldKind.COMMENT) in folds
    assert FoldingRange(5, 8) in folds  # probe body, `}` stays visible
    assert FoldingRange(6, 7) in folds  # the if block
    assert FoldingRange(10, 13) in folds  # the %( %) conditional
    assert FoldingRange(15, 16) in folds  # the macro
    assert FoldingRange(18, 19) in folds  # embedded C
    assert len(folds) == 7


def test_selection_grows_from_the_name_to_the_file(docs: Docs) -> None:
    snap, uri = docs.open("probe begin {\n  x = foo(1 + 22)\n}\n")
    [chain] = selection_ranges(snap, uri, [Position(2, 16)])
    texts = [(s.line, s.column, s.end_line, s.end_column) for s in chain]
    assert texts[0] == (2, 15, 2, 17)  # 22
    assert (2, 11, 2, 17) in texts  # 1 + 22
    assert (2, 7, 2, 18) in texts  # foo(...)
    assert (2, 3, 2, 18) in texts  # the assignment
    assert texts[-1][:2] == (1, 1)
    for inner, outer in itertools.pairwise(chain):
        assert (outer.line, outer.column) <= (inner.line, inner.column)
        assert (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)
    [comment] = selection_ranges(*docs.open("# hi\nprobe begin {}\n"), [Position(1, 3)])
    assert (comment[0].line, comment[0].end_column) == (1, 5)
