"""Semantic errors as stap raises and prints them, and the sink that collects them in stap's order.

stap throws a semantic_error at a token ("identifier 'x' at f.stp:3:5"), sometimes chained to a
second one ("type was first inferred here"); the session prints each distinct error once. The
sink does the same and turns each into tapkit's Diagnostic: the chain becomes `related`, and
the message keeps stap's wording so that users (and tests) recognise it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from tapkit.diagnostics import Diagnostic, Fix, Related, Severity, Span


@dataclass(frozen=True, slots=True)
class Where:
    """A token as stap names it in messages: its span and its description (`identifier 'x'`)."""

    span: Span
    saw: str | None


E = TypeVar("E", bound=BaseException)


def detached(exc: E) -> E:
    """A copy of exc without its traceback, to keep (a cache of failures): a raised exception's traceback keeps
    the frames it went through alive, their locals too (the session, the IR, the document's tree)."""
    copy = type(exc).__new__(type(exc), *exc.args)
    copy.args = exc.args
    copy.__dict__.update(exc.__dict__)
    return copy


class SemanticError(Exception):
    """One error; where is None for errors stap prints without a location ("no match")."""

    def __init__(self, code: str, message: str, where: Where | None = None, chain: SemanticError | None = None,
                 fixes: tuple[Fix, ...] = (), where2: Where | None = None, site: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.site = site or code  # where stap throws it: stap prints one error per throw site
        self.message = message
        self.where = where
        self.chain = chain.kept() if chain is not None else None  # the wrapped error's frames are done with
        self.fixes = fixes
        self.where2 = where2  # stap's second token (printed as its own line), e.g. the declaration

    def with_chain(self, chain: SemanticError) -> SemanticError:
        self.chain = chain.kept()
        return self

    def kept(self) -> SemanticError:
        """self, to be kept after its handler: without the traceback (and so the frames, whose locals -- a
        session, the IR, the document's tree -- would otherwise live on in a cycle through this error
        until a collector pass), its chain's too."""
        link: SemanticError | None = self
        while link is not None:
            link.__traceback__ = None
            link.__context__ = link.__cause__ = None
            link = link.chain
        return self


@dataclass(frozen=True, slots=True)
class Warning_:
    code: str
    message: str
    where: Where | None


class ErrorSink:
    """Collects errors and warnings in the order stap prints them, each distinct one once."""

    def __init__(self, default_span: Span) -> None:
        self.default_span = default_span
        self.errors: list[SemanticError] = []
        self.warnings: list[Warning_] = []
        self._seen: set[tuple[str, ...]] = set()
        self.suppressed = 0
        self._seen_warnings: set[tuple[str, Span | None]] = set()
        self.suppress_warnings = False
        self._warnings_before: list[int] = []  # per warning: how many errors came before it
        self.stage = ""  # the pass-2 stage running now (analysis.STAGES): each diagnostic remembers its own
        self._error_stages: list[str] = []
        self._warning_stages: list[str] = []

    def error(self, err: SemanticError) -> None:
        """stap prints the first error thrown from each place in its code (and counts the rest as
        "similar error messages suppressed"); errors here are kept or dropped the same way."""
        key = _site_chain(err)
        if key in self._seen:
            self.suppressed += 1
            return
        self._seen.add(key)
        del self._error_stages[len(self.errors):]  # the editor's quiet inference truncates self.errors
        self.errors.append(err.kept())
        self._error_stages.append(self.stage)

    def warn(self, code: str, message: str, where: Where | None) -> None:
        if self.suppress_warnings:
            return
        key = (message, where.span if where else None)
        if key in self._seen_warnings:
            return
        self._seen_warnings.add(key)
        self.warnings.append(Warning_(code, message, where))
        self._warnings_before.append(len(self.errors))
        self._warning_stages.append(self.stage)

    @property
    def count(self) -> int:
        return len(self.errors)

    def diagnostics(self) -> list[Diagnostic]:
        """Errors and warnings in the order stap prints them (as they happen)."""
        return [d for d, _ in self.staged()]

    def staged(self) -> list[tuple[Diagnostic, str]]:
        """diagnostics(), each with the stage it was raised in."""
        errors = [(self._diagnostic(e), stage) for e, stage in zip(self.errors, self._error_stages, strict=False)]
        out: list[tuple[Diagnostic, str]] = []
        done = 0
        for w, before, stage in zip(self.warnings, self._warnings_before, self._warning_stages, strict=True):
            before = min(before, len(errors))
            out += errors[done:before]
            done = max(done, before)
            out.append((Diagnostic(Severity.WARNING, w.code, w.message.rstrip(), w.where.span if w.where
                                   else self.default_span, kind="semantic", saw=w.where.saw if w.where else None),
                        stage))
        return out + errors[done:]

    def _diagnostic(self, err: SemanticError) -> Diagnostic:
        related: list[Related] = []
        message = err.message.rstrip()  # stap's "unresolved type " ends in a space before ": saw"
        span = err.where.span if err.where else None
        saw = err.where.saw if err.where else None
        if err.where2 is not None:
            related.append(Related(err.where2.saw or "declared here", err.where2.span))
        link = err.chain
        while link is not None:
            if link.where is None:
                message = f"{message}: {link.message}"
            elif span is None:  # the first located link carries the position
                message, span, saw = f"{message}: {link.message}", link.where.span, link.where.saw
            elif message.startswith("while ") and ": " not in message:
                # "while resolving probe point" only gives context: say what went wrong, keep stap's position
                message = f"{message}: {link.message}"
                if link.where.span != span:
                    related.append(Related(link.message, link.where.span))
            else:
                related.append(Related(link.message, link.where.span))
            link = link.chain
        return Diagnostic(Severity.ERROR, err.code, message, span or self.default_span, kind="semantic", saw=saw,
                          related=tuple(related), fixes=err.fixes or did_you_mean(err))


_SIMILAR = re.compile(r"\(similar(?: functions| tracepoints)?: ([^)]*)\)")


def did_you_mean(err: SemanticError) -> tuple[Fix, ...]:
    """Fixes from stap's "(similar: a, b)" list: replace the misspelled identifier with each name."""
    link: SemanticError | None = err
    while link is not None:
        m = _SIMILAR.search(link.message)
        if m is not None and link.where is not None and link.where.saw is not None:
            saw = link.where.saw
            if not saw.startswith("identifier '"):
                return ()
            name = saw[len("identifier '"):-1]
            sp = link.where.span
            target = Span(sp.file, sp.line, sp.column, sp.line, sp.column + len(name))
            return tuple(Fix(f"Change to '{alt}'", target, alt) for alt in m.group(1).split(", ") if alt)
        link = link.chain
    return ()


def _site_chain(err: SemanticError) -> tuple[str, ...]:
    parts = []
    link: SemanticError | None = err
    while link is not None:
        parts.append(link.site)
        link = link.chain
    return tuple(parts)


def first_located(err: SemanticError) -> Where | None:
    """The first position stap prints for err: its own token, else the first chained one's."""
    link: SemanticError | None = err
    while link is not None:
        if link.where is not None:
            return link.where
        link = link.chain
    return None
