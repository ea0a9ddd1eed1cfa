"""`tapkit check`: exit codes, stap-like printing, --json, script arguments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tooling import stap_release


def tapkit_check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tapkit.cli", "check", "-r", stap_release(), *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture()
def scripts(tmp_path: Path) -> Path:
    (tmp_path / "good.stp").write_text("probe begin { print(1) }\n")
    (tmp_path / "bad.stp").write_text("probe begin { print(nosuch(1)) }\n")
    (tmp_path / "parse.stp").write_text("probe begin { print(1 }\n")
    (tmp_path / "args.stp").write_text('probe begin { printf("%s\\n", @1) }\n')
    (tmp_path / "warn.stp").write_text("probe begin { x = 1; print(2) }\n")
    return tmp_path


def test_accepted_script_exits_zero_silently(scripts: Path) -> None:
    proc = tapkit_check("good.stp", cwd=scripts)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_semantic_error_printed_like_stap(scripts: Path) -> None:
    proc = tapkit_check("bad.stp", cwd=scripts)
    assert proc.returncode == 1
    assert proc.stderr == (
        "semantic error: unresolved function nosuch (similar: uid, HZ, cpu, euid, ns_uid): "
        "identifier 'nosuch' at bad.stp:1:21\n"
        "        source: probe begin { print(nosuch(1)) }\n"
        "                                    ^\n"
        "\n"
        "Pass 2: analysis failed.\n")


def test_parse_error_stops_at_pass_1(scripts: Path) -> None:
    proc = tapkit_check("parse.stp", cwd=scripts)
    assert proc.returncode == 1
    assert proc.stderr.startswith("parse error: expected one of ")
    assert proc.stderr.endswith("Pass 1: parse failed.\n")


def test_script_arguments(scripts: Path) -> None:
    missing = tapkit_check("args.stp", cwd=scripts)
    assert missing.returncode == 1 and "command line argument out of range [1-0]" in missing.stderr
    assert tapkit_check("args.stp", "--arg", "hello", cwd=scripts).returncode == 0


def test_warnings_and_w(scripts: Path) -> None:
    proc = tapkit_check("warn.stp", cwd=scripts)
    assert proc.returncode == 0
    assert proc.stderr.startswith("WARNING: Eliding assignment to 'x': operator '=' at warn.stp:1:17\n")
    assert tapkit_check("-w", "warn.stp", cwd=scripts).stderr == ""


def test_each_file_is_its_own_script_and_json(scripts: Path) -> None:
    proc = tapkit_check("--json", "good.stp", "bad.stp", cwd=scripts)
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert [(f["file"], f["ok"]) for f in out] == [("good.stp", True), ("bad.stp", False)]
    [diag] = out[1]["diagnostics"]
    assert diag["code"] == "sem.unresolved-function" and diag["kind"] == "semantic"
    assert (diag["span"]["line"], diag["span"]["column"]) == (1, 21)


def test_usage_errors_exit_two(scripts: Path) -> None:
    assert tapkit_check("nosuch.stp", cwd=scripts).returncode == 2
    assert tapkit_check("-I", "nosuchdir", "good.stp", cwd=scripts).returncode == 2
    assert tapkit_check("--debuginfo", "nosuch.ko", "good.stp", cwd=scripts).returncode == 2
