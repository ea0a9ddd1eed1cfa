"""Positions in a text: tapkit's 1-based code-point (line, column) and an editor's 0-based code units.

The lexer counts lines by `\\n` and columns in code points, 1-based; LSP counts from 0
and, by default, in UTF-16 code units (a character outside the BMP is two). LineIndex
converts between the two for one text, in either direction, clamping what is out of range.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from enum import Enum


class Encoding(Enum):
    """How an editor counts columns (LSP's PositionEncodingKind)."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a text, as tapkit counts: 1-based line and 1-based code-point column."""

    line: int
    column: int


def _units(text: str, encoding: Encoding) -> int:
    if encoding is Encoding.UTF32:
        return len(text)
    if encoding is Encoding.UTF16:
        return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)
    return len(text.encode("utf-8", "surrogatepass"))


class LineIndex:
    """Line starts of one text, for converting offsets and positions."""

    __slots__ = ("_ascii", "starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        find = text.find
        i = find("\n")
        while i >= 0:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self.starts = starts
        self._ascii = text.isascii()

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def line_text(self, line: int) -> str:
        """Line `line` (1-based) without its newline; "" past the end."""
        if not 1 <= line <= len(self.starts):
            return ""
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        return self.text[start:end]

    def offset(self, pos: Position) -> int:
        """Code-point offset of pos, clamped into the text (a column past the line's end is its end)."""
        if pos.line < 1:
            return 0
        if pos.line > len(self.starts):
            return len(self.text)
        start = self.starts[pos.line - 1]
        end = self.starts[pos.line] - 1 if pos.line < len(self.starts) else len(self.text)
        return min(start + max(pos.column - 1, 0), end)

    def position(self, offset: int) -> Position:
        offset = min(max(offset, 0), len(self.text))
        line = bisect_right(self.starts, offset)
        return Position(line, offset - self.starts[line - 1] + 1)

    # ------------------------------------------------------------ editor code units

    def to_editor(self, pos: Position, encoding: Encoding = Encoding.UTF16) -> tuple[int, int]:
        """(line, character), both 0-based, character in the editor's code units."""
        line = min(max(pos.line, 1), len(self.starts))
        col = max(pos.column, 1)
        if self._ascii or encoding is Encoding.UTF32:
            text = self.line_text(line)
            return line - 1, min(col - 1, len(text))
        prefix = self.line_text(line)[: col - 1]
        return line - 1, _units(prefix, encoding)

    def from_editor(self, line: int, character: int, encoding: Encoding = Encoding.UTF16) -> Position:
        """The position an editor's (line, character) names; a character inside a surrogate pair or
        past the line's end snaps to the next character boundary or the line's end."""
        if line < 0:
            return Position(1, 1)
        if line >= len(self.starts):
            last = len(self.starts)
            return Position(last, len(self.line_text(last)) + 1)
        text = self.line_text(line + 1)
        character = max(character, 0)
        if self._ascii or encoding is Encoding.UTF32:
            return Position(line + 1, min(character, len(text)) + 1)
        units = 0
        for i, c in enumerate(text):
            if units >= character:
                return Position(line + 1, i + 1)
            units += _units(c, encoding)
        return Position(line + 1, len(text) + 1)
