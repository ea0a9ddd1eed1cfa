"""A real editor as the client: Neovim (Debian's 0.7.2) headless, its built-in LSP client started
on `tapkit lsp`, driven by tests/lsp/editors/nvim_client.lua."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lsp.conftest import RELEASE, make_workspace
from tests.tooling import require_tool

CLIENT = Path(__file__).parent / "editors" / "nvim_client.lua"
SCRIPT = """\
global count
probe syscall.open {
  count++
  name = user_str
}
probe begin {
  y =
}
"""


def test_neovim_shows_diagnostics_symbols_and_completions(tmp_path: Path) -> None:
    nvim = require_tool("nvim")
    root = make_workspace(tmp_path)
    script = root / "watch.stp"
    script.write_text(SCRIPT)
    out = tmp_path / "out.json"
    env = {**os.environ, "TAPKIT_CMD": "\t".join([sys.executable, "-m", "tapkit.cli", "lsp"]),
           "TAPKIT_ROOT": str(root), "TAPKIT_SCRIPT": str(script), "TAPKIT_OUT": str(out),
           "TAPKIT_SETTINGS": json.dumps({"release": RELEASE, "tapsetDirs": ["tapsets"]}),
           "TAPKIT_COMPLETE": json.dumps([[3, 17], [1, 14], [5, 0]])}
    proc = subprocess.run([nvim, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {CLIENT}"],
                          env=env, capture_output=True, text=True, timeout=180)
    assert out.exists(), f"nvim wrote nothing: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    got = json.loads(out.read_text())
    assert got["errors"] == [] and got["client"] and got["got_diagnostics"], got
    [diag] = got["diagnostics"]
    assert (diag["lnum"], diag["col"]) == (7, 0) and "expected literal string or number" in diag["message"]
    assert [(s["name"], s["line"]) for s in got["symbols"]] == [("count", 0), ("syscall.open", 1)]
    assert got["symbols"][1]["children"] == ["name"]
    after_user_str, syscall_components, top_level = got["completions"]
    assert "user_string" in after_user_str and "user_string_n" in after_user_str
    assert {"open", "close", "read"} <= set(syscall_components)
    assert {"probe", "function", "global"} <= set(top_level)
    assert got["stopped"]


MEMBERS = """\
probe module("openafs").function("afs_PutDCache") {
  x = $adc->
}
probe begin {
  w = @cast(0, "vcache", "kernel:openafs")->f->fid->
}
"""


def members_env(tmp_path: Path, openafs_ko: Path) -> tuple[dict[str, str], Path]:
    """The editor client's environment for MEMBERS (completion after `->` on both lines), and its output file."""
    root = make_workspace(tmp_path)
    script = root / "members.stp"
    script.write_text(MEMBERS)
    out = tmp_path / "out.json"
    lines = MEMBERS.splitlines()
    env = {**os.environ, "TAPKIT_CMD": "\t".join([sys.executable, "-m", "tapkit.cli", "lsp"]),
           "TAPKIT_ROOT": str(root), "TAPKIT_SCRIPT": str(script), "TAPKIT_OUT": str(out),
           "TAPKIT_SETTINGS": json.dumps({"release": RELEASE, "tapsetDirs": ["tapsets"],
                                          "debuginfo": [str(openafs_ko)]}),
           "TAPKIT_COMPLETE": json.dumps([[1, len(lines[1])], [4, len(lines[4])]])}
    return env, out


@pytest.mark.slow
def test_neovim_completes_members_after_arrow(tmp_path: Path, openafs_ko: Path) -> None:
    nvim = require_tool("nvim")
    env, out = members_env(tmp_path, openafs_ko)
    proc = subprocess.run([nvim, "--headless", "--clean", "-u", "NONE", "-c", f"luafile {CLIENT}"],
                          env=env, capture_output=True, text=True, timeout=180)
    assert out.exists(), f"nvim wrote nothing: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    got = json.loads(out.read_text())
    assert got["errors"] == [] and got["got_diagnostics"], got
    adc_members, fid_members = got["completions"]
    assert {"lruq", "f", "refCount", "validPos", "index"} <= set(adc_members)  # struct dcache
    assert sorted(fid_members) == ["Cell", "Fid"]  # struct VenusFid
    assert got["stopped"]
