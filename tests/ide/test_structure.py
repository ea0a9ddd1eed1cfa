"""Raw-token structure (regions, depth, branches, groups) and the cursor context built on it."""

from __future__ import annotations

from tapkit.ide.cursor import Spot, cursor_at
from tapkit.ide.structure import Region, places
from tapkit.syntax.tokens import lex
from tests.ide.conftest import cursor


def regions(text: str) -> list[tuple[str, str, int]]:
    toks = lex(text, "t").tokens
    return [(t.text, p.region.value, p.depth) for t, p in zip(toks, places(toks), strict=True)]


def test_headers_bodies_and_groups() -> None:
    got = regions('probe kernel.{function("f"),statement("s")}.call { x }\nfunction f:long () { }\nglobal g\n')
    assert got[:4] == [("probe", "top", 0), ("kernel", "probe-header", 0), (".", "probe-header", 0),
                       ("{", "probe-header", 0)]
    assert ("function", "probe-header", 0) in got  # a component, not an item
    assert ("x", "body", 1) in got
    assert ("long", "function-header", 0) in got and ("g", "global", 0) in got


def test_branches_keep_one_depth_and_macros_have_bodies() -> None:
    text = "probe b {\n%( arch == \"x\" %?\n if (a) {\n%:\n if (c) {\n%)\n y\n }\n}\n@define m(p) %( @p %)\n"
    got = regions(text)
    assert ("arch", "condition", 1) in got
    assert ("y", "body", 2) in got
    assert ("%(", "macro-header", 0) in got
    assert ("@p", "macro-body", 0) in got
    toks = lex(text, "t").tokens
    last = places(toks)[-1]
    assert last.macros == 1 and last.frame_macro  # the closing %) of the macro


def test_cursor_spots_and_probe_paths() -> None:
    def at(marked: str) -> object:
        text, pos = cursor(marked)
        offset = sum(len(line) + 1 for line in text.split("\n")[:pos.line - 1]) + pos.column - 1
        return cursor_at(text, "t", offset)

    c = at('probe kernel.function("x").ret|')
    assert c.prefix == "ret" and c.probe_path == ("kernel", "function")  # type: ignore[attr-defined]
    c = at("probe sys*ca.|")
    assert c.probe_path == ("sys*ca",)  # type: ignore[attr-defined]
    assert at("probe a if (x|").in_condition  # type: ignore[attr-defined]
    assert at("# x|").spot is Spot.COMMENT  # type: ignore[attr-defined]
    assert at('x = "a|').spot is Spot.STRING  # type: ignore[attr-defined]
    assert at("function f() %{ |").spot is Spot.EMBEDDED  # type: ignore[attr-defined]
    assert at("probe begin { x|").place.region is Region.BODY  # type: ignore[attr-defined]
