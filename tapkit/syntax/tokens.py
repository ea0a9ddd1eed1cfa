"""The lexer: source text to tokens, the way stap's lexer cuts it.

Token types are the terminal names of grammar.lark. The lexer classifies words
(keywords, print-family names, `$` target symbols, `@` operators) so the LALR
grammar can stay context free; comments are kept on the side for the editor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tapkit.values import Value

KEYWORDS = {
    "probe": "PROBE", "global": "GLOBAL", "private": "PRIVATE", "function": "FUNCTION",
    "if": "IF", "else": "ELSE", "for": "FOR", "foreach": "FOREACH", "in": "IN", "limit": "LIMIT",
    "return": "RETURN", "delete": "DELETE", "while": "WHILE", "break": "BREAK",
    "continue": "CONTINUE", "next": "NEXT", "string": "STRING_KW", "long": "LONG_KW",
    "try": "TRY", "catch": "CATCH",
}

# stap's print_format::create accepts exactly these names; they must be followed by '('.
PRINT_NAMES = frozenset(
    f"{s}print{suffix}" for s in ("", "s") for suffix in ("", "f", "d", "ln", "dln")
) | {"print_char"}

AT_WORDS = {
    "@cast": "AT_CAST", "@var": "AT_VAR", "@defined": "AT_DEFINED", "@probewrite": "AT_PROBEWRITE",
    "@entry": "AT_ENTRY", "@perf": "AT_PERF", "@const": "AT_CONST",
    "@kregister": "AT_REGISTER", "@uregister": "AT_REGISTER", "@kderef": "AT_DEREF", "@uderef": "AT_DEREF",
    "@avg": "STATOP", "@count": "STATOP", "@sum": "STATOP", "@min": "STATOP", "@max": "STATOP",
    "@variance": "STATOP", "@hist_linear": "AT_HIST_LINEAR", "@hist_log": "AT_HIST_LOG",
    "@define": "AT_DEFINE",
}

OPERATORS = {
    "<<<": "STATASSIGN", ">>>": "SHIFT_OP", "<<=": "ASSIGN_OP", ">>=": "ASSIGN_OP",
    "==": "CMP_OP", "!=": "CMP_OP", "<=": "CMP_OP", ">=": "CMP_OP", "<": "CMP_OP", ">": "CMP_OP",
    "=~": "REGEX_OP", "!~": "REGEX_OP",
    "+=": "PLUSASSIGN", "-=": "ASSIGN_OP", "*=": "ASSIGN_OP", "/=": "ASSIGN_OP", "%=": "ASSIGN_OP",
    "&=": "ASSIGN_OP", "^=": "ASSIGN_OP", "|=": "ASSIGN_OP", ".=": "ASSIGN_OP",
    "&&": "ANDAND", "||": "OROR", "++": "CREMENT", "--": "CREMENT", "->": "ARROW",
    "<<": "SHIFT_OP", ">>": "SHIFT_OP",
    "%(": "PP_IF", "%?": "PP_THEN", "%:": "PP_ELSE", "%)": "PP_END",
    "(": "LPAR", ")": "RPAR", "[": "LSQB", "]": "RSQB", "{": "LBRACE", "}": "RBRACE",
    ",": "COMMA", ";": "SEMI", ":": "COLON", "?": "QMARK", "!": "BANG", "=": "EQUAL",
    "+": "PLUS", "-": "MINUS", "*": "STAR", "/": "SLASH", "%": "PERCENT", ".": "DOT",
    "&": "AMP", "|": "VBAR", "^": "CIRCUMFLEX", "~": "TILDE",
}

# Every token type the lexer can produce that the grammar never accepts (except in the
# junk tail of a statistics operator, which swallows anything, as stap does).
OTHER_TYPES = ("OP_OTHER", "AT_OTHER", "JUNK")

# Blanks before a token are part of its match (fewer iterations); a newline run is its own match.
_TOKEN_RE = re.compile(
    r"""
    [ \t\r\f\v]*
    (?:
    (?P<ws>\n[ \t\n\r\f\v]*|\Z)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*[\s\S]*?(?:\*/|\Z))
  | (?P<embedded>%\{[\s\S]*?%\})
  | (?P<badembedded>%\{[\s\S]*)
  | (?P<arg>[$@](?:\#|[0-9]+))
  | (?P<word>[A-Za-z_$@][A-Za-z0-9_$]*)
  | (?P<number>[0-9][A-Za-z0-9]*)
  | (?P<string>"(?:[^"\\\n]|\\[\s\S])*")
  | (?P<badstring>"(?:[^"\\\n]|\\[\s\S])*)
  | (?P<op><<<|>>>|<<=|>>=|==|!=|<=|>=|=~|!~|\+=|-=|\*=|/=|%=|&=|\^=|\|=|\.=|&&|\|\||\+\+|--|->|<<|>>
          |%\(|%\?|%:|%\)|[!%&'()*+,\-./:;<=>?\[\\\]^`{|}~])
  | (?P<junk>[\s\S])
    )
    """,
    re.VERBOSE,
)

JUNK_MESSAGES = {  # stap's words for tokens it cannot use
    "badstring": "Could not find matching closing quote",
    "badembedded": "Could not find matching '%}' to close embedded function block",
    "junk": "unknown junk token",
    "arg": "command line argument out of range",
}


class Token:
    """One token. Positions are where the token shows in the file being parsed.

    A token copied out of a macro body carries `origin` (the body token, in the file
    that defined the macro) and `chain` (the `@name` token that expanded it), so that
    errors can point where stap points: into the body, "in expansion of macro ...".
    """

    __slots__ = ("chain", "column", "end_column", "end_line", "end_pos", "file", "line",
                 "origin", "pos", "text", "type")

    type: str
    text: str
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    pos: int
    end_pos: int
    origin: Token | None
    chain: Token | None

    def __init__(self, type: str, text: str, file: str, line: int, column: int, end_line: int,
                 end_column: int, pos: int, end_pos: int) -> None:
        self.type = type
        self.text = text
        self.file = file
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column
        self.pos = pos
        self.end_pos = end_pos
        self.origin = None
        self.chain = None

    def __repr__(self) -> str:
        return f"Token({self.type}, {self.text!r}, {self.line}:{self.column})"

    def __reduce__(self) -> tuple[Callable[..., Token], tuple[object, ...]]:
        # positional: the cached library macros load ~4x faster than from the slots' state dicts
        return (_rebuild_token, (self.type, self.text, self.file, self.line, self.column, self.end_line,
                                 self.end_column, self.pos, self.end_pos, self.origin, self.chain))

    def expanded_at(self, anchor: Token, chain: Token) -> Token:
        """A copy placed at anchor (the call site in the parsed file), remembering where it came from."""
        t = Token(self.type, self.text, anchor.file, anchor.line, anchor.column, anchor.end_line,
                  anchor.end_column, anchor.pos, anchor.end_pos)
        t.origin = self.origin or self
        t.chain = chain
        return t

    def describe(self) -> str:
        """How stap names a token in `saw:` lines: identifier 'x', operator '}', keyword, …"""
        t = self.type
        if t in _KEYWORD_TYPES or t == "RETURN_BARE":
            return "keyword"
        if t == "EMBEDDED":
            return "embedded-code"
        if t == "JUNK":
            return "junk ''"
        kind = "number" if t in ("NUMBER", "ARGNUM") else "string" if t in ("STRING", "ARGSTR") else \
            "identifier" if t in ("IDENT", "PRINTFN", "TVAR", "DOLLARS") else "operator"
        text = self.text
        if t == "STRING":
            text = text[1:-1]
        text = "".join(c if c.isprintable() else "?" for c in text)
        return f"{kind} '{text}'"


_KEYWORD_TYPES = frozenset(KEYWORDS.values())


def _rebuild_token(type: str, text: str, file: str, line: int, column: int, end_line: int, end_column: int,
                   pos: int, end_pos: int, origin: Token | None, chain: Token | None) -> Token:
    t = Token(type, text, file, line, column, end_line, end_column, pos, end_pos)
    t.origin = origin
    t.chain = chain
    return t


class RawComment(Value):
    text: str
    line: int
    column: int
    end_line: int
    end_column: int
    pos: int
    end_pos: int


class LexResult(Value, frozen=False):
    tokens: list[Token]
    comments: list[RawComment]
    junk: dict[int, str]  # id(token) -> stap's message for a junk token


def word_type(text: str) -> str:
    c = text[0]
    if c == "$":
        return "DOLLARS" if text.strip("$") == "" else "TVAR"
    if c == "@":
        return AT_WORDS.get(text, "AT_OTHER")
    kw = KEYWORDS.get(text)
    if kw is not None:
        return kw
    return "PRINTFN" if text in PRINT_NAMES else "IDENT"


def lex(text: str, file: str) -> LexResult:
    """Cut text into tokens; never raises (bad input becomes JUNK tokens, as in stap)."""
    tokens: list[Token] = []
    comments: list[RawComment] = []
    junk: dict[int, str] = {}
    append = tokens.append
    line = 1
    line_start = 0
    keywords = KEYWORDS
    prints = PRINT_NAMES
    operators = OPERATORS
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        s = m.group(kind)  # type: ignore[arg-type]
        end = m.end()
        start = end - len(s)
        if kind == "ws":
            if not s:  # blanks at the very end of a text with no final newline
                break
            line += s.count("\n")
            line_start = text.rindex("\n", start, end) + 1
            continue
        col = start - line_start + 1
        if kind == "word":
            c = s[0]
            if c == "$" or c == "@":
                ttype = word_type(s)
            else:
                ttype = keywords.get(s) or ("PRINTFN" if s in prints else "IDENT")
            append(Token(ttype, s, file, line, col, line, col + len(s), start, end))
            continue
        if kind == "op":
            append(Token(operators.get(s, "OP_OTHER"), s, file, line, col, line, col + len(s), start, end))
            continue
        if kind == "number":
            append(Token("NUMBER", s, file, line, col, line, col + len(s), start, end))
            continue
        # Rarer kinds may span lines.
        nl = text.count("\n", start, end)
        if nl:
            end_line = line + nl
            end_col = end - text.rindex("\n", start, end)
        else:
            end_line, end_col = line, col + len(s)
        if kind == "comment":
            comments.append(RawComment(s, line, col, end_line, end_col, start, end))
        elif kind == "string":
            append(Token("STRING", s, file, line, col, end_line, end_col, start, end))
        elif kind == "embedded":
            append(Token("EMBEDDED", s, file, line, col, end_line, end_col, start, end))
        elif kind == "arg":
            append(Token("ARGSTR" if s[0] == "@" else "ARGNUM", s, file, line, col, end_line, end_col, start, end))
            if s[1] != "#" and int(s[1:]) == 0:
                tok = tokens[-1]
                tok.type = "JUNK"
                junk[id(tok)] = JUNK_MESSAGES["arg"]
        else:  # badstring, badembedded, junk
            tok = Token("JUNK", s, file, line, col, end_line, end_col, start, end)
            append(tok)
            junk[id(tok)] = JUNK_MESSAGES[kind or "junk"]
        if nl:
            line = end_line
            line_start = text.rindex("\n", start, end) + 1
    return LexResult(tokens, comments, junk)


def string_value(token_text: str) -> str:
    """The content stap keeps for a string token: C escapes stay escaped, others lose the backslash."""
    body = token_text[1:-1] if token_text.endswith('"') and len(token_text) >= 2 else token_text[1:]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c == "\\" and i + 1 < n:
            d = body[i + 1]
            if d in "abtnvfr\\x01234567":
                out.append("\\")
            out.append(d)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def paste_script_args(lexed: LexResult, args: Sequence[str]) -> None:
    """Do what stap's lexer does with `$1 @1 $# @#` given the script's arguments: paste `$N` as
    source text (re-lexed, at the argument's position), `@N` as a string, the count as a number."""
    out: list[Token] = []
    for tok in lexed.tokens:
        if tok.type not in ("ARGNUM", "ARGSTR"):
            out.append(tok)
            continue
        quoted = tok.type == "ARGSTR"
        if tok.text[1] == "#":
            value = str(len(args))
        else:
            index = int(tok.text[1:])
            if index > len(args):
                tok.type = "JUNK"
                lexed.junk[id(tok)] = f"command line argument out of range [1-{len(args)}]"
                out.append(tok)
                continue
            value = args[index - 1]
        if quoted:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            pasted = [Token("STRING", f'"{escaped}"', tok.file, tok.line, tok.column, tok.end_line, tok.end_column,
                            tok.pos, tok.end_pos)]
        else:
            pasted = lex(value, tok.file).tokens
            for p in pasted:
                p.line, p.column, p.end_line, p.end_column = tok.line, tok.column, tok.end_line, tok.end_column
                p.pos, p.end_pos = tok.pos, tok.end_pos
        out.extend(pasted)
    lexed.tokens = out
