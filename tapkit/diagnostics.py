"""One diagnostic type for every pass, printed the way stap prints its errors."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from enum import Enum

from tapkit.values import Value, field


class Span(Value):
    """A range of source text. Lines and columns are 1-based, as stap prints them; end is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int) -> Span:
        return cls(file, line, column, line, column + 1)

    def to(self, other: Span) -> Span:
        """The span from the start of self to the end of other."""
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)

    def contains(self, line: int, column: int) -> bool:
        return (self.line, self.column) <= (line, column) < (self.end_line, self.end_column)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"


class Fix(Value):
    """A suggested edit: replace the text at span with new_text."""

    title: str
    span: Span
    new_text: str


class Related(Value):
    message: str
    span: Span


class Diagnostic(Value):
    """What a pass found wrong.

    kind is stap's word for the pass ("parse", "semantic", "runtime"), used in the
    printed form; code is a stable identifier for tests and for the editor.
    """

    severity: Severity
    code: str
    message: str
    span: Span
    kind: str = "parse"
    saw: str | None = None
    related: tuple[Related, ...] = ()
    fixes: tuple[Fix, ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, object]:
        def span(s: Span) -> dict[str, object]:
            return {"file": s.file, "line": s.line, "column": s.column,
                    "end_line": s.end_line, "end_column": s.end_column}

        return {
            "severity": self.severity.value,
            "code": self.code,
            "kind": self.kind,
            "message": self.message,
            "saw": self.saw,
            "span": span(self.span),
            "related": [{"message": r.message, "span": span(r.span)} for r in self.related],
            "fixes": [{"title": f.title, "span": span(f.span), "new_text": f.new_text} for f in self.fixes],
        }


def format_diagnostic(diag: Diagnostic, source_lines: Sequence[str] | None = None) -> str:
    """Render like stap: headline, `saw:` line or location, then the source line and a caret."""
    if diag.severity is Severity.WARNING:
        head = f"WARNING: {diag.message}"
    else:
        head = f"{diag.kind} error: {diag.message}"
    if diag.kind == "parse":
        lines = [head, f"        saw: {diag.saw or 'end of input'} at {diag.span}"]
        indent = "     source: "
    else:
        where = f"{diag.saw} at {diag.span}" if diag.saw else f"at {diag.span}"
        lines = [f"{head}: {where}"]
        indent = "        source: "
    if source_lines is not None and 0 < diag.span.line <= len(source_lines):
        text = source_lines[diag.span.line - 1].rstrip("\n").expandtabs(1)
        lines.append(indent + text)
        lines.append(" " * (len(indent) + max(diag.span.column - 1, 0)) + "^")
    for rel in diag.related:
        lines.append(f"        {rel.message} at {rel.span}")
    return "\n".join(lines) + "\n"


def diagnostics_to_json(diags: Iterable[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diags], indent=2)
