"""Parse problems as the passes find them, and their conversion to the shared Diagnostic."""

from __future__ import annotations

from tapkit.diagnostics import Diagnostic, Related, Severity, Span
from tapkit.syntax.tokens import Token
from tapkit.values import Value


class Issue(Value):
    """One problem at one token: stap's message, a stable code, and whether stap shows `saw:` or `at:`."""

    code: str
    message: str
    token: Token | None  # None: end of input, unless span says where
    span: Span | None = None
    warning: bool = False


class ErrorToken(Token):
    """A marker the preprocessor leaves in the token stream where stap would have thrown a parse error."""

    __slots__ = ("issue",)

    issue: Issue

    @classmethod
    def at(cls, issue: Issue, where: Token | None, eof: tuple[str, int, int, int] | None = None) -> ErrorToken:
        if where is not None:
            t = cls("PP_ERROR", "", where.file, where.line, where.column, where.end_line, where.end_column,
                    where.pos, where.end_pos)
        else:
            assert eof is not None
            file, line, column, pos = eof
            t = cls("PP_ERROR", "", file, line, column, line, column, pos, pos)
        t.issue = issue
        return t


def token_span(tok: Token) -> Span:
    return Span(tok.file, tok.line, tok.column, tok.end_line, tok.end_column)


def to_diagnostic(issue: Issue, eof_span: Span) -> Diagnostic:
    """Point where stap points: into the macro body for expanded tokens, with the expansion chain as related."""
    tok = issue.token
    related: list[Related] = []
    severity = Severity.WARNING if issue.warning else Severity.ERROR
    if tok is None and issue.span is not None:
        return Diagnostic(severity, issue.code, issue.message, issue.span)
    if tok is None:
        return Diagnostic(Severity.WARNING if issue.warning else Severity.ERROR, issue.code, issue.message,
                          eof_span, saw=f"{eof_span.file} EOF")
    where = tok.origin or tok
    chain = tok.chain
    seen = 0
    while chain is not None and seen < 32:
        related.append(Related(f"in expansion of macro: {chain.describe()}", token_span(chain.origin or chain)))
        chain = chain.chain
        seen += 1
    return Diagnostic(Severity.WARNING if issue.warning else Severity.ERROR, issue.code, issue.message,
                      token_span(where), saw=where.describe(), related=tuple(related))
