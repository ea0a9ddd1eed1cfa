"""Functions, parameters, locals, locations and globals of the C fixtures, and `tapkit funcs` against stap -L."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tapkit.cli import main
from tapkit.debuginfo import Debuginfo, Function, open_debuginfo
from tapkit.debuginfo.location import decode, describe
from tests.debuginfo.conftest import FIXTURES, Builds
from tests.tooling import stap_offline

SOURCE = FIXTURES / "shapes.c"


def decl_line(text: str) -> int:
    """The line of shapes.c that starts with text (so the tests follow edits of the fixture)."""
    for number, line in enumerate(SOURCE.read_text().splitlines(), 1):
        if line.startswith(text):
            return number
    raise AssertionError(text)


def only(info: Debuginfo, name: str) -> Function:
    found = info.functions(name)
    assert len(found) == 1, found
    return found[0]


def test_parameters_locals_and_declarations_at_O0(builds: Builds) -> None:
    info = open_debuginfo(builds.dw5)
    walk = only(info, "walk")
    assert [(v.name, info.spell(v.type)) for v in walk.params] == [("head", "struct list *"), ("limit", "int")]
    assert [(v.name, info.spell(v.type), v.block) for v in walk.locals] == [("n", "long int", 0),
                                                                            ("p", "struct list *", 0)]
    assert walk.decl is not None and walk.decl.file == str(SOURCE)
    assert walk.decl.line == decl_line("__attribute__((noinline)) long walk(")
    assert walk.external and not walk.static and walk.has_body
    assert walk.frame_base is not None and describe(walk.frame_base.expr or b"") == "DW_OP_call_frame_cfa"
    for var in (*walk.params, *walk.locals):
        assert var.location is not None and var.location.expr is not None
        assert decode(var.location.expr)[0].name == "fbreg"
    add = only(info, "add")
    assert add.static and [(v.name, v.block) for v in add.locals] == [("sum", 0), ("inner", 1)]
    inner = add.locals[1]
    assert inner.scope and add.low_pc is not None and add.high_pc is not None
    assert add.low_pc <= inner.scope[0][0] < inner.scope[0][1] <= add.high_pc
    assert info.spell(only(info, "report").params[0].type) == "const char *"


def test_O2_location_lists_inlining_and_cold_split(builds: Builds) -> None:
    for path in (builds.o2, builds.o2_dw4):
        info = open_debuginfo(path)
        checked = only(info, "checked")
        assert len(checked.ranges) == 2, "gcc splits checked() into hot and cold parts"
        assert checked.low_pc is None and checked.entry_address == checked.ranges[0][0]
        walk = only(info, "walk")
        head = walk.params[0]
        assert head.location is not None and head.location.ranges, "a location list at -O2"
        assert walk.entry_address is not None and head.available_at(walk.entry_address)
        first = head.location.ranges[0]
        assert first.low == walk.entry_address and describe(first.expr) == "DW_OP_reg5 (rdi)"
        square = only(info, "square")
        assert square.inline == "declared_inlined" and not square.has_body
        assert len(square.inline_sites) >= 2
        bodies = [r for fn in info.functions() for r in (fn.ranges or [(fn.low_pc, fn.high_pc)]) if r[0] is not None]
        assert all(any(lo <= site.entry < hi for lo, hi in bodies) for site in square.inline_sites)
        add = only(info, "add")
        assert add.inline_sites and not add.has_body
        site = add.inline_sites[0]
        assert site.call is not None and site.call.file == str(SOURCE)
        assert site.call.line == decl_line("\treturn square(x) + add(x, 1);")
        params = {v.name: v for v in site.variables if v.kind == "param"}
        assert set(params) == {"a", "b"} and all(p.available_at(site.entry) for p in params.values())


def test_globals(builds: Builds) -> None:
    info = open_debuginfo(builds.dw5)
    counter = info.variable("counter")
    assert not counter.external and info.spell(counter.type) == "int"
    total = info.variable("global_total")
    assert total.external and total.location is not None and decode(total.location.expr or b"")[0].name == "addr"
    assert info.spell(info.variable("names").type) == "const char *[2]"
    assert info.spell(info.variable("g_chain").type) == "chain_t"
    assert [v.name for v in info.variables("g_a*")] == ["g_aligned", "g_anon", "g_anon_typedef", "g_arrays"]


def test_pie_and_non_pie_addresses(builds: Builds) -> None:
    pie, fixed = open_debuginfo(builds.dw5), open_debuginfo(builds.nopie)
    assert pie.meta["elf_type"] == 3 and fixed.meta["elf_type"] == 2
    main_pie, main_fixed = only(pie, "main"), only(fixed, "main")
    assert main_pie.low_pc is not None and main_fixed.low_pc is not None
    assert main_pie.low_pc < 0x100000 <= 0x400000 <= main_fixed.low_pc


def test_shared_object(builds: Builds) -> None:
    info = open_debuginfo(builds.shared)
    hit = only(info, "counter_hit")
    assert hit.external and [p.name for p in hit.params] == ["c", "by"]
    assert info.spell(hit.return_type) == "long unsigned int"
    assert only(info, "link_counter").static
    assert [m.name for m in info.members(info.lookup_type("counter").id)] == ["name", "hits", "next"]


def _stap_listing(binary: Path) -> list[str]:
    proc = stap_offline("-L", f'process("{binary}").function("*")')
    assert proc.returncode == 0, proc.stderr[-2000:]
    return sorted(line for line in proc.stdout.splitlines() if "@" in line)


def _tapkit_listing(binary: Path) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["funcs", "*", "--module", str(binary)]) == 0
    return sorted(out.getvalue().splitlines())


@pytest.mark.parametrize("variant", ["dw5", "dw4", "nopie", "shared", "o2", "o2_dw4", "two", "two_dwz", "multi"])
def test_funcs_lists_what_stap_L_lists(builds: Builds, variant: str) -> None:
    """Same lines as stap -L: declaration sites, parameters and entry-visible locals with their stap types,
    inlined-only functions with their first copy's variables, for -O0, -O2, DWARF 4 and 5, dwz files."""
    binary = getattr(builds, variant)
    assert _tapkit_listing(binary) == _stap_listing(binary)
