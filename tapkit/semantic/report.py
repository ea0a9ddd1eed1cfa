"""Printing pass-2 diagnostics the way stap does: a located headline, the source line and a caret,
and each chained part ("type was first inferred here") as its own block."""

from __future__ import annotations

from collections.abc import Sequence

from tapkit.diagnostics import Diagnostic, Severity, format_diagnostic

# errors stap prints without a position
UNLOCATED = frozenset({"sem.no-probes", "sem.procfs-group"})


def format_semantic(d: Diagnostic, source_lines: Sequence[str] | None) -> str:
    if d.kind != "semantic":
        return format_diagnostic(d, source_lines)
    if d.code in UNLOCATED:
        return f"semantic error: {d.message}\n\n"
    head = "WARNING" if d.severity is Severity.WARNING else "semantic error"
    saw = f"{d.saw} " if d.saw else ""
    out = [f"{head}: {d.message}: {saw}at {d.span}"]
    out += _source(d.span.line, d.span.column, source_lines, " source: " if head == "WARNING" else
                   "        source: ")
    gap = [""] if head != "WARNING" else []  # stap leaves a blank line after each error block
    out += gap
    for rel in d.related:
        out.append(f"{head}: {rel.message}: at {rel.span}")
        lines = source_lines if rel.span.file == d.span.file else _read(rel.span.file)
        out += _source(rel.span.line, rel.span.column, lines, "        source: ")
        out += gap
    return "\n".join(out) + "\n"


def _source(line: int, column: int, lines: Sequence[str] | None, indent: str) -> list[str]:
    if lines is None or not 0 < line <= len(lines):
        return []
    text = lines[line - 1].rstrip("\n").expandtabs(1)
    return [indent + text, " " * (len(indent) + max(column - 1, 0)) + "^"]


def _read(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "surrogateescape").splitlines()
    except OSError:
        return None
