"""Helpers every test package uses to reach real tools: stap, pahole, gcc, the openafs.ko fixture.

In CI (CI=true) a missing tool fails the test; on a developer's machine it skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(what: str) -> None:
    """Fail in CI, skip elsewhere: a missing tool must never pass silently in CI."""
    if IN_CI:
        pytest.fail(f"{what} is missing, and CI must run this test")
    pytest.skip(f"{what} is missing")


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"tool {name!r}")
    assert path is not None
    return path


def stap_release() -> str:
    """The Debian kernel release whose headers stap can use here (`-r RELEASE`)."""
    from tapkit.target import newest_installed_release

    release = newest_installed_release()
    if release is None:
        missing("kernel headers under /lib/modules (apt-get install linux-headers-amd64)")
    assert release is not None
    return release


def stap_offline(*args: str, module: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run SystemTap 4.8 against the installed Debian release (scripts/stap-offline)."""
    require_tool("stap")
    cmd = [str(SCRIPTS / "stap-offline")]
    if module is not None:
        cmd += ["--module", str(module)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)


def fixture_cache() -> Path:
    from tapkit.cache import cache_dir

    return cache_dir("fixtures")


def build_openafs_ko() -> Path:
    """Build (once; cached by the script's stamp) the real openafs.ko with DWARF."""
    out = fixture_cache() / "openafs"
    proc = subprocess.run([str(SCRIPTS / "build-openafs-ko.sh"), str(out)],
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        pytest.fail(f"building openafs.ko failed:\n{proc.stderr[-3000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def compile_c(source: Path | Sequence[Path], out: Path, *flags: str, after: Sequence[str] = ()) -> Path:
    """`gcc -g FLAGS -o OUT SOURCES AFTER` for small C fixtures, cached: built again when a source is newer
    than out or the command differs (the DWARF names the sources by absolute path, so a build from another
    checkout sharing the cache is another binary)."""
    gcc = require_tool("gcc")
    sources = [source] if isinstance(source, Path) else list(source)
    cmd = [gcc, "-g", *flags, "-o", str(out), *(str(s.resolve()) for s in sources), *after]
    stamp = out.with_name(out.name + ".cmd")
    built = out.exists() and stamp.exists() and stamp.read_text() == "\0".join(cmd)
    if not built or out.stat().st_mtime < max(s.stat().st_mtime for s in sources):
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(cmd, check=True)
        stamp.write_text("\0".join(cmd))
    return out
