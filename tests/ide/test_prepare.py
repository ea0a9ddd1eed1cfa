"""What the server prepares ahead of requests (tapkit.ide.prepare), and the call being completed resolving."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapkit.ide import complete
from tapkit.ide.completion_typed import _word_end
from tapkit.ide.cursor import cursor_at
from tapkit.ide.prepare import cast_modules, header_parts, library_header_parts, prepare
from tapkit.ide.program import call_arity, focused
from tapkit.semantic.headers import compiled_header
from tapkit.syntax.library import library_files, system_tapset_dir
from tapkit.target import Target
from tests.ide.conftest import RELEASE, Docs, cursor


def test_cast_modules_reads_the_third_argument_only() -> None:
    text = ('x = @cast(p, "a", "kernel<x.h>")->b; y = @cast(f(a, "b,c"), "t")->c\n'
            'z = @cast(q, "t", "kernel<a.h>:kernel<b.h>")  @cast(r, "t", @mod) printf("<unknown>")\n')
    assert cast_modules(text) == {"kernel<x.h>", "kernel<a.h>:kernel<b.h>"}
    assert header_parts([text, '@cast(p, "t", "kernel:openafs:<sys/time.h>")']) == {
        "kernel<x.h>", "kernel<a.h>", "kernel<b.h>", "<sys/time.h>"}


def test_library_header_parts_include_macro_bodies() -> None:
    files = library_files(Target(release=RELEASE), (), system_tapset_dir())
    parts = library_header_parts([*files.macro_files, *files.script_files])
    # syscalls.stpm's @__ulong, task.stpm's task_struct cast, tcp.stp's functions
    assert {"kernel<linux/types.h>", "kernel<linux/sched.h>", "kernel<linux/tcp.h>"} <= parts
    assert not any(p in parts for p in ("<unknown>", "<NULL>"))


def test_call_arity(lib_docs: Docs) -> None:
    for marked, arity in [("probe begin { pri|ntf(\"%d %s\", 1, f(2, 3)) }", 3), ("probe begin { ex|it() }", 0),
                          ("probe begin { x = fo|o }", None), ("probe begin { pri|ntf(1, ", None)]:
        snap, uri, pos = lib_docs.at(marked)
        offset = snap.lines(uri).offset(pos)
        assert call_arity(snap.lexed(uri), _word_end(snap.document(uri).text, offset)) == arity, marked


def test_completing_a_called_name_resolves_the_call(lib_docs: Docs) -> None:
    """The word at a call is a placeholder function of the call's arity: no "unresolved function" (whose
    similar-names list over the whole library took most of such a completion)."""
    text, pos = cursor('probe begin {\n  prio = 3\n  pri|ntf("%d\\n", prio)\n}\n')
    snap, uri = lib_docs.open(text)
    offset = snap.lines(uri).offset(pos)
    cur = cursor_at(text, snap.document(uri).filename, offset, snap.lexed(uri))
    a = focused(snap, uri, offset, (cur.prefix_start, _word_end(text, offset)))
    assert a is not None and not [d for d in a.diagnostics if d.code == "sem.unresolved-function"]
    labels = {c.label: c for c in complete(snap, uri, pos).items}
    assert labels["prio"].detail == "local: long" and "printf" in labels and "println" in labels


@pytest.mark.slow
def test_prepare_compiles_headers_and_the_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.tooling import require_tool

    require_tool("make")
    if not os.path.isfile(f"/lib/modules/{RELEASE}/build/.config"):
        pytest.skip(f"no kbuild tree for {RELEASE}")
    monkeypatch.setenv("TAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    from tapkit.semantic.tracepoints import _catalog

    _catalog.cache_clear()  # loaded once per process: an earlier test may have loaded it from another cache dir
    seen: list[tuple[int, int, str]] = []
    failed = prepare(Target(release=RELEASE), {"kernel<linux/types.h>", "kernel<no/such/header.h>"},
                     lambda done, total, what: seen.append((done, total, what)))
    assert failed == [("kernel<no/such/header.h>", "does not compile")]
    assert seen[0][:2] == (0, 2) and seen[-1] == (2, 2, "done")
    compiled = compiled_header("kernel<linux/types.h>", RELEASE)  # now a cache hit: the object is there
    assert Path(compiled).is_file() and Path(compiled).parent == tmp_path / "cache" / "typequery"
    assert list((tmp_path / "cache" / "tracepoints").glob(f"{RELEASE}-*.json"))



def test_hover_on_the_print_family_reads_pass_1_only(lib_docs: Docs) -> None:
    """printf is a builtin: its hover is the builtin's signature and doc, without the probe's analysis (a probe
    on an executable without DWARF spent ~60 ms there on an error hover never shows)."""
    from tapkit.ide import hover, program

    text, pos = cursor('probe process("/bin/true").function("no_such_fn") {\n  pri|ntf("%d\\n", 1)\n}\n')
    snap, uri = lib_docs.open(text)
    found = hover(snap, uri, pos)
    assert found is not None and "printf" in found.markdown and found.span.line == 2
    offset = snap.lines(uri).offset(pos)
    assert not program.is_focused_built(snap, uri, offset)
    program.focused(snap, uri, offset)  # what the check above would have found had hover built it
    assert program.is_focused_built(snap, uri, offset)
