"""The formatter: canonical layout, idempotent, every comment kept, meaning never changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.ide.formatting import FormatOptions, format_document, format_text, minimal_edits
from tapkit.ide.line_index import LineIndex, Position
from tapkit.ide.meaning import meaning_changed
from tapkit.syntax import collect_library_macros, library_files, read_source, system_tapset_dir
from tapkit.target import Target
from tests.ide.conftest import RELEASE, Docs

T = Target(release=RELEASE)
TWO = FormatOptions("  ")

MESSY = """\
#! /usr/bin/env stap
global   a,b[10] ,w%[5]
global x=-1


probe kernel.function("sys_*").call ?,syscall.{open,close}!, begin(1) if (x>0)
{

    a[1,2]=x+-3*(y-1) ;  b[a]++; ++c
  if(x) printf("%d\\n",x)
  else
        y--
	foreach([k1,k2+] in a- limit 5) { println(k1) }
   for(i=0;i<10;i++) { continue }
    s = "a" . "b"   // concatenation
    p = @cast(ptr,"struct task_struct","kernel")->pid
    q = &@cast(p, "x")->y
    if ([1,2] in a) delete a[1,*]
    z = x
      + 1

}
function foo:long(x:long, y) { return x+y }
"""

CANONICAL = """\
#! /usr/bin/env stap
global a, b[10], w%[5]
global x = -1

probe kernel.function("sys_*").call?, syscall.{open, close}!, begin(1) if (x > 0)
{
  a[1, 2] = x + -3 * (y - 1); b[a]++; ++c
  if (x) printf("%d\\n", x)
  else
    y--
  foreach ([k1, k2+] in a- limit 5) { println(k1) }
  for (i = 0; i < 10; i++) { continue }
  s = "a" . "b" // concatenation
  p = @cast(ptr, "struct task_struct", "kernel")->pid
  q = &@cast(p, "x")->y
  if ([1, 2] in a) delete a[1, *]
  z = x
    + 1
}
function foo:long (x:long, y) { return x + y }
"""


def test_canonical_layout() -> None:
    assert format_text(MESSY, TWO) == CANONICAL
    assert format_text(CANONICAL, TWO) == CANONICAL
    assert meaning_changed(MESSY, CANONICAL, "t.stp", T) is None


def test_indent_unit_comes_from_the_options() -> None:
    assert format_text("probe begin {\nx=1\n}\n") == "probe begin {\n\tx = 1\n}\n"
    assert format_text("probe begin {\nx=1\n}\n", FormatOptions("    ")) == "probe begin {\n    x = 1\n}\n"


def test_whitespace_that_means_something_is_kept() -> None:
    # `sys*call` is one probe-point name; `sys * call` is a different one
    assert format_text("probe sys*call , sys * call {}\n") == "probe sys*call, sys * call {}\n"
    # a macro call's parenthesis stays where it was written
    assert format_text("probe begin { x = @m (1); y = @m(2) }\n") == "probe begin { x = @m (1); y = @m(2) }\n"
    # two minus signs never become a decrement
    assert format_text("probe begin { x = - -y }\n") == "probe begin { x = - -y }\n"
    assert format_text("probe begin { x = a - - y }\n") == "probe begin { x = a - -y }\n"


def test_comments_are_kept_and_move_with_their_code() -> None:
    src = "probe begin {\n        /* two\n           lines */\n   x = 1 # trailing\n// last\n}\n"
    assert format_text(src, TWO) == "probe begin {\n  /* two\n     lines */\n  x = 1 # trailing\n  // last\n}\n"


def test_preprocessor_branches_that_open_braces_differently() -> None:
    src = ("probe begin {\n%( arch == \"x86_64\" %?\nif (a) {\n%:\nif (b) {\n%)\nx = 1\n}\n}\n"
           "@define m\n%(\nx = 1\n%)\n")
    want = ("probe begin {\n  %( arch == \"x86_64\" %?\n  if (a) {\n  %:\n  if (b) {\n  %)\n    x = 1\n  }\n}\n"
            "@define m\n%(\n  x = 1\n%)\n")
    assert format_text(src, TWO) == want
    assert format_text(want, TWO) == want


def test_line_endings_and_blank_lines() -> None:
    assert format_text("probe begin {\r\n\r\n\r\nx=1\r\n\r\n}\r\n\r\n") == "probe begin {\r\n\tx = 1\r\n}\r\n"
    assert format_text("\n\n\nglobal a\n\n\n\nglobal b") == "global a\n\nglobal b\n"
    assert format_text("") == ""


def test_unlexable_text_is_left_alone() -> None:
    for src in ("probe begin { x = `y` }\n", 'probe begin { x = "open\n}\n'):
        assert format_text(src) == src


def test_the_meaning_check_sees_glued_pieces_and_dropped_comments() -> None:
    assert meaning_changed("probe a*b {}\n", "probe a * b {}\n", "t.stp", T) is not None  # stap rejects the 2nd
    assert meaning_changed("probe a*b {}\n", "probe a*b {}  \n", "t.stp", T) is None
    assert meaning_changed("probe a {} # x\n", "probe a {}\n", "t.stp", T) == "comments differ"
    assert meaning_changed("probe a { x = 1 }\n", "probe a { x = 2 }\n", "t.stp", T) is not None


def test_minimal_edits_rebuild_the_new_text() -> None:
    old = "probe begin {\nx=1\n  y = 2\n}\n"
    new = format_text(old)
    edits = minimal_edits(old, new, "t.stp")
    assert [(e.span.line, e.span.end_line) for e in edits] == [(2, 4)]  # lines 2-3 only, not the braces
    index = LineIndex(old)
    out = old
    for e in sorted(edits, key=lambda e: (e.span.line, e.span.column), reverse=True):
        a = index.offset(Position(e.span.line, e.span.column))
        b = index.offset(Position(e.span.end_line, e.span.end_column))
        out = out[:a] + e.new_text + out[b:]
    assert out == new


def test_format_document_offers_no_edit_for_canonical_text(docs: Docs) -> None:
    snap, uri = docs.open(CANONICAL)
    assert format_document(snap, uri, TWO) == []
    snap, uri = docs.open(MESSY)
    assert format_document(snap, uri, TWO)


def _corpus() -> list[tuple[Path, bool]]:
    roots = [(system_tapset_dir(), True), (Path("/usr/share/systemtap/examples"), False)]
    return [(p, lib) for root, lib in roots if root.is_dir() for p in sorted(root.rglob("*.stp*"))]


@pytest.mark.slow
def test_whole_tapset_library_and_examples_keep_their_meaning_and_format_stably() -> None:
    from tests.tooling import require_tool

    require_tool("stap")
    files = _corpus()
    assert len(files) > 700
    macros = collect_library_macros(library_files(T).macro_files, T)
    problems = []
    for path, library in files:
        text = read_source(path)
        out = format_text(text, FormatOptions(), str(path))
        if format_text(out, FormatOptions(), str(path)) != out:
            problems.append(f"{path}: formatting twice changes it again")
            continue
        seen = None if path.suffix == ".stpm" else macros
        why = meaning_changed(text, out, str(path), T, seen, library)
        if why is not None:
            problems.append(f"{path}: {why}")
    assert problems == []
