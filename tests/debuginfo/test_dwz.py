"""Files processed by dwz read the same as the originals: partial units reached through
DW_FORM_ref_addr, and supplementary files (.gnu_debugaltlink) holding shared DIEs and strings."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tapkit.debuginfo import Debuginfo, DebuginfoError, Function, open_debuginfo
from tapkit.debuginfo.layout import format_layout, struct_layout
from tapkit.debuginfo.store import function_json, pack_function, retype_function
from tests.debuginfo.conftest import Builds


def same_answers(a: Debuginfo, b: Debuginfo) -> None:
    names = {(t.kind, t.name) for t in a.type_names()}
    assert names == {(t.kind, t.name) for t in b.type_names()}
    for kind, name in names:
        if kind in ("struct", "union"):
            left = format_layout(struct_layout(a, a.lookup_type(f"{kind} {name}").id))
            assert left == format_layout(struct_layout(b, b.lookup_type(f"{kind} {name}").id)), name

    def functions(info: Debuginfo) -> list[tuple[str, list[tuple[str, str]]]]:
        return [(f.name, [(v.name, info.spell(v.type)) for v in (*f.params, *f.locals)]) for f in info.functions()]

    assert functions(a) == functions(b)
    assert [spelled(a, f) for f in a.functions()] == [spelled(b, f) for f in b.functions()]


def spelled(info: Debuginfo, fn: Function) -> dict[str, Any]:
    """A function's whole row (addresses, locations, inlined copies) with type ids spelled out."""
    return function_json(retype_function(pack_function(fn), info.spell))


def test_partial_units_in_the_same_file(builds: Builds) -> None:
    plain, compressed = open_debuginfo(builds.two), open_debuginfo(builds.two_dwz)
    assert compressed.meta["units"] > plain.meta["units"]  # dwz added a partial unit
    same_answers(plain, compressed)


def test_supplementary_file(builds: Builds) -> None:
    same_answers(open_debuginfo(builds.o2), open_debuginfo(builds.multi))


def test_missing_supplementary_file_is_named(builds: Builds, tmp_path: Path) -> None:
    lonely = tmp_path / "shapes-o2"
    shutil.copy(builds.multi, lonely)  # common.debug stays behind
    with pytest.raises(DebuginfoError) as err:
        open_debuginfo(lonely, force=True)  # not the index cached from the original
    text = str(err.value)
    assert text.startswith(str(lonely)) and "dwz supplementary file" in text and "common.debug" in text
