"""Semantic highlighting: every raw token classified from the lexer, the tree and the library.

Raw tokens (comments included, and the text of inactive `%( %)` branches and macro bodies,
which the tree does not hold) give keywords, strings, numbers, operators and comments; the
tree says which names are functions, parameters, globals, target variables, members and
probe-point components. Embedded C (`%{ %}`) is left to the editor's C grammar.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from tapkit.diagnostics import Span
from tapkit.ide.line_index import LineIndex
from tapkit.ide.structure import Region
from tapkit.ide.workspace import Snapshot
from tapkit.syntax import ast as A
from tapkit.syntax.tokens import AT_WORDS, KEYWORDS, OPERATORS, RawComment, Token
from tapkit.syntax.walk import walk


class TokenType(Enum):
    KEYWORD = "keyword"
    FUNCTION = "function"
    VARIABLE = "variable"
    PARAMETER = "parameter"
    PROPERTY = "property"  # a member after `->`
    TYPE = "type"  # the type named in @cast
    NAMESPACE = "namespace"  # the module named in @cast / @var
    EVENT = "event"  # a probe-point component
    MACRO = "macro"  # @define names, macro calls, %( %) condition names
    STRING = "string"
    NUMBER = "number"
    COMMENT = "comment"
    OPERATOR = "operator"
    INACTIVE = "inactive"  # text of a %( %) branch the preprocessor dropped


class TokenModifier(Enum):
    DECLARATION = "declaration"
    READONLY = "readonly"
    STATIC = "static"  # a global
    DEFAULT_LIBRARY = "defaultLibrary"  # from the tapset library or built into the language
    DOCUMENTATION = "documentation"  # a /** doc comment */


@dataclass(frozen=True, slots=True)
class SemanticToken:
    """One highlighted run on one line: columns are 1-based code points, end exclusive."""

    line: int
    column: int
    end_column: int
    type: TokenType
    modifiers: frozenset[TokenModifier] = frozenset()


_KEYWORD_TYPES = frozenset(KEYWORDS.values()) | {"RETURN_BARE", "AT_DEFINE", "PP_IF", "PP_THEN", "PP_ELSE", "PP_END",
                                                 "AT_CAST", "AT_VAR", "AT_DEFINED", "AT_PROBEWRITE", "AT_ENTRY",
                                                 "AT_PERF", "AT_CONST", "AT_REGISTER", "AT_DEREF"}
_PUNCTUATION = frozenset({"LPAR", "RPAR", "LSQB", "RSQB", "LBRACE", "RBRACE", "COMMA", "SEMI"})
_OPERATOR_TYPES = frozenset(OPERATORS.values()) - _PUNCTUATION - _KEYWORD_TYPES
_LIBRARY_OPS = frozenset({"STATOP", "AT_HIST_LINEAR", "AT_HIST_LOG", "PRINTFN"})
_DECL = frozenset({TokenModifier.DECLARATION})
_LIB = frozenset({TokenModifier.DEFAULT_LIBRARY})
Kind = tuple[TokenType, frozenset[TokenModifier]]


def semantic_tokens(snap: Snapshot, uri: str) -> list[SemanticToken]:
    file = snap.parse(uri).file
    lexed = snap.lexed(uri)
    index = snap.lines(uri)
    names = _names_from_tree(file, snap)
    inactive = sorted((r.span.line, r.span.column, r.span.end_line, r.span.end_column) for r in file.inactive)
    starts = [(sl, sc) for sl, sc, _, _ in inactive]
    macro_params = _macro_params(file)

    def dropped(line: int, column: int) -> bool:
        k = bisect_right(starts, (line, column)) - 1  # ranges never overlap: only the last one starting before
        return k >= 0 and (line, column) < (inactive[k][2], inactive[k][3])

    out: list[SemanticToken] = []
    toks = lexed.tokens
    where = lexed.places
    cast_strings = _cast_strings(toks)
    for i, tok in enumerate(toks):
        if inactive and dropped(tok.line, tok.column):
            continue
        kind = _classify(tok, where[i].region, names, cast_strings.get(i), macro_params)
        if kind is not None:
            out.extend(_split(index, tok.line, tok.column, tok.end_line, tok.end_column, kind))
    for c in lexed.comments:
        if inactive and dropped(c.line, c.column):
            continue
        out.extend(_split(index, c.line, c.column, c.end_line, c.end_column, _comment_kind(c)))
    for sl, sc, el, ec in inactive:
        out.extend(_split(index, sl, sc, el, ec, (TokenType.INACTIVE, frozenset())))
    out.sort(key=lambda t: (t.line, t.column))
    return out


def _comment_kind(c: RawComment) -> Kind:
    doc = c.text.startswith("/**") and not c.text.startswith("/**/")
    return TokenType.COMMENT, frozenset({TokenModifier.DOCUMENTATION}) if doc else frozenset()


def _split(index: LineIndex, line: int, column: int, end_line: int, end_column: int,
           kind: Kind) -> Iterator[SemanticToken]:
    """One token per line (editors without multiline-token support need that); empty runs dropped."""
    for ln in range(line, end_line + 1):
        start = column if ln == line else 1
        end = end_column if ln == end_line else len(index.line_text(ln)) + 1
        if end > start:
            yield SemanticToken(ln, start, end, kind[0], kind[1])


def _names_from_tree(file: A.File, snap: Snapshot) -> dict[tuple[int, int, str], Kind]:
    """Kinds of names the tree knows, keyed by (line, column, text) so that nodes an expansion placed
    at a macro's call site never recolour the call."""
    out: dict[tuple[int, int, str], Kind] = {}
    here = file.span.file
    own_functions = {i.name for i in file.items if isinstance(i, A.FunctionDecl)}
    globals_ = {v.name for i in file.items if isinstance(i, A.GlobalDecl) for v in i.vars}
    lib_globals = snap.library.globals

    def put(span: object, text: str, kind: Kind) -> None:
        if isinstance(span, Span) and span.file == here:
            out.setdefault((span.line, span.column, text), kind)

    for item in file.items:
        params: set[str] = set()
        if isinstance(item, A.FunctionDecl):
            put(item.name_span, item.name, (TokenType.FUNCTION, _DECL))
            params = {p.name for p in item.params}
            for p in item.params:
                put(p.name_span, p.name, (TokenType.PARAMETER, _DECL))
        elif isinstance(item, A.AliasDecl):
            for n in item.names:
                for c in n.components:
                    if isinstance(c, A.Component):
                        put(c.name_span, c.name, (TokenType.EVENT, _DECL))
        elif isinstance(item, A.GlobalDecl):
            for v in item.vars:
                put(v.name_span, v.name, (TokenType.VARIABLE, frozenset({TokenModifier.DECLARATION,
                                                                        TokenModifier.STATIC})))
        for node in walk(item):
            if isinstance(node, A.Var):
                if node.name in params:
                    put(node.span, node.name, (TokenType.PARAMETER, frozenset()))
                elif node.name in globals_ or node.name in lib_globals:
                    put(node.span, node.name, (TokenType.VARIABLE, frozenset({TokenModifier.STATIC})))
                else:
                    put(node.span, node.name, (TokenType.VARIABLE, frozenset()))
            elif isinstance(node, A.FunctionCall):
                lib = node.name not in own_functions and node.name in snap.library.functions
                put(node.name_span, node.name, (TokenType.FUNCTION, _LIB if lib else frozenset()))
            elif isinstance(node, A.TargetVar):
                put(node.name_span, node.name, (TokenType.VARIABLE, frozenset()))
            elif isinstance(node, A.TargetMember):
                put(node.name_span, node.name, (TokenType.PROPERTY, frozenset()))
            elif isinstance(node, A.Component):
                put(node.name_span, node.name, (TokenType.EVENT, frozenset()))
            elif isinstance(node, A.ProbewriteOp):
                put(node.name_span, node.name, (TokenType.VARIABLE, frozenset()))
    for m in file.macros:
        put(m.name_span, m.name, (TokenType.MACRO, _DECL))
    return out


