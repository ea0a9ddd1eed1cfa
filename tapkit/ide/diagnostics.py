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

import logging
import os

from tapkit.cache import cache_dir
from tapkit.diagnostics import Diagnostic, Related, Span
from tapkit.ide.program import failed_verdict, options_for, semantic_library, skipped_tapsets, verdict
from tapkit.ide.workspace import DocumentKind, Snapshot
from tapkit.semantic import ScriptFile
from tapkit.semantic.incremental import PartCache, analyze_in_parts
from tapkit.syntax.parser import parse_library_macros
from tapkit.values import replace

log = logging.getLogger("tapkit.ide")


def document_diagnostics(snap: Snapshot, uri: str) -> list[Diagnostic]:
    doc = snap.document(uri)
    if doc.kind is DocumentKind.MACROS:
        # stap's own check of a macro file: nothing but @define may remain after preprocessing
        known = snap.macros_for(doc).macros
        _, found = parse_library_macros(doc.text, doc.filename, snap.target, known)
        diags = list(found)
    elif doc.kind is DocumentKind.SCRIPT:
        diags = script_verdict(snap, uri)
    else:
        diags = verdict(snap, uri)
    return [placed_in(d, doc.filename) for d in diags]


_parts: list[PartCache] = []  # every script's parts, across edits, documents and servers (made on first use)


def part_cache() -> PartCache:
    if not _parts:
        _parts.append(PartCache(directory=cache_dir("parts")))
    return _parts[0]


def script_verdict(snap: Snapshot, uri: str) -> list[Diagnostic]:
    """verdict() of a script, part by part (tapkit.semantic.incremental): an edit re-analyzes the part it
    touched, parts that only moved keep their results."""
    doc = snap.document(uri)
    parsed = snap.parse(uri)
    lib = semantic_library(snap)
    if lib is None:
        return list(parsed.diagnostics)
    options = options_for(snap, doc)
    context = (lib.fingerprint, snap.macros.fingerprint, options.target, options.include_dirs,
               tuple((name, path, _stamp(path)) for name, path in sorted(options.debuginfo.items())),
               options.user_probes)
    try:
        diags = analyze_in_parts(ScriptFile(doc.filename, doc.text, parsed), lib, options, part_cache(), context)
    except Exception:  # a bug of the semantic pass: say so, and keep pass 1's diagnostics
        log.exception("the semantic pass failed on %s", doc.filename)
        return [*parsed.diagnostics, failed_verdict(doc)]
    return skipped_tapsets(snap, doc.filename) + diags


def _stamp(path: str) -> tuple[int, int]:
    """A debuginfo file's size and modification time: a rebuilt module is another one."""
    try:
        st = os.stat(path)
    except OSError:
        return (0, 0)
    return (st.st_size, st.st_mtime_ns)


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
