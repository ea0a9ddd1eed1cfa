"""The diagnostics an editor shows for one document, every one placed inside that document.

A script gets what `tapkit check` (stap -p2) says of it: pass 1's diagnostics, and when it parses,
pass 2's (tapkit.ide.program.verdict), in stap's wording and order. One difference, on purpose:
a tapset file that does not parse is skipped with a warning, as stap 4.8 does, where
tapkit.semantic fails the script. A tapset file gets its parse diagnostics and what resolving
its functions and aliases finds; a macro file, stap's check that only @define remains.

A diagnostic raised inside a macro body (or a library file) points there, with the call site as
`related`; an editor can only underline the document itself, so such a diagnostic moves to its
call site here and keeps the body's place as related information.
"""

from __future__ import annotations

from tapkit.diagnostics import Diagnostic, Related, Span
from tapkit.ide.program import verdict
from tapkit.ide.workspace import DocumentKind, Snapshot
from tapkit.syntax.parser import parse_library_macros
from tapkit.values import replace


def document_diagnostics(snap: Snapshot, uri: str) -> list[Diagnostic]:
    doc = snap.document(uri)
    if doc.kind is DocumentKind.MACROS:
        # stap's own check of a macro file: nothing but @define may remain after preprocessing
        known = snap.macros_for(doc).macros
        _, found = parse_library_macros(doc.text, doc.filename, snap.target, known)
        diags = list(found)
    else:
        diags = verdict(snap, uri)
    return [placed_in(d, doc.filename) for d in diags]


def placed_in(diag: Diagnostic, filename: str) -> Diagnostic:
    """diag with its span inside filename: a macro body's error moves to the innermost call site."""
    if diag.span.file == filename:
        return diag
    here = [r for r in diag.related if r.span.file == filename]
    if here:
        site = here[0].span
    else:
        site = Span(filename, 1, 1, 1, 1)
    moved = Related(f"{diag.message} (here, in the macro body)", diag.span)
    others = tuple(r for r in diag.related if r.span != site)
    return replace(diag, span=site, related=(moved, *others))
