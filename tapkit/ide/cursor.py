"""What surrounds the cursor, read from raw tokens: the word being typed, the token before it, the
region (probe header, body, `%(` condition, …), the probe-point components already written,
and whether the cursor sits in a comment, a string (a @cast type, a probe point's argument) or
embedded C."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from enum import Enum

from tapkit.ide.structure import Place, Region, places
from tapkit.ide.workspace import Lexed
from tapkit.syntax.tokens import KEYWORDS, Token, lex

WORD_TYPES = frozenset({"IDENT", "PRINTFN", "TVAR", "DOLLARS", "STATOP", "AT_HIST_LINEAR", "AT_HIST_LOG",
                        "AT_OTHER", "AT_DEFINE", "RETURN_BARE", *KEYWORDS.values()}
                       | {"AT_CAST", "AT_VAR", "AT_DEFINED", "AT_PROBEWRITE", "AT_ENTRY", "AT_PERF", "AT_CONST",
                          "AT_REGISTER", "AT_DEREF"})
_PIECES = frozenset({"IDENT", "PRINTFN", "STAR", *KEYWORDS.values()})
_POINT_STARTS = frozenset({"PROBE", "COMMA", "EQUAL", "PLUSASSIGN", "LBRACE"})


class Spot(Enum):
    CODE = "code"
    COMMENT = "comment"
    STRING = "string"
    EMBEDDED = "embedded"


@dataclass(frozen=True, slots=True)
class Cursor:
    spot: Spot
    place: Place
    prefix: str  # the part of the word before the cursor ("" between words)
    prefix_start: int  # code-point offset where prefix starts
    before: tuple[Token, ...]  # every token wholly before the prefix
    probe_path: tuple[str, ...] | None = None  # naming a probe point: the components before this one
    in_condition: bool = False  # in a probe point's `if (…)`: an expression
    index: int = -1  # in a string: which of the lexed tokens it is (tokens after it: where it is used)

    @property
    def previous(self) -> Token | None:
        return self.before[-1] if self.before else None


def cursor_at(text: str, filename: str, offset: int, lexed: Lexed | None = None) -> Cursor:
    """lexed: the text's tokens and places if already at hand (Snapshot.lexed caches them)."""
    if lexed is None:
        raw = lex(text, filename)
        # the lexer leaves blanks at the very end of a text as a JUNK token; they are no token to the cursor
        tokens = [t for t in raw.tokens if not (t.type == "JUNK" and t.text.isspace())]
        end = Token("IDENT", "", filename, 0, 0, 0, 0, len(text), len(text))
        lexed = Lexed(tokens, raw.comments, places([*tokens, end]), [t.end_pos for t in tokens])
    toks = lexed.tokens
    offset = min(max(offset, 0), len(text))
    for c in lexed.comments:
        closed_block = c.text.startswith("/*") and c.text.endswith("*/") and len(c.text) >= 4
        if c.pos < offset < c.end_pos or (offset == c.end_pos and c.pos < offset and not closed_block):
            return Cursor(Spot.COMMENT, Place(Region.TOP, 0, 0), "", offset, ())
    k = bisect_left(lexed.ends, offset)
    cur = toks[k] if k < len(toks) and toks[k].pos < offset <= toks[k].end_pos else None
    prefix, start, before = "", offset, toks[:k]
    if cur is not None:
        if (cur.type in ("STRING", "ARGSTR") and offset < cur.end_pos) or \
                (cur.type == "JUNK" and cur.text.startswith('"')):
            return Cursor(Spot.STRING, lexed.places[k], "", offset, tuple(toks[:k]), index=k)
        if (cur.type == "EMBEDDED" and offset < cur.end_pos) or (cur.type == "JUNK" and cur.text.startswith("%{")):
            return Cursor(Spot.EMBEDDED, lexed.places[k], "", offset, tuple(toks[:k]))
        if cur.type in WORD_TYPES:
            prefix, start = text[cur.pos:offset], cur.pos
        else:
            before = toks[:k + 1]
    place = lexed.places[len(before)]  # where the token after `before` (or the end) stands
    path: tuple[str, ...] | None = None
    condition = False
    if place.region is Region.PROBE_HEADER:
        path, condition = _probe_path(before)
    return Cursor(Spot.CODE, place, prefix, start, tuple(before), path, condition)


def _probe_path(before: list[Token]) -> tuple[tuple[str, ...] | None, bool]:
    """The components of the probe point being written (None when the cursor is not naming one: in a
    component's argument, after a complete component), and whether it is in an `if (…)` condition."""
    # inside parentheses: an `if (` condition, or a component's argument
    depth = 0
    for j in range(len(before) - 1, -1, -1):
        t = before[j].type
        if t == "PROBE":
            break
        if t in ("RPAR", "RBRACE"):
            depth += 1
        elif t in ("LPAR", "LBRACE"):
            if depth == 0:
                if t == "LBRACE":
                    break  # a brace group: naming components again
                return None, j > 0 and before[j - 1].type == "IF"
            depth -= 1
    if not before or before[-1].type in _POINT_STARTS:
        return (), False
    if before[-1].type != "DOT":
        return None, False
    path: list[str] = []
    j = len(before) - 2
    while j >= 0:
        if before[j].type == "RPAR":
            depth = 0
            while j >= 0:
                if before[j].type == "RPAR":
                    depth += 1
                elif before[j].type == "LPAR":
                    depth -= 1
                    if depth == 0:
                        break
                j -= 1
            j -= 1
        if j < 0 or before[j].type not in _PIECES:
            return None, False
        end = j
        while j > 0 and before[j - 1].type in _PIECES and before[j - 1].end_pos == before[j].pos:
            j -= 1
        path.insert(0, "".join(t.text for t in before[j:end + 1]))
        j -= 1
        if j >= 0 and before[j].type == "DOT":
            j -= 1
            continue
        if j < 0 or before[j].type in _POINT_STARTS:
            return tuple(path), False
        return None, False
    return tuple(path), False
