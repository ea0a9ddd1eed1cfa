"""`tapkit index`, `tapkit ptype`, `tapkit funcs` on the C fixtures: output, --json, exit codes, errors."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

from tapkit.cli import main
from tests.debuginfo.conftest import Builds
from tests.debuginfo.pahole import pahole_blocks


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_index_summarizes(builds: Builds) -> None:
    code, out, _ = run("index", str(builds.dw5))
    assert code == 0
    assert out.startswith(f"shapes-dw5: {builds.dw5}\n")
    assert "DWARF, build-id" in out and "1 compile units" in out and "functions" in out
    code, out, _ = run("index", str(builds.dw5), "--json")
    data = json.loads(out)
    assert data["format"] == "dwarf" and data["structs"] >= 14 and data["functions"] == 6
    assert Path(data["index"]).exists()


def test_ptype_prints_pahole_layout(builds: Builds) -> None:
    code, out, _ = run("ptype", "holes", "--module", str(builds.dw5))
    assert code == 0 and out == pahole_blocks(builds.dw5)[("struct", "holes")]
    code, out, _ = run("ptype", "struct anon", "--module", str(builds.dw5), "--json")
    data = json.loads(out)
    assert data["size"] == 8 and [m["name"] for m in data["members"]] == ["kind", None, "tail"]
    assert [m["name"] for m in data["members"][1]["members"]] == ["i", "f", None]


def test_ptype_typedef_enum_and_member_chain(builds: Builds) -> None:
    code, out, _ = run("ptype", "point_t", "--module", str(builds.dw5))
    assert code == 0 and out.startswith("typedef struct point point_t;\nstruct point {")
    code, out, _ = run("ptype", "enum color", "--module", str(builds.dw5))
    assert "BLUE  = -1," in out and "/* size: 4 */" in out
    code, out, _ = run("ptype", "big->h[2].d", "--module", str(builds.dw5))
    assert code == 0 and out.startswith("struct big->h[2].d: int (offset 84")
    code, out, _ = run("ptype", "list->next->payload", "--module", str(builds.dw5), "--json")
    assert json.loads(out)["offset"] == 24


def test_ptype_unknown_names_suggest(builds: Builds) -> None:
    code, out, err = run("ptype", "struct holez", "--module", str(builds.dw5))
    assert code == 1 and out == ""
    assert err == f"tapkit: error: {builds.dw5}: no struct named 'holez'; did you mean 'holes'?\n"
    code, _, err = run("ptype", "big->hh", "--module", str(builds.dw5))
    assert code == 1 and "no member of struct big named 'hh'; did you mean 'h'" in err


def test_missing_or_unreadable_inputs_exit_1(tmp_path: Path) -> None:
    code, _, err = run("ptype", "x", "--module", str(tmp_path / "missing.ko"))
    assert code == 1 and "missing.ko: no such file" in err
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"\x7fELF" + b"\0" * 10)
    code, _, err = run("index", str(junk))
    assert code == 1 and str(junk) in err and "Traceback" not in err


def test_funcs_lists_and_jsons(builds: Builds) -> None:
    code, out, _ = run("funcs", "wal*", "--module", str(builds.dw5))
    assert code == 0
    assert out == (f'process("{builds.dw5}").function("walk@{Path(__file__).parent}/fixtures/shapes.c:30") '
                   "$head:struct list* $limit:int $n:long int $p:struct list*\n")
    code, out, _ = run("funcs", "checked", "--module", str(builds.o2), "--json")
    [fn] = json.loads(out)
    assert len(fn["ranges"]) == 2 and fn["params"][0]["name"] == "x"
    assert fn["params"][0]["location"][0]["expr"] == "DW_OP_reg5 (rdi)"
    code, _, err = run("funcs", "wlk*", "--module", str(builds.dw5))
    assert code == 1 and "did you mean 'walk'" in err


def test_cli_runs_as_a_program(builds: Builds) -> None:
    proc = subprocess.run([sys.executable, "-m", "tapkit.cli", "ptype", "point", "--module", str(builds.dw5)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("struct point {")