def _macro_params(file: A.File) -> list[tuple[Span, frozenset[str]]]:
    return [(m.span, frozenset("@" + p for p in m.params)) for m in file.macros if m.params]


def _cast_strings(toks: list[Token]) -> dict[int, TokenType]:
    """The type and module strings of @cast(p, "type", "module") and the module of @var("n", "module")."""
    out: dict[int, TokenType] = {}
    for i, tok in enumerate(toks):
        if tok.type not in ("AT_CAST", "AT_VAR"):
            continue
        depth, commas = 0, 0
        for j in range(i + 1, min(len(toks), i + 400)):
            t = toks[j].type
            if t in ("LPAR", "LSQB", "LBRACE"):
                depth += 1
            elif t in ("RPAR", "RSQB", "RBRACE"):
                depth -= 1
                if depth <= 0:
                    break
            elif t == "COMMA" and depth == 1:
                commas += 1
            elif t == "STRING" and depth == 1:
                if tok.type == "AT_CAST" and commas == 1:
                    out[j] = TokenType.TYPE
                elif commas == (2 if tok.type == "AT_CAST" else 1):
                    out[j] = TokenType.NAMESPACE
    return out


def _classify(tok: Token, region: Region, names: dict[tuple[int, int, str], Kind], cast: TokenType | None,
              macro_params: list[tuple[Span, frozenset[str]]]) -> Kind | None:
    t = tok.type
    known = names.get((tok.line, tok.column, tok.text))
    if known is not None:
        return known
    if t == "EMBEDDED":
        return None
    if t == "STRING":
        return (cast, frozenset()) if cast is not None else (TokenType.STRING, frozenset())
    if t == "NUMBER":
        return TokenType.NUMBER, frozenset()
    if t in ("ARGNUM", "ARGSTR"):
        return TokenType.PARAMETER, frozenset({TokenModifier.READONLY})
    if t in _LIBRARY_OPS:
        return TokenType.FUNCTION, _LIB
    if region is Region.PROBE_HEADER and t in ("IDENT", "PRINTFN", *KEYWORDS.values()):
        return TokenType.EVENT, frozenset()
    if t in _KEYWORD_TYPES:
        return TokenType.KEYWORD, frozenset()
    if t == "AT_OTHER":
        for span, params in macro_params:
            if tok.text in params and span.contains(tok.line, tok.column):
                return TokenType.PARAMETER, frozenset()
        return TokenType.MACRO, frozenset()
    if t in ("TVAR", "DOLLARS"):
        return TokenType.VARIABLE, frozenset()
    if t == "IDENT" and region is Region.CONDITION:
        return TokenType.MACRO, frozenset({TokenModifier.READONLY})
    if t in _OPERATOR_TYPES:
        return TokenType.OPERATOR, frozenset()
    return None


assert set(AT_WORDS.values()) <= _KEYWORD_TYPES | _LIBRARY_OPS  # every @word has a colour
