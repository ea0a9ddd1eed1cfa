"""Positions: tapkit's 1-based code-point columns against an editor's 0-based UTF-16/8/32 units."""

from __future__ import annotations

from tapkit.ide.line_index import Encoding, LineIndex, Position


def test_ascii_round_trip_and_clamping() -> None:
    idx = LineIndex("ab\ncde\n")
    assert idx.line_count == 3
    assert idx.offset(Position(2, 2)) == 4
    assert idx.position(4) == Position(2, 2)
    assert idx.offset(Position(2, 99)) == 6  # past the line's end: its end
    assert idx.offset(Position(9, 1)) == len("ab\ncde\n")
    assert idx.to_editor(Position(2, 3)) == (1, 2)
    assert idx.from_editor(1, 2) == Position(2, 3)
    assert idx.from_editor(1, 50) == Position(2, 4)
    assert idx.from_editor(40, 0) == Position(3, 1)


def test_utf16_counts_astral_characters_twice() -> None:
    text = 'x = "😀é" . y\n'
    idx = LineIndex(text)
    y = Position(1, text.index("y") + 1)  # code-point column 12
    assert idx.to_editor(y, Encoding.UTF16) == (0, 12)  # 😀 is a surrogate pair
    assert idx.to_editor(y, Encoding.UTF32) == (0, 11)
    assert idx.to_editor(y, Encoding.UTF8) == (0, 15)  # 😀 four bytes, é two
    for enc in Encoding:
        line, ch = idx.to_editor(y, enc)
        assert idx.from_editor(line, ch, enc) == y
    # a character inside the surrogate pair snaps to the next character
    assert idx.from_editor(0, 6, Encoding.UTF16) == Position(1, 7)


def test_line_text() -> None:
    idx = LineIndex("one\ntwo")
    assert [idx.line_text(n) for n in (0, 1, 2, 3)] == ["", "one", "two", ""]
