"""The `tapkit gen` command: files, headers, exit codes and messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapkit.cli import main


def test_writes_a_file_whose_header_regenerates_it(shapes: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "node.stp"
    assert main(["gen", "node", "--module", str(shapes), "--depth", "0", "-o", str(out)]) == 0
    text = out.read_text()
    header = text.splitlines()[3]
    home = os.path.expanduser("~")
    expected = ["tapkit", "gen", "node", "--module", str(shapes), "--depth", "0", "-o", str(out)]
    assert header.replace('"$HOME', home).replace('"', "").split() == ["*", *expected]
    assert "wrote" in capsys.readouterr().err
    assert main(["gen", "--depth", "0", "-o", str(out), "node", "--module", str(shapes)]) == 0
    assert "wrote" not in capsys.readouterr().err  # same bytes: left alone, whatever the option order
    assert out.read_text() == text


def test_a_directory_gets_one_file_per_type(shapes: Path, tmp_path: Path) -> None:
    assert main(["gen", "node", "union value", "--module", str(shapes), "-o", f"{tmp_path}/"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.stp", "value.stp"]
    assert "function Getinner:string" in (tmp_path / "node.stp").read_text()  # embedded types go with their root


def test_stdout_and_exercise(shapes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gen", "inner", "--module", str(shapes), "--exercise", str(tmp_path / "use.stp")]) == 0
    assert "function Printinner (inner:long)" in capsys.readouterr().out
    assert "\tPrintinner(0)\n" in (tmp_path / "use.stp").read_text()


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["color"], 1, "'color' is an enum; tapkit gen makes accessors for structs and unions"),
    (["nodes"], 1, "no type named 'nodes'; did you mean 'node'"),
    (["task"], 1, "task_pid would collide with the SystemTap tapset library; choose a --prefix"),
    (["probes"], 2, "name at least one function or glob"),
    (["probes", "nothing_*"], 1, "matches 'nothing_*'"),
    (["node", "--lock", "afs_lock"], 2, "--lock wants STRUCT=FUNCTION"),
])
def test_errors(shapes: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str) -> None:
    assert main(["gen", *argv, "--module", str(shapes)]) == code
    assert message in capsys.readouterr().err


def test_missing_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gen", "vcache", "--module", "/nonexistent/openafs.ko"]) == 1
    assert "/nonexistent/openafs.ko" in capsys.readouterr().err
