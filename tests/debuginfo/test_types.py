"""Types read from DWARF 4 and 5 of the C fixtures: layouts against pahole, members, chains, lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.debuginfo import (
    Array,
    Base,
    Debuginfo,
    Enum,
    Pointer,
    Struct,
    Typedef,
    UnknownName,
    open_debuginfo,
)
from tapkit.debuginfo.layout import format_layout, struct_layout
from tests.debuginfo.conftest import Builds
from tests.debuginfo.pahole import members, normalize, pahole_blocks

FIXTURE_STRUCTS = ["bits", "holes", "anon", "nested_named", "fptrs", "qual", "arrays", "big", "list", "with_enum",
                   "uses_fwd", "packed_s", "aligned_s", "point"]


@pytest.fixture(scope="module", params=["dw5", "dw4", "o2", "o2_dw4", "nopie"])
def info(request: pytest.FixtureRequest, builds: Builds) -> Debuginfo:
    path: Path = getattr(builds, request.param)
    return open_debuginfo(path)


def test_every_fixture_struct_matches_pahole(info: Debuginfo) -> None:
    blocks = pahole_blocks(Path(info.file))
    for name in FIXTURE_STRUCTS:
        theirs = blocks[("struct", name)]
        mine = format_layout(struct_layout(info, info.lookup_type(f"struct {name}").id))
        assert members(mine) == members(theirs), name
        if name not in ("fptrs", "qual"):  # pahole misprints `int (*(*t)[4])(void)` and `char *const p`
            assert normalize(mine) == normalize(theirs), name


def test_union_matches_pahole(info: Debuginfo) -> None:
    theirs = pahole_blocks(Path(info.file))[("union", "value")]
    mine = format_layout(struct_layout(info, info.lookup_type("union value").id))
    assert mine == theirs


def test_pahole_text_is_identical_where_no_alignment_is_involved(info: Debuginfo) -> None:
    blocks = pahole_blocks(Path(info.file))
    for name in ["bits", "holes", "anon", "nested_named", "arrays", "big", "with_enum", "uses_fwd"]:
        mine = format_layout(struct_layout(info, info.lookup_type(name).id))
        assert mine == blocks[("struct", name)], name


def test_bitfields_carry_absolute_bit_offsets(info: Debuginfo) -> None:
    bits = info.lookup_type("struct bits")
    assert isinstance(bits, Struct)
    got = {m.name: (m.bit_offset, m.bit_size) for m in bits.members}
    assert got == {"a": (0, 3), "b": (3, 5), "c": (8, 7), "d": (16, None), "e": (64, None), "f": (128, 1)}
    c = info.member(bits.id, "c")
    assert (c.offset, c.bit_offset, c.bit_size, c.size) == (0, 8, 7, 4)


def test_anonymous_members_are_lifted(info: Debuginfo) -> None:
    names = [(m.name, m.offset, m.size) for m in info.members(info.lookup_type("anon").id)]
    assert names == [("kind", 0, 4), ("i", 4, 4), ("f", 4, 4), ("lo", 4, 2), ("hi", 6, 2), ("tail", 8, 0)]
    tail = info.type(info.member(info.lookup_type("anon").id, "tail").type)
    assert isinstance(tail, Array) and tail.count is None  # flexible array member


def test_multidimensional_arrays_nest(info: Debuginfo) -> None:
    grid = info.type(info.member(info.lookup_type("arrays").id, "grid").type)
    dims = []
    while isinstance(grid, Array):
        dims.append(grid.count)
        grid = info.type(grid.element)
    assert dims == [2, 3, 4] and isinstance(grid, Base) and grid.name == "int"
    assert info.spell(info.member(info.lookup_type("arrays").id, "grid").type, "grid") == "int grid[2][3][4]"


def test_typedef_chain_resolves_to_the_base_type(info: Debuginfo) -> None:
    t = info.lookup_type("chain_t")
    chain = []
    while isinstance(t, Typedef):
        chain.append(t.name)
        t = info.type(t.target)
    assert chain == ["chain_t", "my_u32", "u32"]
    assert isinstance(t, Base) and t.name == "unsigned int" and t.encoding == "unsigned"
    assert info.sizeof(info.lookup_type("chain_t").id) == 4


def test_enum_values_keep_their_sign(info: Debuginfo) -> None:
    color = info.lookup_type("enum color")
    assert isinstance(color, Enum)
    assert [(e.name, e.value) for e in color.enumerators] == [("RED", 0), ("GREEN", 5), ("BLUE", -1)]


def test_spelling_of_function_pointers_and_qualifiers(info: Debuginfo) -> None:
    fptrs = info.lookup_type("fptrs").id
    spelled = {m.name: info.spell(m.type, m.name) for m in info.members(fptrs)}
    assert spelled == {"cb": "int (*cb)(int, const char *)", "v": "void (*v)(void)",
                       "table": "int (*(*table)[4])(void)", "log": "void (*log)(const char *, ...)"}
    qual = {m.name: info.spell(m.type, m.name) for m in info.members(info.lookup_type("qual").id)}
    assert qual == {"cv": "volatile const int cv", "cp": "const char *cp", "pc": "char *const pc",
                    "vl": "volatile long unsigned int vl", "cpt": "const point_t cpt"}
    assert info.stap_type_name(info.member(fptrs, "cb").type) == "int (*) (int, char const*)"


def test_walk_follows_pointers_members_and_indexes(info: Debuginfo) -> None:
    big = info.lookup_type("big").id
    access = info.walk(big, "->h[2].d")
    assert [s.kind for s in access.steps] == ["member", "index", "member"]
    assert sum(s.offset for s in access.steps) == 2 * 32 + 20
    assert info.spell(access.type) == "int"
    lst = info.walk(info.lookup_type("list").id, "->next->next->payload")
    assert [s.kind for s in lst.steps] == ["member", "deref", "member", "deref", "member"]
    assert lst.steps[-1].offset == 24
    with pytest.raises(UnknownName) as err:
        info.walk(big, "->zz")
    assert "'z'" in str(err.value)


def test_forward_declaration_completes_by_name(info: Debuginfo) -> None:
    f = info.type(info.member(info.lookup_type("uses_fwd").id, "f").type)
    assert isinstance(f, Pointer)
    target = info.strip(f.target)
    assert isinstance(target, Struct) and not target.complete and target.name == "fwd"


def test_lookup_prefers_struct_and_suggests_close_names(info: Debuginfo) -> None:
    point = info.lookup_type("point")
    assert isinstance(point, Struct)
    assert isinstance(info.lookup_type("point_t"), Typedef)
    with pytest.raises(UnknownName) as err:
        info.lookup_type("struct holez")
    assert err.value.suggestions[0] == "holes"
    assert "did you mean 'holes'" in str(err.value)


def test_type_names_for_completion(info: Debuginfo) -> None:
    got = [(t.kind, t.name) for t in info.type_names("ho")]
    assert ("struct", "holes") in got
    assert all(name.startswith("ho") for _, name in got)
    assert ("typedef", "chain_t") in [(t.kind, t.name) for t in info.type_names("chain")]


def test_dwarf4_and_dwarf5_agree(builds: Builds) -> None:
    five, four = open_debuginfo(builds.dw5), open_debuginfo(builds.dw4)
    for name in FIXTURE_STRUCTS:
        a = struct_layout(five, five.lookup_type(name).id).to_json()
        b = struct_layout(four, four.lookup_type(name).id).to_json()
        a.pop("decl")
        b.pop("decl")
        assert a == b, name


def test_btf_of_the_same_program_gives_the_same_layouts(builds: Builds) -> None:
    if builds.btf is None:
        pytest.skip("pahole cannot encode BTF here")
    dwarf, btf = open_debuginfo(builds.dw5), open_debuginfo(builds.btf)
    assert btf.source == "btf" and dwarf.source == "dwarf"
    for name in FIXTURE_STRUCTS:
        if name == "uses_fwd":
            continue
        a = members(format_layout(struct_layout(dwarf, dwarf.lookup_type(name).id)))
        b = members(format_layout(struct_layout(btf, btf.lookup_type(name).id)))
        assert a == b, name
