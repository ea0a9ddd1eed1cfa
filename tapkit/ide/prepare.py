"""What the semantic pass builds on first use and keeps, built ahead of the editor's requests.

An analysis that reaches `@cast(p, "iocb", "kernel<linux/aio.h>")` -- written in the document, or in
a library macro or function it uses (every syscall alias reads `@__ulong`, a cast through
"kernel<linux/types.h>") -- compiles that header through the release's kbuild tree the first time
(about a second each here; tapkit.semantic.headers then keeps the object in the cache dir) and indexes
the object's DWARF; a kernel.trace probe reads the tracepoint catalog (parsed from the kernel's headers
once, then loaded from the cache dir once per process). Inside a completion or hover request that is a
one- or two-second answer. The server runs prepare() on a thread of its own when the library has loaded
and when a document names headers not prepared yet, so that requests find them done; and warm() for each
open document, so that the first requests in its probes do not unpickle the library trees and open the
debuginfo files that its analyses reach (the first completion in a syscall probe took 60-90 ms for that).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from tapkit.ide.workspace import DocumentKind, Snapshot
from tapkit.semantic.headers import FAILED, UNAVAILABLE, compiled_header, is_header
from tapkit.syntax.library import read_source
from tapkit.target import Target

Progress = Callable[[int, int, str], None]

_CAST = re.compile(r"@cast\s*\(")
_OPEN = "([{"
_CLOSE = ")]}"


def cast_modules(text: str) -> set[str]:
    """The module arguments (third, when a string literal) of the `@cast(...)` calls in text."""
    found: set[str] = set()
    if "@cast" not in text:
        return found
    for m in _CAST.finditer(text):
        depth, args, i, start = 0, 0, m.end(), m.end()
        while i < len(text):
            c = text[i]
            if c == '"':
                i += 1
                while i < len(text) and text[i] not in '"\n':
                    i += 2 if text[i] == "\\" else 1
            elif c in _OPEN:
                depth += 1
            elif c in _CLOSE or (c == "," and depth == 0):
                if c in _CLOSE and depth:
                    depth -= 1
                else:
                    if args == 2:
                        arg = text[start:i].strip()
                        if len(arg) >= 2 and arg[0] == arg[-1] == '"' and '"' not in arg[1:-1]:
                            found.add(arg[1:-1])
                    if c != ",":
                        break
                    args, start = args + 1, i + 1
            elif c == ";" or (c == "}" and depth == 0):
                break
            i += 1
    return found


def header_parts(texts: Iterable[str]) -> set[str]:
    """The header parts ("kernel<linux/aio.h>", "<sys/time.h>") of the @cast module arguments in texts."""
    return {part for text in texts for module in cast_modules(text) for part in module.split(":") if is_header(part)}


def library_header_parts(files: Iterable[Path]) -> set[str]:
    """The header parts the library's files name in @cast (its macro files' bodies included)."""
    texts = []
    for path in files:
        try:
            text = read_source(path)
        except OSError:
            continue
        if "@cast" in text and "<" in text:
            texts.append(text)
    return header_parts(texts)


def prepare(target: Target, parts: Iterable[str], progress: Progress | None = None) -> list[tuple[str, str]]:
    """Load the tracepoint catalog, compile each header part not compiled yet and index its object (blocking:
    run it on a thread). Returns (part, problem) for the parts that did not compile here."""
    from tapkit.debuginfo import DebuginfoError, open_debuginfo
    from tapkit.semantic.tracepoints import catalog

    todo = sorted(parts)
    failed: list[tuple[str, str]] = []
    try:
        catalog(target)
    except OSError as e:  # no kernel headers for the release: kernel.trace probes say so when analysed
        failed.append(("tracepoints", str(e)))
    for n, part in enumerate(todo):
        if progress is not None:
            progress(n, len(todo), part)
        path = compiled_header(part, target.release)
        if path == FAILED:
            failed.append((part, "does not compile"))
        elif path == UNAVAILABLE:
            failed.append((part, f"no kbuild tree or compiler for {target.release}"))
        else:
            try:
                open_debuginfo(path, module="typequery")
            except DebuginfoError as e:
                failed.append((part, str(e)))
    if progress is not None:
        progress(len(todo), len(todo), "done")
    return failed


def warm(snap: Snapshot, uri: str) -> None:
    """Build, and drop, the editor model of the whole document: what stays is what it loaded into the process
    (library trees, debuginfo, type and tracepoint objects), and the document's tokens and declarations."""
    from tapkit.ide import completion, program

    completion.library_functions(snap.library)
    doc = snap.document(uri)
    snap.lexed(uri)
    snap.declarations(uri)
    lib = program.semantic_library(snap)
    if lib is None or doc.kind is DocumentKind.MACROS:
        return
    program.whole_model(snap, uri, lib).dispose()  # taken apart: reference counting frees it at once


__all__ = ["cast_modules", "header_parts", "library_header_parts", "prepare", "warm"]
