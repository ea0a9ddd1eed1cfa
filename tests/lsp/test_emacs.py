"""A second real editor: Emacs 28 (Debian's emacs-nox) with eglot (Debian's elpa-eglot 1.9), batch mode,
driven by tests/lsp/editors/eglot_client.el."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lsp.conftest import RELEASE, make_workspace
from tests.lsp.test_neovim import SCRIPT, members_env
from tests.tooling import missing, require_tool

CLIENT = Path(__file__).parent / "editors" / "eglot_client.el"


def test_emacs_eglot_shows_diagnostics_symbols_and_completions(tmp_path: Path) -> None:
    emacs = require_tool("emacs")
    if not any(Path("/usr/share/emacs/site-lisp/elpa").glob("eglot-*")):
        missing("eglot (apt-get install elpa-eglot)")
    root = make_workspace(tmp_path)
    script = root / "watch.stp"
    script.write_text(SCRIPT)
    out = tmp_path / "out.json"
    env = {**os.environ, "TAPKIT_CMD": "\t".join([sys.executable, "-m", "tapkit.cli", "lsp"]),
           "TAPKIT_ROOT": str(root), "TAPKIT_SCRIPT": str(script), "TAPKIT_OUT": str(out),
           "TAPKIT_SETTINGS": json.dumps({"release": RELEASE, "tapsetDirs": ["tapsets"]}),
           "TAPKIT_COMPLETE": json.dumps([[3, 17], [1, 14]])}
    # --batch without -Q: Debian's site-start activates the elpa-* packages (eglot among them)
    proc = subprocess.run([emacs, "--batch", "--no-init-file", "-l", str(CLIENT)], env=env, capture_output=True,
                          text=True, timeout=180)
    assert out.exists(), f"emacs wrote nothing: {proc.stdout[-2000:]} {proc.stderr[-3000:]}"
    got = json.loads(out.read_text())
    assert got["errors"] == [] and got["managed"], (got, proc.stderr[-3000:])
    [diag] = got["diagnostics"]
    assert diag["line"] == 8 and "expected literal string or number" in diag["message"]
    assert got["symbols"] == ["count", "syscall.open"]
    after_user_str, syscall_components = got["completions"]
    assert "user_string" in after_user_str and "user_string_n" in after_user_str
    assert {"open", "close", "read"} <= set(syscall_components)
    assert got["shutdown"]


@pytest.mark.slow
def test_emacs_eglot_completes_members_after_arrow(tmp_path: Path, openafs_ko: Path) -> None:
    emacs = require_tool("emacs")
    if not any(Path("/usr/share/emacs/site-lisp/elpa").glob("eglot-*")):
        missing("eglot (apt-get install elpa-eglot)")
    env, out = members_env(tmp_path, openafs_ko)
    proc = subprocess.run([emacs, "--batch", "--no-init-file", "-l", str(CLIENT)], env=env, capture_output=True,
                          text=True, timeout=180)
    assert out.exists(), f"emacs wrote nothing: {proc.stdout[-2000:]} {proc.stderr[-3000:]}"
    got = json.loads(out.read_text())
    assert got["errors"] == [] and got["managed"], (got, proc.stderr[-3000:])
    adc_members, fid_members = got["completions"]
    assert {"lruq", "f", "refCount", "validPos", "index"} <= set(adc_members)  # struct dcache
    assert sorted(fid_members) == ["Cell", "Fid"]  # struct VenusFid
