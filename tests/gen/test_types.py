"""tapkit gen TYPE on the project's own gcc -g fixture: the model, the golden text, and real stap's verdict."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapkit.debuginfo import UnknownName, open_debuginfo
from tapkit.gen import GenError, GenRequest, TypeOptions, build_types, generate
from tapkit.gen.target import GenTarget
from tests.gen.conftest import GOLDEN
from tests.tooling import stap_offline

COMMAND = "tapkit gen node --module shapes"


def request(shapes: Path, *what: str, **kw: object) -> GenRequest:
    return GenRequest(what=what or ("node",), module=str(shapes), command=COMMAND, **kw)  # type: ignore[arg-type]


def placeholders(text: str, shapes: Path) -> str:
    return text.replace(os.path.realpath(shapes), "@SHAPES@")


def model(shapes: Path, *roots: str, **options: object):  # type: ignore[no-untyped-def]
    info = open_debuginfo(str(shapes))
    return build_types(info, roots or ("node",), GenTarget("process", os.path.realpath(shapes)),
                       TypeOptions(**options))  # type: ignore[arg-type]


def test_golden_node(shapes: Path) -> None:
    result = generate(request(shapes, check=False))
    text = placeholders(result.outputs[0].text, shapes)
    golden = GOLDEN / "shapes_node.stp"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_same_input_same_bytes(shapes: Path) -> None:
    first = generate(request(shapes, "node", "union value", check=False))
    second = generate(request(shapes, "node", "union value", check=False))
    assert first.outputs == second.outputs and first.exercise == second.exercise


def test_member_kinds(shapes: Path) -> None:
    types = model(shapes)
    node = types.types[0]
    by_path = {a.member: a for a in node.accessors}
    # bitfields: read by value, with the bit position inside their storage unit
    assert (by_path["flags"].kind, by_path["flags"].bit_offset, by_path["flags"].bit_size) == ("bitfield", 0, 3)
    assert (by_path["kind"].bit_offset, by_path["delta"].bit_offset, by_path["delta"].bit_size) == (3, 8, 4)
    # char arrays become bounded strings; other arrays and embedded structs are addresses
    assert (by_path["name"].kind, by_path["name"].length) == ("string", 16)
    assert by_path["raw"].kind == by_path["matrix"].kind == by_path["in"].kind == "address"
    # members of the anonymous union are the node's own
    assert by_path["ival"].path == ("ival",) and by_path["sval"].offset == by_path["ival"].offset == 48
    # the unnamed struct type of pos is reached by path, in line
    assert by_path["pos.x"].chain == "->pos->x" and by_path["pos.y"].offset == 60
    # a pointer to the struct itself is a value, not a reason to recurse
    assert by_path["next"].kind == "value"
    assert "weight" not in by_path and any(s.startswith("weight (double)") for s in node.skipped)
    fields = {f.label: f for f in node.fields}
    assert fields["next"].format == "%p" and fields["flags"].format == "%u" and fields["delta"].format == "%d"
    assert fields["name"].format == '"%s"' and fields["kids"].format == "[%p,%p]"
    assert fields["pos"].format == "{x=%d y=%d}"
    assert fields["in"].exprs == ("Getinner(node_in(node))",)
    assert fields["when"].exprs == ("Getstamp_t(node_when(node))",)
    assert fields["raw"].format == "@%p"  # 32 elements: more than SMALL_ARRAY


def test_nested_types_get_their_own_functions(shapes: Path) -> None:
    types = model(shapes)
    assert [(s.name, s.cast_name, s.root, s.group) for s in types.types] == [
        ("node", "node", True, "node"), ("inner", "inner", False, "node"), ("stamp_t", "stamp_t", False, "node")]
    inner = types.types[1]
    assert [a.name for a in inner.accessors] == ["inner_a", "inner_b", "inner_tag"]


def test_depth_limits_paths_through_named_structs(shapes: Path) -> None:
    shallow = {a.member for a in model(shapes, depth=0).types[0].accessors}
    deep = {a.member for a in model(shapes, depth=1).types[0].accessors}
    assert "in" in shallow and "in.a" not in shallow and "in.a" in deep and "when.micros" in deep
    assert "pos.x" in shallow  # an unnamed type is not a level
    assert "ival" in shallow


def test_nest_zero_shows_embedded_types_as_addresses(shapes: Path) -> None:
    types = model(shapes, nest=0)
    assert [s.name for s in types.types] == ["node"]
    assert {f.label: f.format for f in types.types[0].fields}["in"] == "@%p"


def test_prefix_and_union_root(shapes: Path) -> None:
    types = model(shapes, "union value", prefix="shp_")
    value = types.types[0]
    assert (value.cast_name, value.kind, value.get_name) == ("union value", "union", "shp_Getvalue")
    assert {a.name for a in value.accessors} >= {"shp_value_number", "shp_value_text", "shp_value_pair"}


def test_user_space_reads_user_memory(shapes: Path) -> None:
    text = generate(request(shapes, check=False)).outputs[0].text
    assert f'user_string_n(&@cast(node, "node", "{os.path.realpath(shapes)}")->name, 16)' in text
    assert "kernel_string" not in text


def test_library_collision_needs_a_prefix(shapes: Path) -> None:
    with pytest.raises(GenError, match=r"task_pid would collide .*--prefix"):
        generate(request(shapes, "task"))
    ok = generate(request(shapes, "task", prefix="shp_"))
    assert ok.verdict.ok


def test_not_a_struct(shapes: Path) -> None:
    with pytest.raises(GenError, match="'color' is an enum"):
        model(shapes, "color")
    with pytest.raises(UnknownName, match="did you mean 'node'"):
        model(shapes, "nodes")


def test_templates_override(shapes: Path, tmp_path: Path) -> None:
    (tmp_path / "header.j2").write_text(
        '{% macro header(source, command, what) -%}\n# house header: {{ command }}\n{%- endmacro %}\n')
    text = generate(request(shapes, check=False, templates=str(tmp_path))).outputs[0].text
    assert text.startswith(f"# house header: {COMMAND}\n")
    assert "function Getnode:string (node:long)" in text


def test_checked_by_tapkit_and_real_stap(shapes: Path) -> None:
    stap_offline("-V")  # skips (fails in CI) without stap
    stap = (str(Path(__file__).resolve().parents[2] / "scripts" / "stap-offline"),)
    result = generate(request(shapes, "node", "union value", check_with_stap=stap))
    assert result.verdict.ran == ("parse", "check", "stap -p2")
    assert result.verdict.ok, [d.message for d in result.diagnostics]


def test_a_bad_template_is_caught(shapes: Path, tmp_path: Path) -> None:
    """What the checks are for: text that stap would reject is reported, not written."""
    bad = (Path(__file__).resolve().parents[2] / "tapkit" / "gen" / "types.stp.j2").read_text()
    (tmp_path / "types.stp.j2").write_text(bad.replace("{{ read(spec, a) }}", "{{ read(spec, a) }}x"))
    result = generate(request(shapes, templates=str(tmp_path)))
    assert not result.verdict.ok
