"""`tapkit run`/`tapkit check` on the cases issue 8 left open: process .return probes (stap's verdict for
the release in check, the live engine's in run), @entry at the entry, process(PID), @cast's module
forms, libraries by their bare name, and pn() of a probe with several points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.tooling import stap_offline, stap_release

TAPKIT = [sys.executable, "-m", "tapkit.cli"]


def tapkit(command: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TAPKIT, command, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.stp"
    path.write_text(text)
    return path


def program_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if not line.startswith(("ready ", "gaps done"))]


def test_return_probes_refused_by_check_as_stap_does_and_placed_by_run(gaps: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'probe process("{gaps}").function("twice").return {{ printf("%d\\n", $return) }}\n')
    release = stap_release()
    stap = stap_offline("-p2", str(s))
    check = tapkit("check", "-r", release, str(s))
    # stap reads uretprobes off the release's System.map, which Debian's headers package lacks
    assert stap.returncode == 1 and "process return probes not available [man error::inode-uprobes]" in stap.stderr
    assert check.returncode == 1, check.stderr
    assert "process return probes not available [man error::inode-uprobes]" in check.stderr
    run = tapkit("run", "-c", f"{gaps} 4", str(s))
    assert run.returncode == 0, run.stderr
    assert program_lines(run.stdout) == ["0", "2", "4", "6"]
