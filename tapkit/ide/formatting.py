"""The canonical layout of SystemTap source: it changes only the blanks between tokens.

Every token and comment stays, in order, with its text (a comment spanning lines moves
its continuation lines with its first). What is canonical: indentation by brace depth (one
level per `{`, per macro body; `%( %? %: %)` at the depth of their `%(`; one more level for
a line continuing an expression, a header or a list, and for a braceless `if`/`for`/`while`
body), one space around binary operators and after commas and keywords, none inside
parentheses and brackets, after unary operators, before call parentheses or around `->` and
the dots of probe points; at most one blank line, none at the start or end of a block;
no trailing blanks; one newline at the end. Line breaks are the author's.

Whitespace matters to stap in two places, and both are kept as written: two probe-point
name pieces written together (`sys*call`) stay together, and a macro call's `(` stays where
it was. The formatter never joins two tokens into one (it checks by lexing), and
format_document checks by parsing that the tree did not change before it offers an edit.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from functools import lru_cache

from tapkit.diagnostics import Span
from tapkit.ide.line_index import LineIndex
from tapkit.ide.meaning import meaning_changed
from tapkit.ide.structure import Place, Region, places
from tapkit.ide.workspace import DocumentKind, Snapshot
from tapkit.syntax.tokens import KEYWORDS, RawComment, Token, lex

log = logging.getLogger("tapkit.ide")


@dataclass(frozen=True, slots=True)
class FormatOptions:
    indent: str = "\t"  # one level (the tapset library's style); editors send their own


@dataclass(frozen=True, slots=True)
class TextEdit:
    span: Span
    new_text: str


_PIECES = frozenset({"IDENT", "PRINTFN", "TVAR", "DOLLARS", "STAR", "RETURN_BARE", *KEYWORDS.values()})
_OPERAND_END = frozenset({"IDENT", "PRINTFN", "NUMBER", "STRING", "ARGNUM", "ARGSTR", "TVAR", "DOLLARS", "RPAR",
                          "RSQB", "EMBEDDED", "RETURN_BARE", "NEXT", "BREAK", "CONTINUE", "AT_OTHER"})
_UNARY = frozenset({"PLUS", "MINUS", "BANG", "TILDE", "AMP", "CREMENT"})
_CALLABLE = frozenset({"IDENT", "PRINTFN", "STATOP", "AT_HIST_LINEAR", "AT_HIST_LOG", "AT_CAST", "AT_VAR",
                       "AT_DEFINED", "AT_PROBEWRITE", "AT_ENTRY", "AT_PERF", "AT_CONST", "AT_REGISTER", "AT_DEREF"})
_INDEXABLE = frozenset({"IDENT", "TVAR", "DOLLARS", "RPAR", "RSQB"})
_CONTROL = frozenset({"IF", "WHILE", "FOR", "FOREACH"})
_CONTINUES_AFTER = frozenset({"COMMA", "DOT", "ARROW", "QMARK", "COLON", "ANDAND", "OROR", "EQUAL", "PLUSASSIGN",
                              "ASSIGN_OP", "STATASSIGN", "REGEX_OP", "CMP_OP", "SHIFT_OP", "STAR", "SLASH", "PERCENT",
                              "AMP", "VBAR", "CIRCUMFLEX", "PLUS", "MINUS", "LPAR", "LSQB"})
_CONTINUES_BEFORE = frozenset({"DOT", "ARROW", "QMARK", "COLON", "ANDAND", "OROR", "EQUAL", "PLUSASSIGN",
                               "ASSIGN_OP", "STATASSIGN", "REGEX_OP", "CMP_OP", "SHIFT_OP", "STAR", "SLASH",
                               "PERCENT", "VBAR", "CIRCUMFLEX", "IN", "LIMIT"})
_ITEM_STARTS = frozenset({"PROBE", "FUNCTION", "GLOBAL", "PRIVATE", "EMBEDDED", "LBRACE", "AT_DEFINE",
                          "PP_IF", "PP_THEN", "PP_ELSE", "PP_END"})
_SORT_FOLLOWERS = frozenset({"IN", "LIMIT", "RPAR", "COMMA", "RSQB"})


@dataclass(slots=True)
class _Elem:
    text: str
    type: str  # token type, or "COMMENT"
    pos: int
    end_pos: int
    place: Place
    control_close: bool = False  # the `)` closing an if/while/for/foreach condition


def format_text(text: str, options: FormatOptions = FormatOptions(), filename: str = "<input>") -> str:
    """text in the canonical layout; text unchanged when it does not lex (junk characters, an open string)."""
    lexed = lex(text, filename)
    tokens = [t for t in lexed.tokens if not (t.type == "JUNK" and t.text.isspace())]
    if any(t.type in ("JUNK", "OP_OTHER") for t in tokens):
        return text  # characters stap cannot read: no layout to speak of
    elems = _elements(tokens, lexed.comments)
    if not elems:
        return ""
    newline = "\r\n" if "\r\n" in text else "\n"
    return _Layout(text, elems, options.indent).render().replace("\n", newline)


def _elements(tokens: list[Token], comments: list[RawComment]) -> list[_Elem]:
    where = places(tokens)
    elems = [_Elem(t.text, t.type, t.pos, t.end_pos, p) for t, p in zip(tokens, where, strict=True)]
    end = where[-1] if where else Place(Region.TOP, 0, 0)
    out: list[_Elem] = []
    j = 0
    for c in comments:
        while j < len(elems) and elems[j].pos < c.pos:
            out.append(elems[j])
            j += 1
        place = elems[j].place if j < len(elems) else end
        text = c.text.rstrip("\r") if not c.text.startswith("/*") else c.text
        out.append(_Elem(text, "COMMENT", c.pos, c.end_pos, place))
    out.extend(elems[j:])
    return out


class _Layout:
    def __init__(self, source: str, elems: list[_Elem], indent: str) -> None:
        self.source = source
        self.elems = elems
        self.indent = indent
        self.unary = self._unary_tokens()
        self._mark_control_parens()

    def _code_before(self, i: int) -> _Elem | None:
        for j in range(i - 1, -1, -1):
            if self.elems[j].type != "COMMENT":
                return self.elems[j]
        return None

    def _code_after(self, i: int) -> _Elem | None:
        for j in range(i + 1, len(self.elems)):
            if self.elems[j].type != "COMMENT":
                return self.elems[j]
        return None

    def _unary_tokens(self) -> set[int]:
        """Indexes of prefix operators (unary + - ! ~ &, prefix ++/--) and foreach sort signs."""
        out: set[int] = set()
        for i, e in enumerate(self.elems):
            if e.type not in _UNARY:
                continue
            if e.place.region is Region.PROBE_HEADER and e.place.parens == 0:
                continue  # `!` of a probe point: a flag
            prev = self._code_before(i)
            nxt = self._code_after(i)
            operand_before = prev is not None and (prev.type in _OPERAND_END or prev.type == "STATOP")
            if e.type in ("PLUS", "MINUS") and operand_before and (nxt is None or nxt.type in _SORT_FOLLOWERS):
                out.add(~i)  # a sort sign: ~i marks "suffix"
            elif not operand_before or (prev is not None and prev.type == "STATOP"):
                out.add(i)
            elif e.type == "CREMENT":
                out.add(~i)  # postfix
        return out

    def _mark_control_parens(self) -> None:
        stack: list[bool] = []
        prev = ""
        for e in self.elems:
            if e.type == "COMMENT":
                continue
            if e.type == "LPAR":
                stack.append(prev in _CONTROL)
            elif e.type == "RPAR" and stack and stack.pop():
                e.control_close = True
            prev = e.type

    # ------------------------------------------------------------ spaces

    def space(self, i: int) -> str:
        a, b = self.elems[i - 1], self.elems[i]
        orig = self.source[a.end_pos:b.pos]
        if a.type == "COMMENT" or b.type == "COMMENT":
            return " "
        want = self._rule(i, a, b, orig)
        if want == "" and orig != "" and _merges(a.text, b.text):
            return " "
        return want

    def _rule(self, i: int, a: _Elem, b: _Elem, orig: str) -> str:
        ta, tb = a.type, b.type
        header = (b.place.region is Region.PROBE_HEADER and b.place.parens == 0) or a.place.group or b.place.group
        if (a.place.region is Region.PROBE_HEADER or b.place.region is Region.PROBE_HEADER) \
                and ta in _PIECES and tb in _PIECES:
            return "" if orig == "" else " "  # `sys*call` and `sys * call` are different probe points
        if ta == "AT_OTHER" and tb == "LPAR":
            return "" if orig == "" else " "  # a macro call's argument list: kept as written
        if ~i in self.unary and tb in ("PLUS", "MINUS", "CREMENT"):
            return ""  # sort sign or postfix ++/--
        if tb in ("COMMA", "SEMI") or ta in ("LPAR", "LSQB") or tb in ("RPAR", "RSQB"):
            return ""
        if ta in ("COMMA", "SEMI"):
            return " "
        if ta == "LBRACE" and tb == "RBRACE":
            return ""  # an empty block
        if ta == "ARROW" or tb == "ARROW":
            return ""
        if (b.place.group and tb in ("LBRACE", "RBRACE")) or (a.place.group and ta == "LBRACE"):
            return ""  # inside a probe-point brace group
        if a.place.group and ta == "RBRACE":
            return "" if tb in ("DOT", "QMARK", "BANG") else " "
        if header and (tb in ("DOT", "QMARK", "BANG") or ta == "DOT" or (tb == "LPAR" and ta != "IF")):
            return ""
        region = b.place.region
        if region is Region.FUNCTION_HEADER:
            if tb == "COLON" or ta == "COLON":
                return ""
            if tb == "LPAR":
                return " " if ta in ("LONG_KW", "STRING_KW") else ""
        if region is Region.MACRO_HEADER and tb == "LPAR":
            return ""
        if region is Region.GLOBAL and (tb in ("PERCENT", "LSQB") or ta == "PERCENT"):
            return ""
        if i - 1 in self.unary:
            return ""  # after a prefix operator
        if tb == "LPAR":
            return "" if ta in _CALLABLE else " "
        if tb == "LSQB":
            return "" if ta in _INDEXABLE or ta in ("AT_HIST_LINEAR", "AT_HIST_LOG") else " "
        return " "

    # ------------------------------------------------------------ lines

    def render(self) -> str:
        lines: list[str] = []
        cur: list[str] = []
        pending: int | None = None  # extra level for a braceless body on the next line
        if_extra: dict[int, int] = {}
        line_extra = 0
        last_code: _Elem | None = None
        for i, e in enumerate(self.elems):
            breaks = 0 if i == 0 else self.source.count("\n", self.elems[i - 1].end_pos, e.pos)
            if i > 0 and breaks == 0:
                cur.append(self.space(i))
                cur.append(e.text)
                if e.type != "COMMENT":
                    last_code = e
                continue
            if i > 0:
                lines.append("".join(cur).rstrip())
                prev = self.elems[i - 1]
                tight = (prev.type == "LBRACE" and not prev.place.group) or (e.type == "RBRACE" and not e.place.group)
                if breaks > 1 and not tight:
                    lines.append("")
                if last_code is not None and (last_code.type == "ELSE" or last_code.control_close):
                    pending = line_extra + 1
            level, extra = self._indent(e, last_code, pending, if_extra)
            if e.type != "COMMENT":
                if pending is not None:
                    pending = None
                line_extra = extra
                if e.type == "IF":
                    if_extra[e.place.depth] = extra
                last_code = e
            prefix = self.indent * (level + extra)
            cur = [prefix, self._reindented(e, prefix)]
        lines.append("".join(cur).rstrip())
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines) + "\n"

    def _indent(self, e: _Elem, last: _Elem | None, pending: int | None, if_extra: dict[int, int]) -> tuple[int, int]:
        p = e.place
        t = e.type
        if t in ("PP_THEN", "PP_ELSE", "PP_END"):
            return p.frame_depth + p.macros - (1 if p.frame_macro else 0), 0
        level = p.depth + p.macros
        if t == "RBRACE" and not p.group:
            level -= 1
        if t == "COMMENT":  # placed like the code after it, but inside a block that code closes
            return level, pending or 0
        if pending is not None:
            return level, pending - 1 if t == "LBRACE" else pending
        if t == "ELSE":
            return level, if_extra.get(p.depth, 0)
        parens = p.parens - (1 if t in ("RPAR", "RSQB") else 0)
        if parens > 0:
            return level, 1
        region = p.region
        if region in (Region.BODY, Region.MACRO_BODY, Region.CONDITION):
            same = last is not None and last.place.region is region
            continues = same and last is not None and (
                last.type in _CONTINUES_AFTER  # `x = a +` …
                or (t in ("PLUS", "MINUS") and last.type in _OPERAND_END)  # stap reads on greedily: `a` / `+ b`
                or (t == "STRING" and last.type == "STRING"))  # adjacent strings join
            if continues or t in _CONTINUES_BEFORE:
                return level, 1
            return level, 0
        if region in (Region.PROBE_HEADER, Region.GLOBAL, Region.FUNCTION_HEADER) and t not in _ITEM_STARTS:
            return level, 1
        return level, 0

    def _reindented(self, e: _Elem, prefix: str) -> str:
        """A comment spanning lines moves its continuation lines by as much as its first line moved."""
        if e.type != "COMMENT" or "\n" not in e.text:
            return e.text
        line_start = self.source.rfind("\n", 0, e.pos) + 1
        old = self.source[line_start:e.pos]
        if old.strip() or old == prefix:
            return e.text
        first, *rest = e.text.split("\n")
        moved = [prefix + ln[len(old):] if ln.startswith(old) and ln.strip() else ln for ln in rest]
        return "\n".join([first, *moved])


@lru_cache(maxsize=4096)
def _merges(a: str, b: str) -> bool:
    """Would a and b written with nothing between them lex as something else?"""
    toks = lex(a + b, "").tokens
    return [t.text for t in toks] != [a, b]


# ---------------------------------------------------------------- the editor's request

def format_document(snap: Snapshot, uri: str, options: FormatOptions = FormatOptions()) -> list[TextEdit]:
    """The edits that bring the document to the canonical layout; none when it already is, or when
    the result would not parse to the same tree (then the layout is left alone, never the meaning)."""
    doc = snap.document(uri)
    formatted = format_text(doc.text, options, doc.filename)
    if formatted == doc.text:
        return []
    library = doc.kind is not DocumentKind.SCRIPT
    why = meaning_changed(doc.text, formatted, doc.filename, snap.target, snap.macros_for(doc), library,
                          snap.parse(uri))
    if why is not None:  # a formatter bug: say so, and leave the text alone
        log.warning("formatting %s would change its meaning (%s); no edits offered", doc.filename, why)
        return []
    return minimal_edits(doc.text, formatted, doc.filename)


def minimal_edits(old: str, new: str, filename: str) -> list[TextEdit]:
    """Line-level edits turning old into new (the editor keeps cursors and folds on untouched lines)."""
    a = _lines(old)
    b = _lines(new)
    index = LineIndex(old)
    offsets = [0]
    for line in a:
        offsets.append(offsets[-1] + len(line))
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        start, end = index.position(offsets[i1]), index.position(offsets[i2])
        edits.append(TextEdit(Span(filename, start.line, start.column, end.line, end.column), "".join(b[j1:j2])))
    return edits


def _lines(text: str) -> list[str]:
    """Lines ending in "\\n" as the lexer counts them (str.splitlines also splits at \\f, \\x1c, …)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out
