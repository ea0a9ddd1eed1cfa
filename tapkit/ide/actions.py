"""Code actions: the fixes the diagnostics carry (did-you-mean for members, functions, probe points), declaring
a global the script uses without one, and generating accessors and Get/Print functions for a C struct
through `tapkit gen`.

Generating takes a second or so, so that action is offered without its edit (`resolve` says what to
compute) and generate_edit() makes the edit when the user picks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tapkit.diagnostics import Diagnostic, Span
from tapkit.ide import ctypes
from tapkit.ide.diagnostics import document_diagnostics
from tapkit.ide.formatting import TextEdit
from tapkit.ide.line_index import Position
from tapkit.ide.lookup import CType, c_at
from tapkit.ide.workspace import Snapshot
from tapkit.syntax import ast as A

QUICKFIX = "quickfix"
GENERATE = "refactor.generate"  # an LSP refactor kind: new code from the C type
_DECLARE = {"sem.unresolved-array", "sem.never-assigned"}  # a global the script forgot to declare
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class CodeAction:
    title: str
    kind: str
    edits: tuple[TextEdit, ...] = ()  # spans name their files
    diagnostic: Diagnostic | None = None  # the one it fixes
    preferred: bool = False
    resolve: tuple[str, ...] = ()  # ("generate", type, module): generate_edit() makes the edit


def _overlaps(a: Span, b: Span) -> bool:
    return (a.line, a.column) <= (b.end_line, b.end_column) and (b.line, b.column) <= (a.end_line, a.end_column)


def code_actions(snap: Snapshot, uri: str, span: Span) -> list[CodeAction]:
    doc = snap.document(uri)
    out: list[CodeAction] = []
    declared: set[str] = set()
    for d in document_diagnostics(snap, uri):
        if not _overlaps(d.span, span) and not any(_overlaps(f.span, span) for f in d.fixes):
            continue  # (a fix may replace a word beside what the diagnostic underlines: `->` vs the member)
        for i, f in enumerate(d.fixes):
            if f.span.file == doc.filename:
                out.append(CodeAction(f.title, QUICKFIX, (TextEdit(f.span, f.new_text),), d, preferred=i == 0))
        if d.code in _DECLARE:
            name = _name_at(doc.text, snap.lines(uri).offset(Position(d.span.line, d.span.column)))
            if name and name not in declared:
                declared.add(name)
                out.append(CodeAction(f"Declare global '{name}'", QUICKFIX, (_declare(snap, uri, name),), d))
    c = c_at(snap, uri, Position(span.line, span.column))
    if isinstance(c, CType):
        s = ctypes.struct_of(c.info, c.type)
        if s is not None and s.name:
            out.append(CodeAction(f"Generate accessors and Print{s.name}/Get{s.name} for {s.kind} {s.name} "
                                  f"(tapkit gen --module {c.info.module})", GENERATE,
                                  resolve=("generate", s.name, c.info.module)))
    return out


def _name_at(text: str, offset: int) -> str | None:
    m = _NAME.match(text, offset)
    return m.group(0) if m else None


def _declare(snap: Snapshot, uri: str, name: str) -> TextEdit:
    """`global NAME` after the script's last top-level global declaration, else before its first item."""
    doc = snap.document(uri)
    items = snap.parse(uri).file.items
    globals_ = [i for i in items if isinstance(i, A.GlobalDecl) and i.span.file == doc.filename]
    if globals_:
        line = globals_[-1].span.end_line + 1
    else:
        first = next((i for i in items if i.span.file == doc.filename), None)
        line = first.span.line if first is not None else 1
    return TextEdit(Span(doc.filename, line, 1, line, 1), f"global {name}\n")


def generate_edit(snap: Snapshot, uri: str, type_name: str, module: str) -> TextEdit:
    """What `tapkit gen TYPE --module MODULE` writes, appended to the document. Raises tapkit.gen.GenError or
    tapkit.debuginfo.DebuginfoError when it cannot be generated."""
    from tapkit.gen import GenRequest, generate

    doc = snap.document(uri)
    request = GenRequest(what=(type_name,), module=module, release=snap.target.release,
                         overrides=dict(snap.options.debuginfo), include_dirs=snap.options.include_dirs,
                         command=f"tapkit gen {type_name} --module {module}")
    text = generate(request).outputs[0].text
    lines = snap.lines(uri)
    end = lines.position(len(doc.text))
    sep = "" if not doc.text else "\n" if doc.text.endswith("\n") else "\n\n"  # one blank line before
    return TextEdit(Span(doc.filename, end.line, end.column, end.line, end.column), sep + text)
